import type { Diagnostic, SourceRange } from './diagnostic.js';

/**
 * Diagnostics in reading order (file, line, column, then message), without exact repeats. The loader
 * collects problems from independent passes that can meet the same fault twice; users should see it once.
 */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = JSON.stringify([d.code, d.message, d.location, d.expected, d.found, d.remedy]);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  return unique.sort(compareDiagnostics);
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return compareLocations(a.location, b.location) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

/** Diagnostics without a location come first: they concern the whole file. */
function compareLocations(a: SourceRange | undefined, b: SourceRange | undefined): number {
  if (a === undefined || b === undefined) return (a === undefined ? 0 : 1) - (b === undefined ? 0 : 1);
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}
