import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { cleanup, render } from 'ink-testing-library';
import { RunApp } from '../../src/ui/ink/run-app.js';
import { LiveView } from '../../src/ui/ink/live-view.js';
import { RunFeed } from '../../src/ui/run-feed.js';
import type { RunState } from '../../src/ui/run-state.js';
import { ev, replay, runStart } from './fixtures.js';

after(cleanup);

const WIDTH = 100; // ink-testing-library's terminal is 100 columns wide

function frame(state: RunState, now: number, height = 30): string[] {
  const { lastFrame, unmount } = render(<LiveView state={state} now={now} width={WIDTH} height={height} />);
  const text = stripVTControlCharacters(lastFrame() ?? '');
  unmount();
  return text.split('\n');
}

const start = runStart({ data: 1, train: 4, hessian: 4 }, { runtime: { backend: 'wasm', tfjs: '4.22.0' } });

test('header, stage rows, running nodes with bar, message, metric, sparkline and elapsed time, then ETA', () => {
  const events = [
    [0, start],
    [0, ev.cached('data')],
    [0, ev.start('train[seed=0]')],
    [0, ev.start('train[seed=1]')],
  ] as const;
  let s = replay(events);
  s = replay(Array.from({ length: 140 }, (_, i) => [i * 100, ev.progress('train[seed=0]', (i + 1) / 400, `epoch ${i + 1}/400`, { loss: 2 / (i + 1) })] as const), false, s);
  const lines = frame(s, 14_000);
  assert.equal(lines[0], 'basin · sweep (basin.yaml) · TF.js 4.22.0 on wasm · jobs 2 · cache cache');
  assert.equal(lines[1], '9 nodes: 1 cached, 8 to run');
  assert.match(lines[2] ?? '', /^ data +▓+ 1\/1  0 done  1 cached  0 running  0 failed$/);
  assert.match(lines[3] ?? '', /^ train +▒+░+ 0\/4  0 done  0 cached  2 running  0 failed$/);
  assert.match(lines[4] ?? '', /^ hessian +░+ 0\/4  0 done  0 cached  0 running  0 failed$/);
  assert.match(lines[5] ?? '', /^ ▸ train\[seed=0\] +█+░+  35% +14\.0s  epoch 140\/400  loss 0\.01429 [▁-█]{12}$/);
  assert.match(lines[6] ?? '', /^ ▸ train\[seed=1\] +·{12} +14\.0s$/);
  // Nothing finished yet: train[seed=0] extrapolates 14 s / 35% = 40 s per node. Left: 26 s for
  // it, 40 - 14 for seed=1, 2 x 40 pending = 132 s on 2 jobs; hessian is unmeasured (a lower bound).
  assert.equal(lines[7], 'elapsed 14.0s · ETA >1m06s · q or Ctrl-C to stop');
  assert.equal(lines.length, 8);
  for (const l of lines) assert.ok(l.length <= WIDTH, `wider than the terminal: ${l}`);
});

test('hundreds of running nodes: the live area stays under the terminal height, with "+N more running"', () => {
  const many = runStart({ train: 500 });
  const events = [[0, many], ...Array.from({ length: 300 }, (_, i) => [0, ev.start(`train[seed=${i}]`)] as const)] as const;
  const s = replay(events);
  for (const height of [10, 24, 50]) {
    const lines = frame(s, 1000, height);
    assert.ok(lines.length <= height - 1, `${lines.length} lines on a terminal of ${height}`);
    const shown = lines.filter((l) => l.startsWith(' ▸ ')).length;
    assert.ok(lines.includes(` +${300 - shown} more running`), lines.join('\n'));
    assert.match(lines.find((l) => l.startsWith(' train')) ?? '', / 300 running /);
  }
});

