import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArtifact } from '../../src/fingerprint/artifact-codec.js';
import { asNodeId, asNodeKey } from '../../src/fingerprint/ids.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';

/**
 * Several processes on one LMDB store: the cases a single process cannot show (lease races
 * between writers, a writer killed mid-commit, visibility of another process's writes).
 * Children are small .mjs scripts importing the compiled store by absolute file URL.
 */
const storeUrl = new URL('../../src/store/lmdb-store.js', import.meta.url).href;
const harnessUrl = new URL('./harness.js', import.meta.url).href;
const TIMEOUT = 120_000;

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'basin-lmdb-proc-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, `import { openLmdbStore, makeOwner } from ${JSON.stringify(storeUrl)};\nimport { makeCommit } from ${JSON.stringify(harnessUrl)};\n${body}`);
  return path;
}

interface Child {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Resolves with the first stdout line matching `re` (rejects if the child exits first). */
  line(re: RegExp): Promise<string>;
  lines(): string[];
  exited: Promise<number | null>;
}

function start(path: string, args: string[]): Child {
  const proc = spawn(process.execPath, [path, ...args], { stdio: 'pipe' });
  const seen: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let stderr = '';
  let buffered = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const l = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      seen.push(l);
      for (const w of [...waiters]) if (w.re.test(l)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(l));
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`child exited (${code}) before printing ${w.re}: ${stderr}`));
      resolve(code);
    }),
  );
  return {
    proc,
    exited,
    lines: () => seen,
    line: (re) =>
      new Promise((resolve, reject) => {
        const hit = seen.find((l) => re.test(l));
        if (hit !== undefined) return resolve(hit);
        if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`child already exited: ${stderr}`));
        waiters.push({ re, resolve, reject });
      }),
  };
}

