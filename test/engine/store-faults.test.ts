import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { open, type Database } from 'lmdb';
import type { RunEvent } from '../../src/run/events.js';
import { collect, RunOutcome, Workspace, workspaceWith } from './rig.js';

/**
 * The cache never serves bad data: a payload damaged or deleted behind basin's back is found on the
 * next run, reported, dropped and recomputed; a lease left behind by a dead process blocks nothing.
 * The damage is done directly in LMDB from this process while no basin process has the cache open.
 */
const PIPELINE = `
version: 1
name: faults
stages:
  gen:
    kind: probe
    matrix: { seed: [1, 2, 3] }
    with: { value: "\${matrix.seed}", seed: "\${matrix.seed}", arrayLength: 1000 }
  post:
    kind: probe
    foreach: gen
    inputs: { g: gen }
    # A string seed counts as 0: the three post arrays are identical (one shared payload), and
    # differ from every gen array (seeds 1-3), so each gen array belongs to exactly one record.
    with: { value: post, seed: "p\${matrix.seed}", arrayLength: 1000 }
  total: { kind: probe, inputs: { parts: post } }
`;

const ALL = ['gen[seed=1]', 'gen[seed=2]', 'gen[seed=3]', 'post[seed=1]', 'post[seed=2]', 'post[seed=3]', 'total'];

/** A workspace whose whole pipeline has run once. */
async function ranWorkspace(): Promise<Workspace> {
  const ws = workspaceWith(PIPELINE);
  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ALL);
  return ws;
}

interface ShownRecord {
  key: string;
  outputs: Record<string, { digest: string; bytes: number }>;
}

async function show(ws: Workspace, node: string): Promise<{ cached: boolean; record?: ShownRecord; plan?: { action: string; key?: string } }> {
  const r = await ws.basin('show', node, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { cached: boolean; record?: ShownRecord; plan?: { action: string; key?: string } };
}

async function digestOf(ws: Workspace, node: string, output: string): Promise<string> {
  const s = await show(ws, node);
  assert.equal(s.cached, true, `${node} is not cached`);
  const digest = s.record?.outputs[output]?.digest;
  assert.match(digest ?? '', /^sha256:[0-9a-f]{64}$/);
  return digest as string;
}

/** Opens the cache's LMDB environment in this process (no basin process may have it open). */
async function withLmdb<T>(ws: Workspace, action: (db: (name: string) => Database<Buffer, string>) => T): Promise<T> {
  const root = open(ws.cache, { maxDbs: 8, compression: false, encoding: 'binary', noSubdir: false });
  const openNamed = (name: string) => root.openDB<Buffer, string>(name, { encoding: 'binary', compression: false });
  try {
    return action(openNamed);
  } finally {
    await root.close();
  }
}

/** Flips one byte near the end of a stored payload (in the array data, past the header line). */
async function corruptPayload(ws: Workspace, digest: string): Promise<void> {
  await withLmdb(ws, (db) => {
    const payloads = db('payloads');
    const stored = payloads.getBinary(digest);
    assert.ok(stored, `payload ${digest} is not in the store`);
    const value = Buffer.from(stored);
    assert.equal(sha256(value), digest, 'a stored payload value is the preimage of its digest');
    assert.ok(value.length > 4000, `expected a 1000-float payload, got ${value.length} bytes`);
    value[value.length - 3] = (value[value.length - 3] as number) ^ 0x5a;
    payloads.putSync(digest, value);
    assert.notEqual(sha256(Buffer.from(payloads.getBinary(digest) as Buffer)), digest);
  });
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest the stored value actually hashes to, or undefined when absent. */
async function storedHash(ws: Workspace, digest: string): Promise<string | undefined> {
  return withLmdb(ws, (db) => {
    const v = db('payloads').getBinary(digest);
    return v === undefined ? undefined : sha256(Buffer.from(v));
  });
}

function warnings(r: RunOutcome): Extract<RunEvent, { type: 'node-log' }>[] {
  return r.events.filter((e): e is Extract<RunEvent, { type: 'node-log' }> => e.type === 'node-log' && e.level === 'warn');
}

/** float32 data of a probe array: data[i] = seed + i / length. */
function probeArray(seed: number, length: number): Buffer {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = seed + i / length;
  return Buffer.from(a.buffer);
}

/** Exports a node and returns the data bytes of its array.npy. */
async function exportedArray(ws: Workspace, node: string, dir: string): Promise<Buffer> {
  const r = await ws.basin('export', node, '--out', dir);
  assert.equal(r.code, 0, r.stderr);
  const npy = readFileSync(join(ws.dir, dir, 'array.npy'));
  return npy.subarray(10 + npy.readUInt16LE(8));
}

test('a corrupt payload is detected, dropped and recomputed; identical output keeps downstream cached', async () => {
  const ws = await ranWorkspace();
  const digest = await digestOf(ws, 'gen[seed=2]', 'array');
  await corruptPayload(ws, digest);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ['gen[seed=2]']);
  assert.deepEqual(r.cached, ALL.filter((n) => n !== 'gen[seed=2]'), 'downstream of an identical recompute stays cached');
  assert.deepEqual(r.failed, []);
  const warned = warnings(r);
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.equal(warned[0]?.node, 'gen[seed=2]');
  assert.match(warned[0]?.line ?? '', /corrupt/);
  assert.ok(warned[0]?.line.includes(digest), warned[0]?.line);
  assert.deepEqual(r.started.find((s) => s.node === 'gen[seed=2]')?.reasons, [{ code: 'missing-output' }]);
  const done = r.events.find((e) => e.type === 'node-done' && e.node === 'gen[seed=2]');
  assert.ok(done, 'gen[seed=2] was not recomputed');

  // The store holds the good bytes again under the same digest, and they are what gets exported.
  assert.equal(await storedHash(ws, digest), digest);
  assert.equal(await digestOf(ws, 'gen[seed=2]', 'array'), digest);
  assert.deepEqual(await exportedArray(ws, 'gen[seed=2]', 'ex'), probeArray(2, 1000));

  const third = await ws.run();
  assert.equal(third.code, 0, third.result.stderr);
  assert.deepEqual(third.ran, []);
  assert.deepEqual(third.cached, ALL);
  assert.deepEqual(warnings(third), []);
});

test('the plain reporter shows the corruption as a warn line', async () => {
  const ws = await ranWorkspace();
  const digest = await digestOf(ws, 'gen[seed=1]', 'array');
  await corruptPayload(ws, digest);
  const r = await ws.basin('run');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^warn {4}gen\[seed=1\]: cache: output "array" is corrupt in the store \(.*\); recomputing$/m);
  assert.match(r.stdout, /^run {5}gen\[seed=1\] {2}\(outputs missing from the cache \(removed by gc, or found corrupt\)\)$/m);
  assert.match(r.stdout, /^done: 1 ran, 6 cached in /m);
});

