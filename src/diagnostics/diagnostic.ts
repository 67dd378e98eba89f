/**
 * A user error with a location and a remedy. Every problem in a pipeline file becomes one of these;
 * the printer (print.ts) turns it into `file:line:col`, the source line with a marker, and the
 * expected / found / remedy lines. Lines and columns are 1-based.
 */
export interface SourceRange {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Inclusive end; when absent the marker covers one character. */
  readonly endLine?: number;
  readonly endColumn?: number;
}

export interface Diagnostic {
  /** Stable machine-readable code, e.g. `yaml-syntax`, `unknown-key`, `cycle`. */
  readonly code: string;
  /** One line: what is wrong. */
  readonly message: string;
  readonly location?: SourceRange;
  readonly expected?: string;
  readonly found?: string;
  /** What the user should do about it. */
  readonly remedy?: string;
  /** Other places that explain the problem (the first definition of a duplicate, the rest of a cycle). */
  readonly related?: readonly { readonly message: string; readonly location: SourceRange }[];
}

/** Thrown only at the CLI boundary to carry diagnostics to exit code 2; never a stack trace. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('\n'));
    this.name = 'DiagnosticError';
  }
}
