import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asNodeId, type NodeId, type NodeKey } from '../../src/fingerprint/ids.js';
import { collectGarbage, keysNamedByStates } from '../../src/store/gc.js';
import { factories, makeCommit, type Harness } from './harness.js';

const owner = `${hostname()}:${process.pid}:gc-test`;
const ids = (...names: string[]) => new Set<NodeId>(names.map(asNodeId));

/** live A and dead B share payload S; B alone has U; C (dead, but leased) alone has L. */
async function populate(h: Harness) {
  const shared = { type: 'json', value: 'shared' } as const;
  const a = makeCommit({ s: shared }, { r: 'a' }, 'p', 'a');
  const b = makeCommit({ s: shared, u: { type: 'bytes', data: new Uint8Array(1000) } }, { r: 'b' }, 'p', 'b');
  const c = makeCommit({ l: { type: 'array', dtype: 'float64', shape: [10], data: new Float64Array(10) } }, { r: 'c' }, 'p', 'c');
  for (const x of [a, b, c]) await h.store.commit(x.record, x.payloads, x.state);
  await h.store.putState('q', { ...b.state.state, nodeId: asNodeId('x') });
  return { a, b, c };
}

for (const factory of factories) {
  const run = async (fn: (h: Harness) => Promise<void>) => {
    const h = await factory.create();
    try {
      await fn(h);
    } finally {
      await h.cleanup();
    }
  };

  describe(`gc: ${factory.name}`, () => {
    test('drops dead records, unreferenced payloads and stale states of the given pipelines; spares leased keys', () =>
      run(async (h) => {
        const { a, b, c } = await populate(h);
        assert.equal(await h.store.acquireLease(c.key, owner, 600_000), true);
        const live = new Set<NodeKey>([a.key]);
        const scope = [{ pipeline: 'p', nodeIds: ids('a', 'c') }];
        const expectedBytes = 1000 + Buffer.byteLength(JSON.stringify(b.record));

        const dry = await collectGarbage(h.store, live, scope, { dryRun: true });
        assert.deepEqual(dry, { records: 1, payloads: 1, states: 1, bytes: expectedBytes });
        assert.ok(h.store.getRecord(b.key), 'a dry run removes nothing');

        const done = await collectGarbage(h.store, live, scope, { dryRun: false });
        assert.deepEqual(done, dry);
        assert.equal(h.store.getRecord(b.key), undefined);
        assert.ok(h.store.getRecord(a.key));
        assert.ok(h.store.getRecord(c.key), 'leased record kept');
        assert.ok(h.store.getPayload(a.record.outputs['s']!.digest), 'shared payload kept');
        assert.equal(h.store.getPayload(b.record.outputs['u']!.digest), undefined);
        assert.ok(h.store.getPayload(c.record.outputs['l']!.digest), "leased record's payload kept");
        assert.equal(h.store.getState('p', asNodeId('b')), undefined);
        assert.ok(h.store.getState('p', asNodeId('c')));
        assert.ok(h.store.getState('q', asNodeId('x')), 'other pipelines untouched');

        await h.store.releaseLease(c.key, owner);
        const after = await collectGarbage(h.store, live, scope, { dryRun: false });
        assert.equal(after.records, 1);
        assert.equal(after.payloads, 1);
        assert.equal(h.store.getRecord(c.key), undefined);
        assert.deepEqual(await collectGarbage(h.store, live, scope, { dryRun: false }), { records: 0, payloads: 0, states: 0, bytes: 0 });
      }));

    test('keysNamedByStates lets other pipelines keep their records', () =>
      run(async (h) => {
        const { a, b } = await populate(h);
        const live = new Set<NodeKey>([a.key, ...keysNamedByStates(h.store, new Set(['q']))]);
        const r = await collectGarbage(h.store, live, [], { dryRun: false });
        assert.ok(h.store.getRecord(b.key), 'named by pipeline q');
        assert.equal(r.records, 1, 'only c');
      }));

    test('sweep re-checks a stale plan: new references, new leases and rewritten states win', () =>
      run(async (h) => {
        const { a, b, c } = await populate(h);
        const u = b.record.outputs['u']!;
        // After the plan was made: a new record references U, C gets leased, state p/a is rewritten.
        const d = makeCommit({ again: { type: 'bytes', data: new Uint8Array(1000) } }, { r: 'd' }, 'p', 'd');
        assert.equal(d.record.outputs['again']!.digest, u.digest);
        await h.store.commit(d.record, new Map(), d.state);
        assert.equal(await h.store.acquireLease(c.key, owner, 600_000), true);
        await h.store.putState('p', { ...a.state.state, key: c.key });
        const result = await h.store.sweep({
          records: [b.key, c.key],
          payloads: [u.digest],
          states: [{ pipeline: 'p', nodeId: asNodeId('a'), key: a.key }],
        });
        assert.deepEqual(result, { records: 1, payloads: 0, states: 0, bytes: Buffer.byteLength(JSON.stringify(b.record)) });
        assert.ok(h.store.getPayload(u.digest));
        assert.ok(h.store.getRecord(c.key));
        assert.equal(h.store.getState('p', asNodeId('a'))?.key, c.key);
      }));

    test('expired leases and dead owners protect nothing', () =>
      run(async (h) => {
        const { b, c } = await populate(h);
        await h.store.acquireLease(b.key, `${hostname()}:${process.pid}:short`, 1);
        await new Promise((r) => setTimeout(r, 20));
        await h.store.acquireLease(c.key, `${hostname()}:999999999:dead`, 600_000);
        const r = await collectGarbage(h.store, new Set(), [], { dryRun: false });
        assert.equal(r.records, 3);
        assert.equal([...h.store.listPayloads()].length, 0);
      }));
  });
}
