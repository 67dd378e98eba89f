import type { Diagnostic, SourceRange } from './diagnostic.js';

/**
 * Text form of a diagnostic, stable enough for golden tests: no colours, no stack traces.
 *
 *   pipelines/x.yaml:7:5: error: unknown key "matirx" in stage "train"
 *      7 |     matirx: { seed: [0, 1] }
 *        |     ^^^^^^
 *     expected: one of kind, with, inputs, matrix, foreach, description
 *     found: matirx
 *     remedy: rename it to "matrix"
 *
 * `source` is the text of the file the diagnostic points into; without it only the header and the
 * detail lines are printed. Related locations become `note:` lines with their own source line.
 */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  return formatWithLines(d, source === undefined ? undefined : splitLines(source));
}

/** Several diagnostics of one file, separated by a blank line (the source is split once). */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], source?: string): string {
  const lines = source === undefined ? undefined : splitLines(source);
  return diagnostics.map((d) => formatWithLines(d, lines)).join('\n\n');
}

function formatWithLines(d: Diagnostic, lines: readonly string[] | undefined): string {
  const out: string[] = [];
  const shown = [d.location, ...(d.related ?? []).map((r) => r.location)].filter(
    (l): l is SourceRange => l !== undefined && l.file === d.location?.file,
  );
  const width = Math.max(4, ...shown.map((l) => String(l.line).length + 1));
  out.push(`${d.location ? `${where(d.location)}: ` : ''}error: ${d.message}`);
  if (d.location && lines) out.push(...snippet(d.location, lines, width));
  if (d.expected !== undefined) out.push(`  expected: ${d.expected}`);
  if (d.found !== undefined) out.push(`  found: ${d.found}`);
  if (d.remedy !== undefined) out.push(`  remedy: ${d.remedy}`);
  for (const r of d.related ?? []) {
    out.push(`  note: ${where(r.location)}: ${r.message}`);
    if (lines && r.location.file === d.location?.file) out.push(...snippet(r.location, lines, width));
  }
  return out.join('\n');
}

const where = (l: SourceRange): string => `${l.file}:${l.line}:${l.column}`;

function splitLines(source: string): string[] {
  return source.split(/\r?\n/);
}

/** The source line and a caret marker under the range (to the end of the line when it spans lines). */
function snippet(l: SourceRange, lines: readonly string[], width: number): string[] {
  const text = lines[l.line - 1];
  if (text === undefined) return [];
  const start = l.column - 1;
  let end: number; // exclusive, 0-based
  if (l.endLine !== undefined && l.endLine > l.line) end = text.trimEnd().length;
  else if (l.endColumn !== undefined && (l.endLine === undefined || l.endLine === l.line)) end = l.endColumn;
  else end = start + 1;
  end = Math.max(end, start + 1);
  // Keep tabs in the padding so the marker lines up however the terminal renders them.
  const pad = text.slice(0, start).replace(/[^\t]/g, ' ') + ' '.repeat(Math.max(0, start - text.length));
  const gutter = ' '.repeat(width);
  return [
    `${String(l.line).padStart(width)} | ${text}`.trimEnd(),
    `${gutter} | ${pad}${'^'.repeat(end - start)}`,
  ];
}
