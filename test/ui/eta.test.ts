import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateRemaining } from '../../src/ui/eta.js';
import type { RunningNode, StageRow } from '../../src/ui/run-state.js';
import { asNodeId, asStageName } from '../../src/fingerprint/ids.js';

const row = (name: string, o: Partial<StageRow>): StageRow => ({ name: asStageName(name), total: 0, done: 0, cached: 0, running: 0, failed: 0, skipped: 0, ranMs: 0, ...o });
const run = (node: string, stage: string, startedAt: number, fraction?: number): RunningNode => ({
  node: asNodeId(node),
  stage: asStageName(stage),
  startedAt,
  ...(fraction === undefined ? {} : { fraction }),
});

test('pending nodes times the stage mean, divided by jobs', () => {
  // 2 done in 10 s each, 6 pending: 60 s of work on 2 jobs = 30 s.
  const eta = estimateRemaining([row('train', { total: 8, done: 2, ranMs: 20_000 })], [], 2, 0);
  assert.deepEqual(eta, { ms: 30_000, partial: false });
});

test('running nodes count by their own pace; one long node bounds the estimate from below', () => {
  // 25% done after 10 s: 30 s left for it; nothing else pending. 4 jobs cannot make one node faster.
  const eta = estimateRemaining([row('train', { total: 1, running: 1 })], [run('t', 'train', 0, 0.25)], 4, 10_000);
  assert.deepEqual(eta, { ms: 30_000, partial: false });
  // Without a fraction: the stage mean minus elapsed, never negative.
  const noFraction = estimateRemaining([row('train', { total: 3, done: 2, running: 1, ranMs: 20_000 })], [run('t', 'train', 0)], 1, 4_000);
  assert.deepEqual(noFraction, { ms: 6_000, partial: false });
  const late = estimateRemaining([row('train', { total: 3, done: 2, running: 1, ranMs: 20_000 })], [run('t', 'train', 0)], 1, 40_000);
  assert.deepEqual(late, { ms: 0, partial: false });
});

test('before any node of a stage finished, its running nodes stand in; an unmeasured stage makes it a lower bound', () => {
  // train: one node 50% after 5 s (10 s per node); 3 pending -> 5 + 30 = 35 s on 1 job.
  // hessian: 4 pending, nothing measured -> partial.
  const eta = estimateRemaining([row('train', { total: 4, running: 1 }), row('hessian', { total: 4 })], [run('t', 'train', 0, 0.5)], 1, 5_000);
  assert.deepEqual(eta, { ms: 35_000, partial: true });
  // Too early to trust (2%), nothing finished: no estimate at all.
  assert.equal(estimateRemaining([row('train', { total: 4, running: 1 })], [run('t', 'train', 0, 0.02)], 1, 100), undefined);
});

test('cached, failed and skipped nodes cost nothing', () => {
  const eta = estimateRemaining([row('train', { total: 10, done: 1, cached: 5, failed: 1, skipped: 2, ranMs: 4_000 })], [], 1, 0);
  assert.deepEqual(eta, { ms: 4_000, partial: false });
});