describe('lmdb store across processes', { timeout: TIMEOUT }, () => {
  test('two processes racing for the same 50 leases: each key goes to exactly one', async (t) => {
    const dir = join(tmp, 'leases');
    const keys = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(64, '0'));
    const path = await script(
      'race.mjs',
      `const [dir, keysJson] = process.argv.slice(2);
const store = await openLmdbStore(dir);
const me = makeOwner();
const keys = JSON.parse(keysJson).sort(() => Math.random() - 0.5);
console.log('ready');
await new Promise((r) => process.stdin.once('data', r));
const got = [];
// Spread the attempts over several transactions so the two writers interleave.
await Promise.all(keys.map(async (k, i) => {
  await new Promise((r) => setTimeout(r, i % 7));
  if (await store.acquireLease(k, me, 600000)) got.push(k);
}));
console.log(JSON.stringify({ me, got }));
// Stay alive until told: a dead owner's leases may be taken over, which is not this test.
process.stdin.resume();
process.stdin.on('end', async () => { await store.close(); process.exit(0); });
`,
    );
    const children = [start(path, [dir, JSON.stringify(keys)]), start(path, [dir, JSON.stringify(keys)])];
    await Promise.all(children.map((c) => c.line(/^ready$/)));
    for (const c of children) c.proc.stdin.write('go\n');
    const results = await Promise.all(children.map(async (c) => JSON.parse(await c.line(/^\{/)) as { me: string; got: string[] }));
    for (const c of children) c.proc.stdin.end();
    assert.deepEqual(await Promise.all(children.map((c) => c.exited)), [0, 0]);

    const [a, b] = results as [{ me: string; got: string[] }, { me: string; got: string[] }];
    assert.equal(a.got.filter((k) => b.got.includes(k)).length, 0, 'no key acquired by both');
    assert.deepEqual([...a.got, ...b.got].sort(), keys);
    t.diagnostic(`split ${a.got.length}/${b.got.length}`);
    const store = await openLmdbStore(dir);
    try {
      for (const k of a.got) assert.equal(store.getLease(asNodeKey(k))?.owner, a.me);
      for (const k of b.got) assert.equal(store.getLease(asNodeKey(k))?.owner, b.me);
    } finally {
      await store.close();
    }
  });

  test('a writer killed with SIGKILL mid-commit leaves only complete records', async (t) => {
    const dir = join(tmp, 'killed');
    const path = await script(
      'writer.mjs',
      `import { randomBytes } from 'node:crypto';
const store = await openLmdbStore(process.argv[2]);
let i = 0;
const one = async () => {
  const n = i++;
  const big = new Float32Array(randomBytes(256 * 1024).buffer);
  const c = makeCommit({
    weights: { type: 'array', dtype: 'float32', shape: [big.length], data: big },
    metrics: { type: 'json', value: { n } },
    log: { type: 'bytes', data: randomBytes(1000 + n), mediaType: 'text/plain' },
  }, { n }, 'p', 'node' + n);
  await store.commit(c.record, c.payloads, c.state);
  console.log('committed ' + c.key + ' node' + n);
};
// Four commits in flight at all times, until killed.
await Promise.all([0, 1, 2, 3].map(async () => { for (;;) await one(); }));
`,
    );
    const child = start(path, [dir]);
    // Wait for a good number of commits so the kill lands while writes are in flight.
    await child.line(/^committed .* node40$/);
    child.proc.kill('SIGKILL');
    await child.exited;
    const acknowledged = child.lines().filter((l) => l.startsWith('committed ')).map((l) => l.split(' ') as [string, string, string]);
    assert.ok(acknowledged.length >= 40);

    const store = await openLmdbStore(dir);
    try {
      const records = [...store.listRecords()];
      t.diagnostic(`${acknowledged.length} commits acknowledged, ${records.length} records after the kill`);
      assert.ok(records.length >= acknowledged.length, 'every acknowledged commit survived');
      for (const [, key] of acknowledged) assert.ok(store.getRecord(asNodeKey(key)), key);
      for (const r of records) {
        for (const ref of Object.values(r.outputs)) {
          const bytes = store.getPayload(ref.digest); // throws CorruptPayload on a torn write
          assert.ok(bytes, `record ${r.nodeId} lacks payload ${ref.digest}`);
          decodeArtifact(ref, bytes);
        }
        assert.equal(store.getState('p', r.nodeId)?.key, r.key, 'the state was committed with its record');
      }
      // No payload outlived its record's transaction either: every stored payload is referenced.
      const referenced = new Set(records.flatMap((r) => Object.values(r.outputs).map((o) => o.digest)));
      for (const p of store.listPayloads()) assert.ok(referenced.has(p.digest), `orphan payload ${p.digest}`);
      // The store still takes writes after the crash (stale reader slots were cleared).
      assert.equal(await store.acquireLease(asNodeKey('f'.repeat(64)), 'x:1:y', 1000), true);
    } finally {
      await store.close();
    }
  });

  test('a write by one process is visible to another after refresh()', async () => {
    const dir = join(tmp, 'visible');
    const store = await openLmdbStore(dir);
    try {
      assert.equal(store.getMeta('from-child'), undefined);
      const path = await script(
        'visible.mjs',
        `const store = await openLmdbStore(process.argv[2]);
const c = makeCommit({ v: { type: 'json', value: 'hi' } }, { child: 1 }, 'p', 'child-node');
await store.commit(c.record, c.payloads, c.state);
await store.putMeta('from-child', { pid: process.pid });
console.log('wrote ' + c.key);
process.stdin.resume();
process.stdin.on('end', async () => { await store.close(); process.exit(0); });
`,
      );
      const child = start(path, [dir]);
      const key = asNodeKey((await child.line(/^wrote /)).slice('wrote '.length));
      store.refresh();
      assert.deepEqual(store.getMeta('from-child'), { pid: child.proc.pid });
      const record = store.getRecord(key);
      assert.ok(record);
      assert.deepEqual(decodeArtifact(record.outputs['v']!, store.getPayload(record.outputs['v']!.digest)!), { type: 'json', value: 'hi' });
      assert.equal(store.getState('p', asNodeId('child-node'))?.key, key);
      child.proc.stdin.end();
      assert.equal(await child.exited, 0);
    } finally {
      await store.close();
    }
  });
});
