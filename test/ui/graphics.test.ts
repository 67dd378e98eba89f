import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fractionBar, GLYPH, segmentedBar, sparkline } from '../../src/ui/graphics.js';
import { planLayout } from '../../src/ui/layout.js';
import { pushSample, TRAIL_MAX, trailPoints, type Trail } from '../../src/ui/trail.js';

const cells = (bar: ReturnType<typeof segmentedBar>) => Object.fromEntries(bar.map((b) => [b.segment, b.cells]));
const sum = (bar: ReturnType<typeof segmentedBar>) => bar.reduce((n, b) => n + b.cells, 0);

test('segmented bar: proportional, always exactly `width` cells, a single failure still visible', () => {
  assert.deepEqual(cells(segmentedBar({ done: 5, cached: 5 }, 20, 20)), { done: 5, cached: 5, pending: 10 });
  const one = segmentedBar({ done: 498, failed: 1 }, 500, 20);
  assert.equal(sum(one), 20);
  assert.equal(cells(one)['failed'], 1);
  assert.equal(cells(one)['pending'], 1);
  for (const [counts, total, width] of [[{ done: 1, cached: 1, running: 1, failed: 1, skipped: 1 }, 6, 4], [{ done: 3 }, 7, 10], [{}, 0, 8], [{ done: 2 }, 2, 1]] as const) {
    assert.equal(sum(segmentedBar(counts, total, width)), width, JSON.stringify([counts, total, width]));
  }
  assert.deepEqual(segmentedBar({}, 0, 5), [{ segment: 'pending', cells: 5 }]);
  assert.deepEqual(segmentedBar({ done: 1 }, 1, 0), []);
});

test('fraction bar and sparkline', () => {
  assert.equal(fractionBar(0.5, 10), `${GLYPH.done.repeat(5)}${GLYPH.pending.repeat(5)}`);
  assert.equal(fractionBar(2, 4), GLYPH.done.repeat(4));
  assert.equal(fractionBar(Number.NaN, 3), GLYPH.pending.repeat(3));
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([3, 3, 3], 5), '▁▁▁');
  assert.equal(sparkline([], 5), '');
  // A loss curve: log scale, so the slow tail still shows steps instead of a flat bottom row.
  const loss = Array.from({ length: 100 }, (_, i) => 1 / (i + 1));
  const line = sparkline(loss, 10);
  assert.equal(line.length, 10);
  assert.equal(line[0], '█');
  assert.equal(line.at(-1), '▁');
  assert.ok(new Set(line.slice(1)).size >= 4, line); // linear: █▂▁▁▁▁▁▁▁▁
});

test('trail: bounded, spans the whole curve, ends on the latest value', () => {
  let t: Trail | undefined;
  for (let i = 1; i <= 10_000; i++) t = pushSample(t, i);
  const points = trailPoints(t!);
  assert.ok(points.length <= TRAIL_MAX + 1);
  assert.ok(points.length >= TRAIL_MAX / 2);
  assert.equal(points[0], 1);
  assert.equal(points.at(-1), 10_000);
  // Evenly spaced: every kept value is `stride` reports after the previous one.
  const gaps = new Set(t!.values.slice(1).map((v, i) => v - (t!.values[i] as number)));
  assert.deepEqual([...gaps], [t!.stride]);
  assert.equal(pushSample(undefined, Number.NaN), undefined);
});

test('layout: never taller than the terminal minus one line; "+N more" when rows do not fit', () => {
  const lines = (l: ReturnType<typeof planLayout>, extra = 0) => (l.header ? 2 : 0) + l.stages + (l.moreStages ? 1 : 0) + l.running + (l.moreRunning ? 1 : 0) + 1 + extra;
  assert.deepEqual(planLayout(40, 3, 4), { header: true, stages: 3, moreStages: false, running: 4, moreRunning: false });
  assert.deepEqual(planLayout(24, 3, 300), { header: true, stages: 3, moreStages: false, running: 16, moreRunning: true });
  for (let height = 1; height <= 50; height++) {
    for (const [stages, running, extra] of [[3, 300, 0], [40, 40, 0], [1, 0, 0], [12, 5, 4], [0, 0, 0]] as const) {
      const l = planLayout(height, stages, running, extra);
      assert.ok(lines(l, extra) <= Math.max(height - 1, 1 + extra), `height ${height}, ${stages} stages, ${running} running: ${lines(l, extra)} lines`);
      assert.ok(l.stages <= stages && l.running <= running);
      if (height >= 12 && extra === 0) assert.ok(l.stages >= Math.min(stages, 3), `height ${height}: stages keep room`);
    }
  }
});
