import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../src/run/events.js';
import { logLine } from '../../src/ui/log-text.js';
import { plainReporter } from '../../src/ui/plain-reporter.js';
import { initialRunState, reduceRun } from '../../src/ui/run-state.js';
import { trailPoints } from '../../src/ui/trail.js';
import { ev, replay, runStart } from './fixtures.js';

const start = runStart({ data: 1, train: 4, hessian: 4 });

test('stage rows count done, cached, running, failed and skipped nodes per stage', () => {
  const s = replay([
    [0, start],
    [1, ev.cached('data')],
    [2, ev.start('train[seed=0]')],
    [3, ev.start('train[seed=1]')],
    [4, ev.start('train[seed=2]')],
    [1000, ev.done('train[seed=0]', 998, 'converged after 107 epochs')],
    [1500, ev.failed('train[seed=1]', 'diverged at epoch 3')],
    [1501, ev.skipped('hessian[seed=1]', 'train[seed=1]')],
  ]);
  const rows = Object.fromEntries(s.stages.map((r) => [r.name, [r.total, r.done, r.cached, r.running, r.failed, r.skipped]]));
  assert.deepEqual(rows, { data: [1, 0, 1, 0, 0, 0], train: [4, 1, 0, 1, 1, 0], hessian: [4, 0, 0, 0, 0, 1] });
  assert.deepEqual(s.running.map((r) => r.node), ['train[seed=2]']);
  assert.equal(s.running[0]?.startedAt, 4);
  assert.equal(s.stages[1]?.ranMs, 998);
  assert.deepEqual(s.failures, [{ node: 'train[seed=1]', message: 'diverged at epoch 3' }]);
  // The log: what the plain reporter prints (no cache hit without verbose), in order, ids unique.
  assert.deepEqual(s.log.map((e) => [e.kind, e.node]), [
    ['done', 'train[seed=0]'],
    ['failed', 'train[seed=1]'],
    ['skipped', 'hessian[seed=1]'],
  ]);
  assert.deepEqual(s.log.map((e) => e.id), [0, 1, 2]);
});

test('progress sets the fraction, message and metric of a running node; the metric keeps its curve', () => {
  let s = replay([[0, start], [0, ev.start('train[seed=0]')]]);
  for (let epoch = 1; epoch <= 400; epoch++) {
    s = reduceRun(s, ev.progress('train[seed=0]', epoch / 400, `epoch ${epoch}/400`, { acc: epoch / 400, loss: 1 / epoch }), epoch);
  }
  const r = s.running[0];
  assert.equal(r?.fraction, 1);
  assert.equal(r?.message, 'epoch 400/400');
  assert.equal(r?.metric?.name, 'loss', 'loss is preferred over the first metric');
  assert.equal(r?.metric?.value, 1 / 400);
  const points = trailPoints(r!.metric!.trail!);
  assert.ok(points.length >= 32 && points.length <= 65, `${points.length} points`);
  assert.equal(points[0], 1, 'the curve starts at the first report');
  assert.equal(points.at(-1), 1 / 400, 'and ends at the latest');
  // Progress for a node not running (late, or of another run) changes nothing.
  assert.equal(reduceRun(s, ev.progress('train[seed=9]', 0.5), 500), s);
});

test('the reducer never mutates the state it is given', () => {
  const before = replay([[0, start], [0, ev.start('train[seed=0]')], [1, ev.progress('train[seed=0]', 0.1, 'x', { loss: 2 })]]);
  const frozen = JSON.stringify(before);
  replay([[2, ev.progress('train[seed=0]', 0.2, 'y', { loss: 1 })], [3, ev.done('train[seed=0]', 3)], [4, ev.end()]], false, before);
  assert.equal(JSON.stringify(before), frozen);
});

test('verbose also logs cache hits and info lines; warnings are always logged', () => {
  const events = [[0, start], [1, ev.cached('data')], [2, ev.info('data', 'hello')], [3, ev.warn('data', 'cache: corrupt; recomputing')]] as const;
  assert.deepEqual(replay(events).log.map((e) => e.kind), ['log']);
  assert.deepEqual(replay(events, true).log.map((e) => e.kind), ['cached', 'log', 'log']);
});

test('a node that is aborted leaves the running list; run-end clears what is left; interrupt is remembered', () => {
  let s = replay([[0, start], [0, ev.start('train[seed=0]')], [0, ev.start('train[seed=1]')]]);
  s = reduceRun(s, { type: 'interrupt' }, 10);
  assert.equal(s.interrupted, true);
  s = reduceRun(s, ev.skipped('train[seed=0]'), 11);
  assert.deepEqual(s.running.map((r) => r.node), ['train[seed=1]']);
  assert.equal(s.log.length, 0, 'an aborted node is not logged unless verbose');
  s = reduceRun(s, ev.end({ status: 'aborted' }), 12);
  assert.equal(s.running.length, 0);
  assert.ok(s.stages.every((r) => r.running === 0));
  assert.equal(s.end?.status, 'aborted');
});

test('initial state is empty', () => {
  const s = initialRunState();
  assert.deepEqual([s.stages, s.running, s.log, s.failures, s.interrupted, s.end], [[], [], [], [], false, undefined]);
});

test('highlights of nodes that ran or were reused are logged when the run ends, after everything else', () => {
  const s = replay([
    [0, runStart({ correlate: 1, report: 1 })],
    [1, { ...ev.cached('correlate'), highlights: ['metric  Spearman', 'h.trace  -0.90'] } as RunEvent],
    [2, ev.start('report')],
    [3, ev.done('report', 1, 'rendered')],
    [4, ev.end()],
  ]);
  assert.deepEqual(s.log.map((e) => [e.kind, e.node]), [['done', 'report'], ['highlights', 'correlate']]);
  const last = s.log[1];
  assert.ok(last?.kind === 'highlights');
  assert.match(logLine(last, false), /\ncorrelate:\n {2}metric {2}Spearman\n {2}h\.trace {2}-0\.90$/);
});

test('the line reporter prints highlights after the run summary', () => {
  let text = '';
  const emit = plainReporter({ write: (t) => (text += t), verbose: false });
  emit(runStart({ correlate: 1 }));
  emit({ ...ev.done('correlate', 5, '6 models'), highlights: ['a  1', 'b  2'] } as RunEvent);
  emit(ev.end());
  assert.match(text, /^done: 0 ran, 0 cached in .*\n\ncorrelate:\n {2}a {2}1\n {2}b {2}2\n$/m);
});