test('the final summary: ran, cached, failed, wall time, time saved, and the failures', () => {
  const s = replay([
    [0, start],
    [0, ev.cached('data', 60_000)],
    [0, ev.start('train[seed=0]')],
    [0, ev.start('train[seed=1]')],
    [9_000, ev.done('train[seed=0]', 9_000, 'converged after 107 epochs')],
    [9_500, ev.failed('train[seed=1]', 'loss is NaN at epoch 3 with lr 0.5\nlower the learning rate')],
    [9_600, ev.end({ status: 'failed', ran: 1, cached: 1, failed: 1, skipped: 6, wallMs: 9_600, savedMs: 60_000 })],
  ]);
  const lines = frame(s, 9_600);
  assert.ok(lines.includes('failed: 1 ran, 1 cached, 1 failed, 6 skipped in 9.60s; the cache saved 1m00s'), lines.join('\n'));
  assert.ok(lines.includes('  ✗ train[seed=1]: loss is NaN at epoch 3 with lr 0.5'), lines.join('\n'));
  assert.ok(!lines.some((l) => l.startsWith(' ▸ ')), 'no running rows after the end');
});

test('the app: finished nodes go to the static log once, the live view follows the feed, q interrupts', async () => {
  const feed = new RunFeed({ frameMs: 0 });
  let interrupts = 0;
  const app = render(<RunApp feed={feed} onInterrupt={() => interrupts++} size={{ columns: WIDTH, rows: 20 }} />);
  const settle = () => new Promise((r) => setTimeout(r, 20));
  feed.dispatch(runStart({ train: 2 }));
  feed.dispatch(ev.start('train[seed=0]'));
  feed.dispatch(ev.start('train[seed=1]'));
  feed.dispatch(ev.progress('train[seed=0]', 0.5, 'epoch 200/400', { loss: 0.25 }));
  await settle();
  let text = stripVTControlCharacters(app.lastFrame() ?? '');
  assert.match(text, /▸ train\[seed=0\] +█{6}░{6}  50% .* epoch 200\/400  loss 0\.2500/);
  feed.dispatch(ev.done('train[seed=0]', 1234, 'converged after 107 epochs: S 100.0%'));
  await settle();
  text = stripVTControlCharacters(app.lastFrame() ?? '');
  assert.match(text, /^done +train\[seed=0\]  1\.23s  converged after 107 epochs: S 100\.0%$/m);
  assert.doesNotMatch(text, /▸ train\[seed=0\]/);
  app.stdin.write('q');
  await settle();
  assert.equal(interrupts, 1);
  feed.dispatch({ type: 'interrupt' });
  await settle();
  assert.match(stripVTControlCharacters(app.lastFrame() ?? ''), /^stopping: running stages have the abort signal; finished work is kept/m);
  feed.dispatch(ev.skipped('train[seed=1]'));
  feed.dispatch(ev.end({ status: 'aborted', ran: 1, skipped: 1, wallMs: 2000 }));
  await settle();
  text = stripVTControlCharacters(app.lastFrame() ?? '');
  assert.match(text, /^aborted: 1 ran, 0 cached, 0 failed, 1 skipped in 2\.00s$/m);
  assert.equal(text.match(/^done +train\[seed=0\]/gm)?.length, 1, 'the static line is printed once');
  app.unmount();
  feed.close();
});

test('the feed publishes at most once per frame however many events arrive', async () => {
  const feed = new RunFeed({ frameMs: 50 });
  let heard = 0;
  feed.subscribe(() => heard++);
  feed.dispatch(runStart({ train: 1 }));
  feed.dispatch(ev.start('train[seed=0]'));
  const t0 = Date.now();
  let i = 0;
  while (Date.now() - t0 < 300) {
    feed.dispatch(ev.progress('train[seed=0]', (++i % 100) / 100, `step ${i}`, { loss: 1 / i }));
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 60));
  const elapsed = Date.now() - t0;
  assert.ok(i > 1000, `${i} events`);
  assert.ok(heard <= Math.ceil(elapsed / 50) + 2, `${heard} publishes in ${elapsed} ms for ${i} events`);
  assert.equal(feed.snapshot().state.running[0]?.message, `step ${i}`, 'the last event is published');
  feed.dispatch(ev.end());
  assert.equal(feed.snapshot().state.end?.type, 'run-end', 'the end is published at once');
  feed.close();
});
