import { Text } from 'ink';
import { GLYPH, segmentedBar, type Segment } from '../graphics.js';
import type { StageRow } from '../run-state.js';

export const SEGMENT_COLOR: Record<Segment, string | undefined> = {
  done: 'green',
  cached: 'blue',
  running: 'yellow',
  failed: 'red',
  skipped: 'gray',
  pending: 'gray',
};

export interface StageRowsProps {
  readonly stages: readonly StageRow[];
  /** How many to show; a "+N more stages" line follows when fewer than all. */
  readonly shown: number;
  readonly width: number;
}

/** One row per stage: a bar over its nodes and the counts done, cached, running, failed. */
export function StageRows({ stages, shown, width }: StageRowsProps) {
  const nameWidth = Math.min(24, Math.max(5, ...stages.map((s) => s.name.length)));
  const countWidth = String(Math.max(1, ...stages.map((s) => s.total))).length;
  const barWidth = Math.max(8, Math.min(30, width - nameWidth - 2 * countWidth - 52));
  const hidden = stages.length - shown;
  return (
    <>
      {stages.slice(0, shown).map((s) => {
        const bar = segmentedBar({ done: s.done, cached: s.cached, running: s.running, failed: s.failed, skipped: s.skipped }, s.total, barWidth);
        const settled = s.done + s.cached + s.failed + s.skipped;
        return (
          <Text key={s.name} wrap="truncate-end">
            {' '}
            {s.name.padEnd(nameWidth)}{' '}
            {bar.map((b) => (
              <Text key={b.segment} color={SEGMENT_COLOR[b.segment]}>
                {GLYPH[b.segment].repeat(b.cells)}
              </Text>
            ))}{' '}
            {String(settled).padStart(countWidth)}/{String(s.total).padEnd(countWidth)}
            {'  '}
            <Count n={s.done} what="done" color="green" />
            {'  '}
            <Count n={s.cached} what="cached" color="blue" />
            {'  '}
            <Count n={s.running} what="running" color="yellow" />
            {'  '}
            <Count n={s.failed} what="failed" color="red" />
            {s.skipped ? (
              <>
                {'  '}
                <Count n={s.skipped} what="skipped" color="gray" />
              </>
            ) : null}
          </Text>
        );
      })}
      {hidden > 0 ? <Text dimColor> +{hidden} more stages</Text> : null}
    </>
  );
}

function Count({ n, what, color }: { readonly n: number; readonly what: string; readonly color: string }) {
  return n === 0 ? (
    <Text dimColor>
      {n} {what}
    </Text>
  ) : (
    <Text color={color}>
      {n} {what}
    </Text>
  );
}
