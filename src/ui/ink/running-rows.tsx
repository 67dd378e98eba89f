import { Text } from 'ink';
import { formatDuration } from '../format.js';
import { fractionBar, sparkline } from '../graphics.js';
import type { RunningNode } from '../run-state.js';
import { trailPoints } from '../trail.js';

export interface RunningRowsProps {
  readonly running: readonly RunningNode[];
  /** How many to show; a "+N more running" line follows when fewer than all. */
  readonly shown: number;
  readonly width: number;
  readonly now: number;
}

const BAR = 12;
const SPARK = 12;

/** The running nodes: progress bar, percentage, elapsed time, the stage's message, its metric and curve. */
export function RunningRows({ running, shown, width, now }: RunningRowsProps) {
  const visible = running.slice(0, shown);
  const idWidth = Math.min(Math.max(12, Math.floor(width * 0.3)), Math.max(4, ...visible.map((r) => r.node.length)));
  const hidden = running.length - visible.length;
  return (
    <>
      {visible.map((r) => (
        <Text key={r.node} wrap="truncate-end">
          <Text color="yellow"> ▸ </Text>
          {fit(r.node, idWidth)}{' '}
          {r.fraction === undefined ? <Text dimColor>{'·'.repeat(BAR)}</Text> : <Text color="yellow">{fractionBar(r.fraction, BAR)}</Text>}{' '}
          {(r.fraction === undefined ? '' : `${Math.floor(r.fraction * 100)}%`).padStart(4)}
          {'  '}
          {formatDuration(Math.max(0, now - r.startedAt)).padStart(6)}
          {r.message ? `  ${r.message}` : ''}
          {r.metric ? (
            <>
              {'  '}
              {r.metric.name} {formatMetric(r.metric.value)}{' '}
              <Text color="cyan">{r.metric.trail ? sparkline(trailPoints(r.metric.trail), SPARK) : ''}</Text>
            </>
          ) : null}
          {r.worker ? <Text dimColor>{`  @${r.worker}`}</Text> : null}
        </Text>
      ))}
      {hidden > 0 ? <Text dimColor> +{hidden} more running</Text> : null}
    </>
  );
}

function fit(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}…`;
}

export function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(4) : v.toExponential(2);
}
