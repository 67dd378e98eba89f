/**
 * What the config layer needs to know about stage kinds, and nothing more: their names (for
 * "did you mean") and the JSON Schema of their `with` block. The CLI builds it from src/stages.
 */
export interface KindCatalog {
  readonly kinds: readonly string[];
  /** Parsed JSON Schema (2020-12) of the kind's `with` block; its `$id` is stable. */
  schemaOf(kind: string): object | undefined;
}
