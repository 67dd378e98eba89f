import { Text } from 'ink';
import { estimateRemaining } from '../eta.js';
import { formatDuration } from '../format.js';
import { planLayout } from '../layout.js';
import type { RunEnd, RunState } from '../run-state.js';
import { Header } from './header.js';
import { RunningRows } from './running-rows.js';
import { StageRows } from './stage-rows.js';

export interface LiveViewProps {
  readonly state: RunState;
  readonly now: number;
  readonly width: number;
  /** Terminal rows: the view never grows past height - 1 lines (see layout.ts). */
  readonly height: number;
}

const MAX_FAILURES = 3;

/** The part Ink redraws: header, stage rows, running nodes, and a footer (or the final summary). */
export function LiveView({ state, now, width, height }: LiveViewProps) {
  const failures = state.end ? Math.min(state.failures.length, MAX_FAILURES) + (state.failures.length > MAX_FAILURES ? 1 : 0) : 0;
  const layout = planLayout(height, state.stages.length, state.running.length, failures);
  return (
    <>
      {layout.header ? <Header state={state} /> : null}
      <StageRows stages={state.stages} shown={layout.stages} width={width} />
      <RunningRows running={state.running} shown={layout.running} width={width} now={now} />
      {state.end ? <Summary end={state.end} state={state} /> : <Footer state={state} now={now} />}
    </>
  );
}

function Footer({ state, now }: { readonly state: RunState; readonly now: number }) {
  const quit = state.watch ? 'q or Ctrl-C to stop watching' : 'q or Ctrl-C to stop';
  if (state.interrupted) {
    return (
      <Text wrap="truncate-end" color="yellow">
        stopping: running stages have the abort signal; finished work is kept (Ctrl-C again quits at once)
      </Text>
    );
  }
  const since = state.watch ? state.watch.following?.startedAt : state.startedAt;
  if (since === undefined) return <Text dimColor>{quit}</Text>;
  const jobs = state.watch ? (state.watch.following?.jobs ?? 1) : (state.start?.jobs ?? 1);
  const eta = estimateRemaining(state.stages, state.running, jobs, now);
  const etaText = eta === undefined ? 'ETA –' : `ETA ${eta.partial ? '>' : '~'}${formatDuration(eta.ms)}`;
  return (
    <Text wrap="truncate-end" dimColor>
      elapsed {formatDuration(Math.max(0, now - since))} · {etaText} · {quit}
    </Text>
  );
}

function Summary({ end, state }: { readonly end: RunEnd; readonly state: RunState }) {
  const verdict = end.status === 'ok' ? 'done' : end.status === 'aborted' ? 'aborted' : 'failed';
  const color = end.status === 'ok' ? 'green' : end.status === 'aborted' ? 'yellow' : 'red';
  const parts = [`${end.ran} ran`, `${end.cached} cached`, `${end.failed} failed`, ...(end.skipped ? [`${end.skipped} skipped`] : [])];
  return (
    <>
      <Text wrap="truncate-end">
        <Text color={color} bold>
          {verdict}:
        </Text>{' '}
        {parts.join(', ')} in {formatDuration(end.wallMs)}
        {end.savedMs > 0 ? `; the cache saved ${formatDuration(end.savedMs)}` : ''}
      </Text>
      {state.failures.slice(0, MAX_FAILURES).map((f) => (
        <Text key={f.node} wrap="truncate-end">
          {'  '}
          <Text color="red">✗ {f.node}</Text>: {f.message.split('\n')[0]}
        </Text>
      ))}
      {state.failures.length > MAX_FAILURES ? <Text dimColor> +{state.failures.length - MAX_FAILURES} more failed (listed above)</Text> : null}
    </>
  );
}
