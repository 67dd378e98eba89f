import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hostname } from 'node:os';
import { runProgressIsLive } from '../../src/store/lease.js';
import type { RunProgress } from '../../src/store/types.js';
import { ProgressPublisher } from '../../src/ui/progress-publisher.js';
import { lmdbFactory, memoryFactory, type Harness } from '../store/harness.js';
import { ev, runStart } from './fixtures.js';

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.cleanup();
});
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

const record = (owner: string, o: Partial<RunProgress> = {}): RunProgress => ({
  format: 1,
  owner,
  pipeline: 'p',
  file: 'basin.yaml',
  jobs: 2,
  startedAt: 1,
  updatedAt: 1,
  expiresAt: Date.now() + 60_000,
  running: [],
  ...o,
});

for (const factory of [memoryFactory, lmdbFactory]) {
  test(`${factory.name} store: run progress records are put, replaced, listed and dropped`, async () => {
    const h = await factory.create();
    harnesses.push(h);
    const { store } = h;
    await store.putRunProgress(record('host:1:a'));
    await store.putRunProgress(record('host:2:b', { running: [{ node: 'x' as never, stage: 's' as never, startedAt: 5, fraction: 0.5, metric: { name: 'loss', value: 1, trail: [3, 2, 1] } }] }));
    await store.putRunProgress(record('host:1:a', { jobs: 7 }));
    await h.reopen();
    const list = [...h.store.listRunProgress()];
    assert.deepEqual(list.map((r) => [r.owner, r.jobs]), [['host:1:a', 7], ['host:2:b', 2]]);
    assert.deepEqual(list[1]?.running[0]?.metric?.trail, [3, 2, 1]);
    await h.store.dropRunProgress('host:1:a');
    assert.deepEqual([...h.store.listRunProgress()].map((r) => r.owner), ['host:2:b']);
  });
}

test('a progress record is live while unexpired and its owner alive', () => {
  const now = Date.now();
  assert.equal(runProgressIsLive(record(`${hostname()}:${process.pid}:x`, { expiresAt: now + 1000 }), now), true);
  assert.equal(runProgressIsLive(record(`${hostname()}:${process.pid}:x`, { expiresAt: now - 1 }), now), false);
  assert.equal(runProgressIsLive(record(`${hostname()}:999999999:x`, { expiresAt: now + 1000 }), now), false, 'dead pid');
});

test('publisher: nothing written for a run with nothing running; at most one write per interval; dropped at the end', async () => {
  const h = await memoryFactory.create();
  harnesses.push(h);
  const owner = `${hostname()}:${process.pid}:pub`;
  const cachedOnly = new ProgressPublisher({ store: h.store, owner, pipeline: 'p', file: 'basin.yaml', jobs: 2, intervalMs: 50 });
  cachedOnly.emit(runStart({ data: 1 }));
  cachedOnly.emit(ev.cached('data'));
  cachedOnly.emit(ev.end({ cached: 1 }));
  await cachedOnly.close();
  assert.equal(cachedOnly.writes, 0);

  // A record left by a killed run (expired) is cleared by the next run's first write.
  await h.store.putRunProgress(record('elsewhere:1:dead', { expiresAt: Date.now() - 1 }));
  const p = new ProgressPublisher({ store: h.store, owner, pipeline: 'p', file: 'basin.yaml', jobs: 2, intervalMs: 50 });
  p.emit(runStart({ train: 2 }));
  p.emit(ev.start('train[seed=0]'));
  p.emit(ev.start('train[seed=1]'));
  const t0 = Date.now();
  let i = 0;
  while (Date.now() - t0 < 400) {
    i++;
    p.emit(ev.progress('train[seed=0]', Math.min(1, i / 1e5), `step ${i}`, { loss: 1 / i, acc: 0.5 }));
    if (i % 200 === 0) await wait(1);
  }
  await wait(120);
  const elapsed = Date.now() - t0;
  assert.ok(p.writes >= 2 && p.writes <= Math.ceil(elapsed / 50) + 1, `${p.writes} writes in ${elapsed} ms for ${i} progress events`);
  const [rec, ...others] = [...h.store.listRunProgress()];
  assert.equal(others.length, 0, 'the dead run record is gone');
  assert.equal(rec?.owner, owner);
  assert.deepEqual(rec?.running.map((r) => r.node), ['train[seed=0]', 'train[seed=1]']);
  const r0 = rec?.running[0];
  assert.equal(r0?.message, `step ${i}`);
  assert.equal(r0?.metric?.name, 'loss');
  assert.ok((r0?.metric?.trail.length ?? 0) <= 65);
  assert.ok(runProgressIsLive(rec!, Date.now()));
  p.emit(ev.done('train[seed=0]', 10));
  await wait(120);
  assert.deepEqual([...h.store.listRunProgress()][0]?.running.map((r) => r.node), ['train[seed=1]']);
  p.emit(ev.end());
  await p.close();
  assert.deepEqual([...h.store.listRunProgress()], []);
});
