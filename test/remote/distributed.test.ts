import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { encodeOutputs } from '../../src/fingerprint/artifact-codec.js';
import type { Digest, NodeId } from '../../src/fingerprint/ids.js';
import { BlobError, CHUNK_BYTES, getBlob, putBlob } from '../../src/remote/blobs.js';
import type { RunEvent } from '../../src/run/events.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import { collect, RunOutcome, workspaceWith, type Workspace } from '../engine/rig.js';
import { freePort, killAll, redisSkip, startRedis, startWorker } from './redis-rig.js';

after(killAll);

const SWEEP = `version: 1
name: sweep
stages:
  data: { kind: probe, with: { value: 1, arrayLength: 700000 } }
  train:
    kind: probe
    matrix: { seed: [0, 1, 2, 3, 4, 5] }
    inputs: { data: data }
    with: { value: 2, seed: "\${matrix.seed}", busyMs: 150, steps: 3, arrayLength: 1000 }
  hessian: { kind: probe, foreach: train, inputs: { model: train, data: data }, with: { value: 3, arrayLength: 10 } }
  summary: { kind: probe, inputs: { models: train, hessian: hessian } }
`;

/** Every node's output-manifest digest and executor, as the run left them in the cache. */
async function outputsOf(cache: string, pipeline: string, nodes: readonly string[]): Promise<Map<string, { digest: Digest; executor: string }>> {
  const store = await openLmdbStore(cache);
  try {
    const out = new Map<string, { digest: Digest; executor: string }>();
    for (const id of nodes) {
      const state = store.getState(pipeline, id as NodeId);
      const record = state ? store.getRecord(state.key) : undefined;
      assert.ok(record, `${id} has no record in ${cache}`);
      out.set(id, { digest: record.outputsDigest, executor: record.executor });
    }
    return out;
  } finally {
    await store.close();
  }
}

function remoteRun(ws: Workspace, url: string, ...args: string[]) {
  return ws.start(['run', '--json', '--executor', 'bullmq', '--redis', url, ...args]);
}

/** Resolves with the events so far once one matches; the child keeps running. */
function waitForEvent(child: ReturnType<Workspace['start']>, match: (e: RunEvent) => boolean): Promise<RunEvent> {
  let buf = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim()) continue;
        const e = JSON.parse(l) as RunEvent;
        if (match(e)) resolve(e);
      }
    });
    child.on('exit', () => reject(new Error('the run ended before the event came')));
  });
}

