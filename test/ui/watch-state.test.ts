import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { NodeState, RunProgress } from '../../src/store/types.js';
import { initialRunState } from '../../src/ui/run-state.js';
import { allSettled, classifyNode, watchEnd, watchState, type NodeStatus, type Observation, type WatchedPipeline } from '../../src/ui/watch-state.js';
import { watchLines } from '../../src/ui/watch-lines.js';
import { id, KEY, runStart } from './fixtures.js';

const T = Date.parse('2026-12-03T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const state = (at: number, status: 'ok' | 'failed', error?: string): NodeState => ({
  nodeId: id('n'),
  key: KEY,
  fingerprint: {} as NodeState['fingerprint'],
  status,
  at: iso(at),
  ...(error ? { error } : {}),
});

test('classifyNode: states written since the run started tell done, cached or failed; older ones defer to the plan', () => {
  assert.deepEqual(classifyNode(false, undefined, undefined, T), { status: 'pending' });
  assert.deepEqual(classifyNode(true, undefined, undefined, T), { status: 'cached' });
  assert.deepEqual(classifyNode(false, state(T - 5, 'ok'), { startedAt: iso(T - 9), durationMs: 4 }, T), { status: 'pending' });
  assert.deepEqual(classifyNode(false, state(T + 5, 'ok'), { startedAt: iso(T + 1), durationMs: 4, summary: 's' }, T), { status: 'done', durationMs: 4, summary: 's' });
  assert.deepEqual(classifyNode(false, state(T + 5, 'ok'), { startedAt: iso(T - 100), durationMs: 4 }, T), { status: 'cached' }, 'found in the cache by the run');
  assert.deepEqual(classifyNode(true, state(T + 5, 'failed', 'boom'), undefined, T), { status: 'failed', message: 'boom' });
  assert.deepEqual(classifyNode(false, state(T - 5, 'failed', 'old'), undefined, T), { status: 'pending' });
});

const pipeline: WatchedPipeline = {
  start: { ...runStart({ data: 1, train: 3 }), jobs: 0 },
  nodes: ['data', 'train[seed=0]', 'train[seed=1]', 'train[seed=2]'].map((n) => ({ node: id(n), stage: (n === 'data' ? 'data' : 'train') as never })),
};
const obs = (now: number, statuses: Record<string, NodeStatus['status']>, runs: RunProgress[] = []): Observation => ({
  now,
  runs,
  nodes: new Map(
    Object.entries(statuses).map(([n, s]) => [
      n as NodeId,
      s === 'done' ? { status: 'done', durationMs: 2000 } : s === 'failed' ? { status: 'failed', message: 'diverged' } : { status: s },
    ]),
  ),
});
const run = (running: string[]): RunProgress => ({
  format: 1,
  owner: 'host:42:abc',
  pipeline: 'sweep',
  file: 'basin.yaml',
  jobs: 2,
  startedAt: T,
  updatedAt: T,
  expiresAt: T + 30_000,
  running: running.map((n, i) => ({ node: id(n), stage: 'train' as never, startedAt: T + i, fraction: 0.5, message: 'epoch 2/4', metric: { name: 'loss', value: 0.5, trail: [2, 1, 0.5] } })),
});

test('watchState: stage rows and running nodes from the store; the log grows with nodes that settle', () => {
  const o1 = obs(T + 1000, { data: 'cached', 'train[seed=0]': 'pending', 'train[seed=1]': 'pending', 'train[seed=2]': 'pending' }, [run(['train[seed=0]', 'train[seed=1]'])]);
  const s1 = watchState(pipeline, { state: initialRunState() }, o1);
  assert.deepEqual(s1.stages.map((r) => [r.name, r.done, r.cached, r.running, r.failed]), [['data', 0, 1, 0, 0], ['train', 0, 0, 2, 0]]);
  assert.deepEqual(s1.running.map((r) => [r.node, r.fraction, r.metric?.value]), [['train[seed=0]', 0.5, 0.5], ['train[seed=1]', 0.5, 0.5]]);
  assert.deepEqual(s1.watch?.following, { owner: 'host:42:abc', jobs: 2, startedAt: T });
  assert.equal(s1.log.length, 0);
  assert.equal(allSettled(o1), false);

  const o2 = obs(T + 3000, { data: 'cached', 'train[seed=0]': 'done', 'train[seed=1]': 'failed', 'train[seed=2]': 'pending' }, [run(['train[seed=2]'])]);
  const s2 = watchState(pipeline, { state: s1, obs: o1 }, o2);
  assert.deepEqual(s2.stages.map((r) => [r.name, r.done, r.cached, r.running, r.failed, r.ranMs]), [['data', 0, 1, 0, 0, 0], ['train', 1, 0, 1, 1, 2000]]);
  assert.deepEqual(s2.log.map((e) => [e.kind, e.node]), [['done', 'train[seed=0]'], ['failed', 'train[seed=1]']]);
  assert.deepEqual(watchLines(s1, s2), ['done    train[seed=0]  2.00s', 'FAILED  train[seed=1]: diverged', 'run     train[seed=2]']);

  const o3 = obs(T + 5000, { data: 'cached', 'train[seed=0]': 'done', 'train[seed=1]': 'failed', 'train[seed=2]': 'done' });
  let s3 = watchState(pipeline, { state: s2, obs: o2 }, o3);
  assert.equal(allSettled(o3), true);
  s3 = { ...s3, end: watchEnd(s3, T + 5000) };
  assert.deepEqual(s3.end, { type: 'run-end', status: 'failed', ran: 2, cached: 1, failed: 1, skipped: 0, wallMs: 5000, savedMs: 0 });
  assert.deepEqual(watchLines(s2, s3), ['done    train[seed=2]  2.00s', 'the run ended: 2 ran, 1 cached, 1 failed in 5.00s']);
});

test('watchLines: the first view says what is watched and whether a run is computing', () => {
  const idle = watchState(pipeline, { state: initialRunState() }, obs(T, { data: 'cached' }));
  assert.deepEqual(watchLines(undefined, idle), [
    'watching sweep (basin.yaml), cache cache: 4 nodes, 1 cached, 3 to run',
    'no run is computing this pipeline now; waiting for one (Ctrl-C to stop)',
  ]);
  const busy = watchState(pipeline, { state: initialRunState() }, obs(T, { data: 'cached' }, [run(['train[seed=0]'])]));
  assert.deepEqual(watchLines(undefined, busy), [
    'watching sweep (basin.yaml), cache cache: 4 nodes, 1 cached, 3 to run',
    'following run host:42:abc (jobs 2)',
    'run     train[seed=0]',
  ]);
});
