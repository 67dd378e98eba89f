/**
 * A quick measurement, not a test: 1000 concurrent commits of tiny records, 10,000 getRecord
 * lookups, 10,000 verified getPayload reads, on a fresh LMDB store.
 * Run: npx tsc -p tsconfig.json && node dist/test/store/commit.bench.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import { makeCommit } from './harness.js';

const dir = await mkdtemp(join(tmpdir(), 'basin-bench-'));
try {
  const store = await openLmdbStore(dir);
  const commits = Array.from({ length: 1000 }, (_, i) => makeCommit({ v: { type: 'json', value: { i, loss: i / 7 } } }, { i }, 'bench', `n${i}`));
  let t = performance.now();
  await Promise.all(commits.map((c) => store.commit(c.record, c.payloads, c.state)));
  console.log(`1000 concurrent commits: ${(performance.now() - t).toFixed(1)} ms`);

  const more = Array.from({ length: 100 }, (_, i) => makeCommit({ v: { type: 'json', value: `m${i}` } }, { j: i }, 'bench', `m${i}`));
  t = performance.now();
  for (const c of more) await store.commit(c.record, c.payloads, c.state);
  console.log(`100 sequential commits: ${(performance.now() - t).toFixed(1)} ms (${((performance.now() - t) / 100).toFixed(2)} ms each)`);

  t = performance.now();
  let found = 0;
  for (let i = 0; i < 10_000; i++) if (store.getRecord(commits[(i * 7919) % 1000]!.key)) found++;
  console.log(`10,000 getRecord: ${(performance.now() - t).toFixed(1)} ms (${found} found)`);

  t = performance.now();
  for (let i = 0; i < 10_000; i++) store.getPayload(commits[(i * 7919) % 1000]!.record.outputs['v']!.digest);
  console.log(`10,000 verified getPayload: ${(performance.now() - t).toFixed(1)} ms`);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
