import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArtifact, framePayload } from '../../src/fingerprint/artifact-codec.js';
import { asNodeId, asNodeKey, type Digest } from '../../src/fingerprint/ids.js';
import type { Outputs } from '../../src/stages/artifact.js';
import { InvalidCommit, MissingPayloads } from '../../src/store/commit-check.js';
import { makeOwner, ownerIsDead } from '../../src/store/lmdb-store.js';
import { CorruptPayload, type Store } from '../../src/store/types.js';
import { factories, makeCommit, type Harness } from './harness.js';

const every: Outputs = {
  metrics: { type: 'json', value: { loss: 0.25, steps: [1, 2, 3], name: 'ünï', nested: { ok: true, none: null } } },
  log: { type: 'bytes', data: new TextEncoder().encode('hello\n'), mediaType: 'text/plain' },
  blob: { type: 'bytes', data: new Uint8Array([0, 255, 10, 13]) },
  f32: { type: 'array', dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -2, 3, 1e-30, 0, 7]) },
  f64: { type: 'array', dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -1e300, 5e-324]) },
  i32: { type: 'array', dtype: 'int32', shape: [2], data: Int32Array.from([-2147483648, 2147483647]) },
  u32: { type: 'array', dtype: 'uint32', shape: [1, 1], data: Uint32Array.from([4294967295]) },
  i16: { type: 'array', dtype: 'int16', shape: [2], data: Int16Array.from([-32768, 32767]) },
  u16: { type: 'array', dtype: 'uint16', shape: [1], data: Uint16Array.from([65535]) },
  i8: { type: 'array', dtype: 'int8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
  u8: { type: 'array', dtype: 'uint8', shape: [0], data: new Uint8Array(0) },
};

const owner = (tag: string) => `${hostname()}:${process.pid}:${tag}`;

