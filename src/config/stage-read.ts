import { asStageName, type StageName } from '../fingerprint/ids.js';
import { isPlainObject } from '../util/json.js';
import type { DocPath } from './paths.js';

/**
 * A stage as written, read defensively: the schema has already reported malformed parts, so here a
 * malformed part is simply absent (and the passes that need it skip the stage) rather than reported twice.
 */
export interface RawStage {
  readonly name: StageName;
  /** Position in the file, for stable ordering and "did you mean" candidates. */
  readonly index: number;
  readonly path: DocPath;
  readonly kind: string | undefined;
  /** The `with` block; `{}` when absent, undefined when it is not a mapping. */
  readonly with: Record<string, unknown> | undefined;
  /** Well-formed input references in written order. */
  readonly inputs: readonly { readonly name: string; readonly stage: string }[];
  /** Present when the stage has a `matrix` key (whatever its shape). */
  readonly matrix: unknown;
  readonly hasMatrix: boolean;
  readonly foreach: string | undefined;
  readonly description: string | undefined;
}

export function readStages(stages: unknown): RawStage[] {
  if (!isPlainObject(stages)) return [];
  return Object.entries(stages).map(([name, spec], index) => {
    const s = isPlainObject(spec) ? spec : {};
    const inputs = isPlainObject(s['inputs'])
      ? Object.entries(s['inputs']).flatMap(([input, stage]) => (typeof stage === 'string' ? [{ name: input, stage }] : []))
      : [];
    const w = s['with'];
    return {
      name: asStageName(name),
      index,
      path: ['stages', name],
      kind: typeof s['kind'] === 'string' ? s['kind'] : undefined,
      with: w === undefined || w === null ? {} : isPlainObject(w) ? w : undefined,
      inputs,
      matrix: s['matrix'],
      hasMatrix: 'matrix' in s,
      foreach: typeof s['foreach'] === 'string' ? s['foreach'] : undefined,
      description: typeof s['description'] === 'string' ? s['description'] : undefined,
    };
  });
}
