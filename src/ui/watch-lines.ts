import { formatDuration, plural } from './format.js';
import { logLine } from './log-text.js';
import type { RunState } from './run-state.js';

/**
 * `basin status --watch` without a terminal: the lines that tell what changed between two views
 * (a run followed, nodes started, nodes finished, the end), in the plain reporter's wording.
 */
export function watchLines(prev: RunState | undefined, next: RunState): string[] {
  const out: string[] = [];
  const s = next.start;
  if (!prev && s) {
    const cached = next.stages.reduce((n, r) => n + r.cached, 0);
    out.push(`watching ${s.pipeline} (${s.file}), cache ${s.cache}: ${plural(s.total, 'node')}, ${cached} cached, ${s.total - cached} to run`);
  }
  const was = prev?.watch?.following;
  const now = next.watch?.following;
  if (now && now.owner !== was?.owner) out.push(`following run ${now.owner} (jobs ${now.jobs})`);
  if (!prev && !now && !next.end) out.push('no run is computing this pipeline now; waiting for one (Ctrl-C to stop)');
  for (const entry of next.log.slice(prev?.log.length ?? 0)) out.push(logLine(entry, next.verbose));
  const before = new Set(prev?.running.map((r) => r.node) ?? []);
  for (const r of next.running) if (!before.has(r.node)) out.push(`run     ${r.node}`);
  if (next.end && !prev?.end) {
    const e = next.end;
    const parts = [`${e.ran} ran`, `${e.cached} cached`, `${e.failed} failed`, ...(e.skipped ? [`${e.skipped} not run`] : [])];
    out.push(`${now || was ? 'the run ended' : 'up to date'}: ${parts.join(', ')}${now || was ? ` in ${formatDuration(e.wallMs)}` : ''}`);
  }
  return out;
}