async function withHarness(create: (now?: () => number) => Promise<Harness>, fn: (h: Harness) => Promise<void>, now?: () => number): Promise<void> {
  const h = await create(now);
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

function payloadCount(store: Store): number {
  return [...store.listPayloads()].length;
}

for (const factory of factories) {
  const run = (fn: (h: Harness) => Promise<void>, now?: () => number) => withHarness((n) => factory.create(n), fn, now);

  describe(`store contract: ${factory.name}`, () => {
    test('commit then get round-trips every artifact type, record and state', () =>
      run(async (h) => {
        const c = makeCommit(every, { i: 1 });
        await h.store.commit(c.record, c.payloads, c.state);
        await h.reopen();
        const { store } = h;
        assert.deepEqual(store.getRecord(c.key), c.record);
        for (const [name, ref] of Object.entries(c.record.outputs)) {
          const bytes = store.getPayload(ref.digest);
          assert.ok(bytes, name);
          assert.equal(store.hasPayload(ref.digest, ref.bytes), true);
          assert.equal(store.hasPayload(ref.digest, ref.bytes + 1), false);
          assert.deepEqual(decodeArtifact(ref, bytes), every[name], name);
        }
        assert.deepEqual(store.getState('p', asNodeId('node')), c.state.state);
        assert.deepEqual([...store.listRecords()].map((r) => r.key), [c.key]);
        assert.equal(store.getRecord(asNodeKey('0'.repeat(64))), undefined);
        assert.equal(store.getPayload(`sha256:${'0'.repeat(64)}` as Digest), undefined);
      }));

    test('large payloads round-trip, and a payload read stays valid after later reads', () =>
      run(async (h) => {
        const big = new Float32Array(3 * 1024 * 1024).map((_, i) => i * 0.5);
        const c = makeCommit({ w: { type: 'array', dtype: 'float32', shape: [3, 1024, 1024], data: big }, s: { type: 'json', value: 'small' } }, { i: 9 });
        await h.store.commit(c.record, c.payloads, c.state);
        await h.reopen();
        const w = c.record.outputs['w']!;
        const first = h.store.getPayload(w.digest)!;
        const small = h.store.getPayload(c.record.outputs['s']!.digest)!; // would reuse a read buffer
        assert.equal(new TextDecoder().decode(small), '"small"');
        const decoded = decodeArtifact(w, first);
        assert.ok(decoded.type === 'array' && decoded.data instanceof Float32Array);
        assert.deepEqual(decoded.data, big);
        assert.equal(h.store.hasPayload(w.digest, 12 * 1024 * 1024), true);
      }));

    test('payloads are content-addressed: two records sharing an output store it once', () =>
      run(async (h) => {
        const shared = { type: 'json', value: [1, 2, 3] } as const;
        const a = makeCommit({ x: shared, only: { type: 'json', value: 'a' } }, { i: 1 });
        const b = makeCommit({ y: shared }, { i: 2 }, 'p', 'other');
        await h.store.commit(a.record, a.payloads, a.state);
        await h.store.commit(b.record, b.payloads, b.state);
        assert.equal(a.record.outputs['x']!.digest, b.record.outputs['y']!.digest);
        assert.equal(payloadCount(h.store), 2);
        // A record may also reference an already stored payload without supplying it again.
        const c = makeCommit({ z: shared }, { i: 3 });
        await h.store.commit(c.record, new Map(), c.state);
        assert.deepEqual(h.store.getRecord(c.key), c.record);
        assert.equal(payloadCount(h.store), 2);
      }));

    test('a record never exists without its payloads', () =>
      run(async (h) => {
        const c = makeCommit({ a: { type: 'json', value: 1 }, b: { type: 'json', value: 2 } }, { i: 1 });
        const partial = new Map([...c.payloads].slice(0, 1));
        await assert.rejects(h.store.commit(c.record, partial, c.state), MissingPayloads);
        assert.equal(h.store.getRecord(c.key), undefined);
        assert.equal(h.store.getState('p', asNodeId('node')), undefined);
        assert.equal(payloadCount(h.store), 0, 'nothing of the failed commit was written');

        const [digest, bytes] = [...c.payloads][0]!;
        const wrongSize = new Map(c.payloads).set(digest, bytes.subarray(1));
        await assert.rejects(h.store.commit(c.record, wrongSize, c.state), InvalidCommit);
        const stray = new Map(c.payloads).set(`sha256:${'1'.repeat(64)}` as Digest, new Uint8Array(1));
        await assert.rejects(h.store.commit(c.record, stray, c.state), InvalidCommit);
        const otherKey = { ...c.state, state: { ...c.state.state, key: asNodeKey('2'.repeat(64)) } };
        await assert.rejects(h.store.commit(c.record, c.payloads, otherKey), InvalidCommit);
        assert.equal(h.store.getRecord(c.key), undefined);

        await h.store.commit(c.record, c.payloads, c.state);
        assert.ok(h.store.getRecord(c.key));
      }));

    test('many concurrent commits all land, each complete', () =>
      run(async (h) => {
        const commits = Array.from({ length: 200 }, (_, i) =>
          makeCommit({ v: { type: 'json', value: i }, w: { type: 'array', dtype: 'float64', shape: [2], data: Float64Array.from([i, -i]) } }, { i }, 'p', `n${i}`),
        );
        await Promise.all(commits.map((c) => h.store.commit(c.record, c.payloads, c.state)));
        await h.reopen();
        for (const c of commits) {
          assert.deepEqual(h.store.getRecord(c.key), c.record);
          for (const ref of Object.values(c.record.outputs)) assert.ok(h.store.getPayload(ref.digest));
        }
        assert.equal([...h.store.listStates()].length, 200);
      }));

    test('a corrupt payload is detected on read', () =>
      run(async (h) => {
        const c = makeCommit({ a: { type: 'bytes', data: new Uint8Array([1, 2, 3, 4]) }, b: { type: 'json', value: 'fine' } }, { i: 1 });
        await h.store.commit(c.record, c.payloads, c.state);
        const a = c.record.outputs['a']!;
        const b = c.record.outputs['b']!;
        // Same length and a valid header line, one payload byte flipped.
        await h.corrupt(a.digest, framePayload({ type: 'bytes' }, new Uint8Array([1, 2, 3, 5])));
        assert.throws(() => h.store.getPayload(a.digest), (e: unknown) => e instanceof CorruptPayload && e.digest === a.digest);
        await h.corrupt(a.digest, new Uint8Array([0xde, 0xad]));
        assert.throws(() => h.store.getPayload(a.digest), CorruptPayload);
        assert.deepEqual(decodeArtifact(b, h.store.getPayload(b.digest)!), { type: 'json', value: 'fine' });
        // The engine's remedy: drop the record and the bad payload, then recompute.
        await h.store.dropRecord(c.key);
        await h.store.dropPayload(a.digest);
        assert.equal(h.store.getRecord(c.key), undefined);
        assert.equal(h.store.getPayload(a.digest), undefined);
        assert.equal(h.store.hasPayload(a.digest, a.bytes), false);
      }));

    test('leases: acquire, refuse a second owner, renew, release', () =>
      run(async (h) => {
        const key = asNodeKey('a'.repeat(64));
        const [a, b] = [owner('a'), owner('b')];
        assert.equal(await h.store.acquireLease(key, a, 60_000), true);
        assert.equal(await h.store.acquireLease(key, b, 60_000), false);
        assert.equal(await h.store.acquireLease(key, a, 60_000), true, 'already ours');
        assert.equal(await h.store.renewLease(key, b, 60_000), false);
        assert.equal(await h.store.renewLease(key, a, 60_000), true);
        assert.equal(h.store.getLease(key)?.owner, a);
        await h.store.releaseLease(key, b);
        assert.equal(h.store.getLease(key)?.owner, a, 'only the owner releases');
        await h.store.releaseLease(key, a);
        assert.equal(h.store.getLease(key), undefined);
        assert.equal(await h.store.acquireLease(key, b, 60_000), true);
        assert.deepEqual([...h.store.listLeases()].map((l) => [l.key, l.lease.owner]), [[key, b]]);
      }));

    test('leases: an expired lease is taken over and can no longer be renewed', () => {
      let now = 1_000_000;
      return run(async (h) => {
        const key = asNodeKey('b'.repeat(64));
        const [a, b] = [owner('a'), owner('b')];
        assert.equal(await h.store.acquireLease(key, a, 1000), true);
        now += 999;
        assert.equal(await h.store.acquireLease(key, b, 1000), false);
        now += 1;
        assert.equal(await h.store.acquireLease(key, b, 1000), true, 'expired at expiresAt');
        assert.equal(await h.store.renewLease(key, a, 1000), false);
        assert.equal(h.store.getLease(key)?.owner, b);
        assert.equal(h.store.getLease(key)?.expiresAt, now + 1000);
      }, () => now);
    });

    test('leases: a dead process on this host holds nothing', () =>
      run(async (h) => {
        const child = spawnSync(process.execPath, ['-e', '']);
        const dead = `${hostname()}:${child.pid}:gone`;
        assert.equal(ownerIsDead(dead), true);
        const key = asNodeKey('c'.repeat(64));
        assert.equal(await h.store.acquireLease(key, dead, 3_600_000), true);
        assert.equal(await h.store.acquireLease(key, makeOwner(), 60_000), true);
      }));

    test('node states per pipeline', () =>
      run(async (h) => {
        const c = makeCommit({ a: { type: 'json', value: 1 } }, { i: 1 }, 'pipe-a', 'train[seed=1]');
        await h.store.commit(c.record, c.payloads, c.state);
        const failed = { ...c.state.state, status: 'failed' as const, error: 'boom' };
        await h.store.putState('pipe-b', failed);
        assert.deepEqual(h.store.getState('pipe-a', asNodeId('train[seed=1]')), c.state.state);
        assert.deepEqual(h.store.getState('pipe-b', asNodeId('train[seed=1]')), failed);
        assert.equal(h.store.getState('pipe-c', asNodeId('train[seed=1]')), undefined);
        assert.deepEqual([...h.store.listStates()].map((s) => [s.pipeline, s.state.status]).sort(), [['pipe-a', 'ok'], ['pipe-b', 'failed']]);
        await h.store.dropState('pipe-a', asNodeId('train[seed=1]'));
        assert.equal(h.store.getState('pipe-a', asNodeId('train[seed=1]')), undefined);
        assert.ok(h.store.getRecord(c.key), 'dropping a state leaves the record');
      }));

    test('meta values', () =>
      run(async (h) => {
        const value = { run: { status: 'running', done: 3, of: 10 }, list: [1, 'two', null, false] };
        await h.store.putMeta('run/status', value);
        await h.reopen();
        assert.deepEqual(h.store.getMeta('run/status'), value);
        await h.store.putMeta('run/status', undefined);
        assert.equal(h.store.getMeta('run/status'), undefined);
        assert.equal(h.store.getMeta('never'), undefined);
      }));
  });
}

test('ownerIsDead is conservative', () => {
  assert.equal(ownerIsDead(makeOwner()), false, 'this process');
  assert.equal(ownerIsDead(`some-other-host:1:x`), false, 'another host');
  assert.equal(ownerIsDead('garbage'), false);
  assert.equal(ownerIsDead(`${hostname()}:notapid:x`), false);
  assert.match(makeOwner(), new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${process.pid}:[0-9a-f]{12}$`));
});
