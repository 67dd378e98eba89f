import { formatReason } from '../run/explain.js';
import type { EventSink, Failure, RunEvent, SkipCause } from '../run/events.js';
import { unreachable } from '../util/unreachable.js';
import { formatDuration, plural } from './format.js';

export interface PlainOptions {
  readonly write: (text: string) => void;
  /** Also list cache hits, every progress report and the stages' log lines. */
  readonly verbose: boolean;
  /** Minimum interval between progress lines of one node (quiet mode). */
  readonly progressEveryMs?: number;
}

/**
 * The line reporter: one line per thing that happened, nothing redrawn. The default when stdout is
 * not a terminal (CI, pipes, log files). Cache hits are counted, not listed, unless verbose.
 */
export function plainReporter(opts: PlainOptions): EventSink {
  const every = opts.progressEveryMs ?? 10_000;
  const lastProgress = new Map<string, number>();
  // Highlights of the nodes that ran or were reused, in the order they settled: printed at run end.
  const highlights = new Map<string, readonly string[]>();
  const out = (line: string) => opts.write(`${line}\n`);
  return (e: RunEvent) => {
    switch (e.type) {
      case 'run-start': {
        const stages = e.stages.map((s) => (s.nodes > 1 ? `${s.name}×${s.nodes}` : s.name)).join(', ');
        const runtime = e.runtime ? `, TF.js ${e.runtime.tfjs} on ${e.runtime.backend}` : '';
        out(`basin: ${e.pipeline} (${e.file}): ${plural(e.total, 'node')} [${stages}], jobs ${e.jobs}${e.executor ? ` (${e.executor})` : ''}${runtime}, cache ${e.cache}`);
        return;
      }
      case 'node-cached':
        if (e.highlights?.length) highlights.set(e.node, e.highlights);
        if (opts.verbose) out(`cached  ${e.node}${e.summary ? `  ${e.summary}` : ''}`);
        return;
      case 'node-start':
        lastProgress.set(e.node, Date.now());
        out(`run     ${e.node}  (${e.reasons.map(formatReason).join('; ')})`);
        return;
      case 'node-placed':
        out(`on      ${e.node}  (worker ${e.worker})`);
        return;
      case 'node-waiting':
        out(`wait    ${e.node}  (another run is computing it: ${e.owner})`);
        return;
      case 'node-progress': {
        const now = Date.now();
        const last = lastProgress.get(e.node) ?? 0;
        if (!opts.verbose && now - last < every) return;
        lastProgress.set(e.node, now);
        const pct = e.fraction === undefined ? '' : ` ${Math.round(e.fraction * 100)}%`;
        const metrics = e.metrics ? ` ${Object.entries(e.metrics).map(([k, v]) => `${k}=${formatMetric(v)}`).join(' ')}` : '';
        out(`...     ${e.node}${pct}${e.message ? ` ${e.message}` : ''}${metrics}`);
        return;
      }
      case 'node-log':
        if (opts.verbose || e.level === 'warn') out(`${e.level === 'warn' ? 'warn' : 'log '}    ${e.node}: ${e.line}`);
        return;
      case 'node-done':
        lastProgress.delete(e.node);
        if (e.highlights?.length) highlights.set(e.node, e.highlights);
        out(`done    ${e.node}  ${formatDuration(e.durationMs)}${e.summary ? `  ${e.summary}` : ''}${e.unchanged ? '  (output unchanged: downstream stays cached)' : ''}`);
        return;
      case 'node-failed':
        lastProgress.delete(e.node);
        out(`FAILED  ${e.node}: ${formatFailure(e.failure, opts.verbose)}`);
        return;
      case 'node-skipped':
        if (opts.verbose || e.cause.reason === 'upstream-failed') out(`skip    ${e.node}  (${formatSkip(e.cause)})`);
        return;
      case 'run-end': {
        const parts = [`${e.ran} ran`, `${e.cached} cached`];
        if (e.failed) parts.push(`${e.failed} failed`);
        if (e.skipped) parts.push(`${e.skipped} skipped`);
        const saved = e.savedMs > 0 ? ` (the cache saved ${formatDuration(e.savedMs)})` : '';
        const verdict = e.status === 'ok' ? 'done' : e.status === 'aborted' ? 'aborted' : 'failed';
        out(`${verdict}: ${parts.join(', ')} in ${formatDuration(e.wallMs)}${saved}`);
        for (const [node, lines] of highlights) out(`\n${node}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
        return;
      }
      default:
        unreachable(e, 'event');
    }
  };
}

/** The stack of an internal error is shown only when asked for (--verbose): users need the message. */
export function formatFailure(f: Failure, withStack = false): string {
  switch (f.reason) {
    case 'stage':
    case 'missing-file':
    case 'corrupt':
    case 'executor':
      return f.message;
    case 'internal':
      return `internal error (a bug in basin or in the stage): ${f.message}${withStack && f.stack ? `\n${indent(f.stack)}` : ''}`;
    default:
      return unreachable(f, 'failure');
  }
}

function formatSkip(c: SkipCause): string {
  switch (c.reason) {
    case 'upstream-failed':
      return `upstream ${c.upstream} failed`;
    case 'aborted':
      return 'aborted';
    case 'fail-fast':
      return 'not started after a failure; --keep-going runs independent work';
    default:
      return unreachable(c, 'skip cause');
  }
}

function formatMetric(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(4) : v.toExponential(3);
}

function indent(s: string): string {
  return s.split('\n').map((l) => `    ${l}`).join('\n');
}