test('a corrupt payload shared by several records is recomputed for all of them, never served', async () => {
  const ws = await ranWorkspace();
  const shared = await digestOf(ws, 'post[seed=1]', 'array');
  for (const n of ['post[seed=2]', 'post[seed=3]']) assert.equal(await digestOf(ws, n, 'array'), shared, 'the post arrays are one payload');
  await corruptPayload(ws, shared);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.failed, []);
  // Every record naming the bad payload was checked before any was served; each of them either
  // found it bad (and recomputed) or found it already rewritten by a sibling (and hit).
  assert.ok(r.ran.length >= 1, `nothing recomputed: ${r.result.stdout}`);
  for (const n of r.ran) assert.match(n, /^post\[seed=\d\]$/);
  for (const w of warnings(r)) assert.match(w.line, /corrupt|missing/);
  assert.ok(r.cached.includes('total'), 'identical post outputs keep total cached');
  assert.equal(r.end.ran + r.end.cached, ALL.length);

  assert.equal(await storedHash(ws, shared), shared);
  assert.deepEqual(await exportedArray(ws, 'post[seed=3]', 'ex'), probeArray(0, 1000));
  const third = await ws.run();
  assert.deepEqual(third.ran, []);
  assert.deepEqual(third.cached, ALL);
});

test('a deleted payload: plan says outputs missing, run recomputes (no phantom hit), then all cached', async () => {
  const ws = await ranWorkspace();
  const digest = await digestOf(ws, 'gen[seed=3]', 'array');
  await withLmdb(ws, (db) => {
    assert.equal(db('payloads').removeSync(digest), true);
    assert.equal(db('payloadInfo').removeSync(digest), true);
  });

  const plan = await ws.basin('plan');
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^plan: faults \(basin\.yaml\): 3 to run, 4 cached, 7 nodes$/m);
  assert.match(plan.stdout, /^ {2}run {6}gen\[seed=3\] {3}outputs missing from the cache \(removed by gc, or found corrupt\)$/m);
  assert.match(plan.stdout, /^ {2}run {6}post\[seed=3\] {2}input "g" will be recomputed first \(gen\[seed=3\]\)$/m);
  assert.match(plan.stdout, /^ {2}run {6}total {9}input "parts" will be recomputed first \(post\[seed=3\]\)$/m);
  const status = await ws.basin('status');
  assert.match(status.stdout, /^3 of 7 nodes would run/m);
  const shown = await ws.basin('show', 'gen[seed=3]');
  assert.equal(shown.stdout, 'gen[seed=3]  (stage gen)\n  not cached: outputs missing from the cache (removed by gc, or found corrupt)\n');
  const exported = await ws.basin('export', 'gen[seed=3]', '--out', 'gone');
  assert.equal(exported.code, 1, exported.stderr);
  assert.match(exported.stderr, /is not in the cache \(outputs missing from the cache/);
  assert.equal(existsSync(join(ws.dir, 'gone', 'array.npy')), false);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ['gen[seed=3]']);
  assert.deepEqual(r.cached, ALL.filter((n) => n !== 'gen[seed=3]'));
  assert.deepEqual(r.started.find((s) => s.node === 'gen[seed=3]')?.reasons, [{ code: 'missing-output' }]);
  assert.equal(await storedHash(ws, digest), digest);
  assert.deepEqual(await exportedArray(ws, 'gen[seed=3]', 'ex'), probeArray(3, 1000));

  const third = await ws.run();
  assert.deepEqual(third.ran, []);
  assert.deepEqual(third.cached, ALL);
});

