import { formatDuration } from './format.js';
import { formatFailure } from './plain-reporter.js';
import type { LogEntry } from './run-state.js';
import { unreachable } from '../util/unreachable.js';

/** A log entry as the plain reporter words it: a tag (`done`, `FAILED`, ...) and the rest of the line. */
export function logEntryText(entry: LogEntry, verbose: boolean): { readonly tag: string; readonly rest: string } {
  switch (entry.kind) {
    case 'done':
      return {
        tag: 'done',
        rest: `${entry.node}  ${formatDuration(entry.durationMs)}${entry.summary ? `  ${entry.summary}` : ''}${entry.unchanged ? '  (output unchanged: downstream stays cached)' : ''}`,
      };
    case 'cached':
      return { tag: 'cached', rest: `${entry.node}${entry.summary ? `  ${entry.summary}` : ''}` };
    case 'failed':
      return { tag: 'FAILED', rest: `${entry.node}: ${formatFailure(entry.failure, verbose)}` };
    case 'skipped': {
      const c = entry.cause;
      const why = c.reason === 'upstream-failed' ? `upstream ${c.upstream} failed` : c.reason === 'aborted' ? 'aborted' : 'not started after a failure';
      return { tag: 'skip', rest: `${entry.node}  (${why})` };
    }
    case 'waiting':
      return { tag: 'wait', rest: `${entry.node}  (another run is computing it: ${entry.owner})` };
    case 'log':
      return { tag: entry.level === 'warn' ? 'warn' : 'log', rest: `${entry.node}: ${entry.line}` };
    case 'highlights':
      return { tag: '', rest: `\n${entry.node}:\n${entry.lines.map((l) => `  ${l}`).join('\n')}` };
    default:
      return unreachable(entry, 'log entry');
  }
}

/** The tag padded as the plain reporter pads it (8 columns). */
export function logLine(entry: LogEntry, verbose: boolean): string {
  const { tag, rest } = logEntryText(entry, verbose);
  return `${tag.padEnd(7)} ${rest}`;
}