describe('distributed runs on BullMQ', { skip: redisSkip, timeout: 120_000 }, () => {
  it('one coordinator and three workers store the same artifact digests as a local run', async () => {
    const redis = await startRedis();
    const ws = workspaceWith(SWEEP);
    const workers = ['w1', 'w2', 'w3'].map((name) => startWorker(ws.dir, '--redis', redis.url, '--name', name, '--jobs', '1'));
    await Promise.all(workers.map((w) => w.waitFor('taking jobs')));

    const remote = new RunOutcome(await collect(remoteRun(ws, redis.url)));
    assert.equal(remote.code, 0, remote.result.stderr + remote.result.stdout.split('\n').filter((l) => l.includes('node-failed')).join('\n'));
    const elsewhere = workspaceWith(SWEEP); // its own cache
    const local = await elsewhere.run('basin.yaml');
    assert.equal(local.code, 0, local.result.stderr);
    assert.deepEqual(remote.ran, local.ran);
    assert.equal(remote.ran.length, 14);

    const placed = remote.events.filter((e) => e.type === 'node-placed');
    assert.equal(placed.length, 14, 'every node says which worker took it');
    const [r, l] = await Promise.all([outputsOf(ws.cache, 'sweep', remote.ran), outputsOf(elsewhere.cache, 'sweep', local.ran)]);
    for (const id of remote.ran) {
      assert.equal(r.get(id)?.digest, l.get(id)?.digest, `${id}: remote and local outputs differ`);
      assert.match(r.get(id)?.executor ?? '', /^bullmq:w[123]$/);
      assert.equal(l.get(id)?.executor, 'local');
    }
    // A second remote run is all cache hits: nothing is enqueued.
    const again = new RunOutcome(await collect(remoteRun(ws, redis.url)));
    assert.equal(again.code, 0);
    assert.equal(again.cached.length, 14);

    // The run left nothing of its own in Redis: payloads and the run's keys are gone.
    const client = new Redis(redis.url);
    try {
      assert.deepEqual(await client.keys('basin:*'), []);
    } finally {
      client.disconnect();
    }
    for (const w of workers) assert.equal(await w.stop(), 0);
    assert.match(workers.map((w) => w.output()).join('\n'), /\d+ ran, 0 failed, 0 refused/);
    await redis.stop();
  });

  it('a worker killed with SIGKILL in the middle of a stage loses its job to another, and the run completes', async () => {
    const redis = await startRedis();
    const ws = workspaceWith(`version: 1
name: long
stages:
  slow: { kind: probe, with: { value: 7, busyMs: 6000, steps: 60, arrayLength: 10 } }
`);
    const doomed = startWorker(ws.dir, '--redis', redis.url, '--name', 'doomed', '--lock-ms', '2000');
    await doomed.waitFor('taking jobs');
    const run = remoteRun(ws, redis.url);
    const outcome = collect(run);
    await waitForEvent(run, (e) => e.type === 'node-progress');
    doomed.child.kill('SIGKILL');
    const rescuer = startWorker(ws.dir, '--redis', redis.url, '--name', 'rescuer', '--lock-ms', '2000');
    const done = new RunOutcome(await outcome);
    assert.equal(done.code, 0, done.result.stderr);
    const placed = done.events.flatMap((e) => (e.type === 'node-placed' ? [e.worker] : []));
    assert.deepEqual(placed, ['doomed', 'rescuer']);
    assert.deepEqual(done.ran, ['slow']);
    const out = await outputsOf(ws.cache, 'long', ['slow']);
    assert.equal(out.get('slow')?.executor, 'bullmq:rescuer');
    await rescuer.stop();
    await redis.stop();
  });

  it('a coordinator killed with SIGKILL: the rerun reuses what was stored and the dead run leaves no payloads behind', async () => {
    const redis = await startRedis();
    const ws = workspaceWith(`version: 1
name: resume
stages:
  step:
    kind: probe
    matrix: { i: [0, 1, 2, 3, 4, 5] }
    with: { value: "\${matrix.i}", sleepMs: 700, steps: 2 }
`);
    const worker = startWorker(ws.dir, '--redis', redis.url, '--name', 'w', '--jobs', '1');
    await worker.waitFor('taking jobs');
    const first = remoteRun(ws, redis.url, '-j', '6');
    let done = 0;
    await waitForEvent(first, (e) => e.type === 'node-done' && ++done === 2);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    const again = new RunOutcome(await collect(remoteRun(ws, redis.url, '-j', '6')));
    assert.equal(again.code, 0, again.result.stderr);
    assert.ok(again.cached.length >= 2, `the two finished nodes are reused: ${again.cached.join(', ')}`);
    assert.equal(again.cached.length + again.ran.length, 6);
    // Jobs the dead coordinator had queued are dropped, or run for nothing while its run still looked
    // alive; what they left in Redis expires on its own (the next coordinator deletes it sooner).
    const client = new Redis(redis.url);
    try {
      // basin:runs lists run ids whose keys the next coordinator checks; the rest must expire.
      for (const key of (await client.keys('basin:*')).filter((k) => k !== 'basin:runs')) {
        const ttl = await client.pttl(key);
        assert.ok(ttl > 0 && ttl <= 10 * 60_000, `${key} expires within 10 minutes (pttl ${ttl})`);
      }
    } finally {
      client.disconnect();
    }
    await worker.stop();
    await redis.stop();
  });

  it('a worker refuses a shell stage unless started with --allow-shell, and the run says why', async () => {
    const redis = await startRedis();
    const ws = workspaceWith(`version: 1
name: shell
stages:
  hello: { kind: command, with: { run: "echo hi > out.txt", outs: [out.txt] } }
`);
    const strict = startWorker(ws.dir, '--redis', redis.url, '--name', 'strict');
    await strict.waitFor('taking jobs');
    const refused = new RunOutcome(await collect(remoteRun(ws, redis.url)));
    assert.equal(refused.code, 1);
    const failed = refused.events.find((e) => e.type === 'node-failed');
    assert.ok(failed && failed.type === 'node-failed');
    assert.equal(failed.failure.reason, 'executor');
    assert.match(failed.failure.message, /worker strict refused the job: command stages run shell commands.*--allow-shell/);
    await strict.stop();

    const trusting = startWorker(ws.dir, '--redis', redis.url, '--name', 'trusting', '--allow-shell');
    await trusting.waitFor('taking jobs');
    const ok = new RunOutcome(await collect(remoteRun(ws, redis.url)));
    assert.equal(ok.code, 0, ok.result.stderr);
    await trusting.stop();

    // A worker whose --workdir lacks a dep of the key refuses, even for a stage that loads no inputs.
    ws.write('in.txt', 'data\n').write('basin.yaml', 'version: 1\nname: shell\nstages:\n  hello: { kind: command, with: { run: "cat in.txt", deps: [in.txt] } }\n');
    const elsewhere = startWorker(ws.dir, '--redis', redis.url, '--name', 'elsewhere', '--allow-shell', '--workdir', mkdtempSync(join(tmpdir(), 'basin-empty-')));
    await elsewhere.waitFor('taking jobs');
    const missing = new RunOutcome(await collect(remoteRun(ws, redis.url)));
    assert.equal(missing.code, 1);
    assert.match(JSON.stringify(missing.events.find((e) => e.type === 'node-failed')), /worker elsewhere refused the job: workspace file \\"in.txt\\" is missing under/);
    await elsewhere.stop();
    await redis.stop();
  });

  it('no Redis: exit 1, one clear line, credentials masked', async () => {
    const ws = workspaceWith(SWEEP);
    const port = await freePort();
    const r = await ws.basin('run', '--executor', 'bullmq', '--redis', `redis://basin:s3cret@127.0.0.1:${port}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`basin: cannot reach Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\): start redis-server`));
    assert.doesNotMatch(r.stderr + r.stdout, /s3cret/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

    const w = await collect(startWorker(ws.dir, '--redis', `redis://127.0.0.1:${port}`).child);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1/);
  });

  it('Redis stopping in the middle of a run fails it with exit 1 and keeps what finished', async () => {
    const redis = await startRedis();
    const ws = workspaceWith(`version: 1
name: outage
stages:
  first: { kind: probe, with: { value: 1 } }
  second: { kind: probe, inputs: { x: first }, with: { value: 2, busyMs: 20000, steps: 200 } }
`);
    const worker = startWorker(ws.dir, '--redis', redis.url, '--name', 'w');
    await worker.waitFor('taking jobs');
    const run = remoteRun(ws, redis.url);
    const outcome = collect(run);
    await waitForEvent(run, (e) => e.type === 'node-progress' && e.node === 'second');
    await redis.stop();
    const done = new RunOutcome(await outcome);
    assert.equal(done.code, 1);
    const failed = done.events.find((e) => e.type === 'node-failed');
    assert.ok(failed && failed.type === 'node-failed');
    assert.equal(failed.node, 'second');
    assert.equal(failed.failure.reason, 'executor');
    assert.match(failed.failure.message, /lost Redis at redis:\/\/127\.0\.0\.1:\d+ .*run again when Redis is back/);
    // `first` finished before the outage and is stored: a local rerun reuses it.
    const again = await ws.run('basin.yaml', '--only', 'first');
    assert.deepEqual(again.cached, ['first']);
    // The worker gives up after its reconnection attempts (about 15 s) and exits 1, saying why.
    const code = worker.child.exitCode ?? (await new Promise((resolve) => worker.child.once('exit', resolve)));
    assert.equal(code, 1);
    assert.match(worker.output(), /basin: lost Redis at redis:\/\/127\.0\.0\.1:\d+ and could not reconnect/);
  });

  it('payloads cross Redis in chunks and every read is verified against its digest', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url);
    try {
      const data = new Float32Array((2.5 * CHUNK_BYTES) / 4).map((_, i) => Math.sin(i));
      const { refs, payloads } = encodeOutputs({ a: { type: 'array', dtype: 'float32', shape: [data.length], data } });
      const ref = refs['a']!;
      const space = { redis: client, prefix: 'basin:test:', ttlMs: 60_000 };
      assert.equal(await putBlob(space, ref, payloads.get(ref.digest)!), true);
      assert.equal(await putBlob(space, ref, payloads.get(ref.digest)!), false, 'a second put of the same digest writes nothing');
      assert.equal(await client.llen(`basin:test:${ref.digest}`), 3);
      const back = await getBlob(space, ref.digest);
      assert.deepEqual(back, payloads.get(ref.digest));
      assert.equal(await getBlob(space, 'sha256:00' as Digest), undefined);
      await client.lset(`basin:test:${ref.digest}`, 1, Buffer.alloc(CHUNK_BYTES));
      await assert.rejects(getBlob(space, ref.digest), BlobError);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