test('export of a node whose payload is corrupt writes no data file', async () => {
  const ws = await ranWorkspace();
  await corruptPayload(ws, await digestOf(ws, 'gen[seed=2]', 'array'));
  const r = await ws.basin('export', 'gen[seed=2]', '--out', 'bad');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /corrupt/);
  assert.equal(existsSync(join(ws.dir, 'bad', 'array.npy')), false, 'corrupt data was exported');
  assert.equal(existsSync(join(ws.dir, 'bad', 'result.json')), false);
});

test('export of a corrupt node is a clear user-facing error, not an internal error', async () => {
  const ws = await ranWorkspace();
  await corruptPayload(ws, await digestOf(ws, 'gen[seed=2]', 'array'));
  const r = await ws.basin('export', 'gen[seed=2]', '--out', 'bad');
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.equal(r.code, 1, r.stderr);
});

test('payload bytes gone while its size entry remains: one recompute heals the store', async () => {
  const ws = await ranWorkspace();
  const digest = await digestOf(ws, 'gen[seed=3]', 'array');
  await withLmdb(ws, (db) => assert.equal(db('payloads').removeSync(digest), true));
  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ['gen[seed=3]']);
  const again = await ws.run();
  assert.deepEqual(again.ran, [], 'the node is recomputed on every run');
});

test('a stale lease of a dead process, and an expired one, block nothing', { timeout: 20_000 }, async () => {
  const ws = workspaceWith(PIPELINE);
  // Key a root node before anything ran, and (after running only gen[seed=1]) a downstream one.
  const root = await show(ws, 'gen[seed=2]');
  assert.equal(root.cached, false);
  const rootKey = root.plan?.key;
  assert.match(rootKey ?? '', /^[0-9a-f]{64}$/);
  const only = await ws.run('basin.yaml', '--only', 'gen[seed=1]');
  assert.deepEqual(only.ran, ['gen[seed=1]']);
  const down = await show(ws, 'post[seed=1]');
  const downKey = down.plan?.key;
  assert.match(downKey ?? '', /^[0-9a-f]{64}$/);
  const expiredKey = (await show(ws, 'gen[seed=3]')).plan?.key;
  assert.match(expiredKey ?? '', /^[0-9a-f]{64}$/);

  const dead = `${hostname()}:999999:abc`;
  const farFuture = Date.now() + 365 * 24 * 3600 * 1000;
  await withLmdb(ws, (db) => {
    const leases = db('leases');
    leases.putSync(rootKey as string, Buffer.from(JSON.stringify({ owner: dead, expiresAt: farFuture })));
    leases.putSync(downKey as string, Buffer.from(JSON.stringify({ owner: dead, expiresAt: farFuture })));
    // Another host (liveness unknowable), but the lease ran out.
    leases.putSync(expiredKey as string, Buffer.from(JSON.stringify({ owner: 'elsewhere.example:4242:def', expiresAt: Date.now() - 60_000 })));
  });

  // Neither counts as another run computing now.
  const status = await ws.basin('status', '--json');
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { running: number }).running, 0);

  // A run that waited for the leases would never finish (the dead owner's lease lasts a year):
  // kill it well before the test timeout and fail, rather than hang.
  const child = ws.start(['run', 'basin.yaml', '--json']);
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const result = await collect(child);
  clearTimeout(guard);
  assert.equal(result.signal, null, 'the run was stuck behind a stale lease and had to be killed');
  const r = new RunOutcome(result);
  assert.equal(r.code, 0, result.stderr);
  assert.deepEqual(r.nodes('node-waiting'), []);
  assert.deepEqual(r.cached, ['gen[seed=1]']);
  assert.deepEqual(r.ran, ALL.filter((n) => n !== 'gen[seed=1]'));

  // Taken over and released with the commits: no lease is left behind.
  const left = await withLmdb(ws, (db) => [...db('leases').getKeys({})]);
  assert.deepEqual(left, []);
  const again = await ws.run();
  assert.deepEqual(again.cached, ALL);
});
