import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FILE_MEMO_META_KEY, FileHashMemo, fileHashMemo, hashFiles } from './files.js';
import { openMemoryStore } from '../store/memory-store.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'basin-files-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const fileDigest = (content: string | Buffer) => 'sha256:' + createHash('sha256').update('file\n').update(content).digest('hex');
const past = new Date(Date.now() - 60_000);

/** A fresh workspace; files get an mtime in the past so the memo may keep them (see RACY_MS). */
async function workspace(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(root, 'ws-'));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
    await utimes(join(dir, rel), past, past);
  }
  return dir;
}

async function digests(paths: string[], dir: string, memo = new FileHashMemo()) {
  const r = await hashFiles(paths, dir, memo);
  if ('missing' in r && typeof r.missing === 'string') assert.fail(`unexpectedly missing: ${r.missing}`);
  return r as Record<string, string>;
}

test('a file digest is sha256 of "file\\n" + content, keyed by the path as given', async () => {
  const dir = await workspace({ 'a.txt': 'hello', 'sub/b.txt': '' });
  const r = await digests(['a.txt', 'sub/b.txt', join(dir, 'a.txt')], dir);
  assert.deepEqual(r, { 'a.txt': fileDigest('hello'), 'sub/b.txt': fileDigest(''), [join(dir, 'a.txt')]: fileDigest('hello') });
});

test('big files are streamed and hash the same', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const dir = await workspace({ 'big.bin': big });
  const memo = new FileHashMemo();
  assert.deepEqual(await digests(['big.bin'], dir, memo), { 'big.bin': fileDigest(big) });
  assert.equal(memo.stats.bytesRead, big.length);
});

test('a missing path is reported, not thrown', async () => {
  const dir = await workspace({ 'a.txt': 'x' });
  assert.deepEqual(await hashFiles(['a.txt', 'nope/data.csv'], dir, new FileHashMemo()), { missing: 'nope/data.csv' });
  assert.deepEqual(await hashFiles(['a.txt/inner'], dir, new FileHashMemo()), { missing: 'a.txt/inner' });
});

test('directories hash recursively: content, names and structure all count, creation order does not', async () => {
  const one = await workspace({ 'd/x.txt': '1', 'd/y/z.txt': '2' });
  const two = await workspace({ 'd/y/z.txt': '2', 'd/x.txt': '1' });
  const base = (await digests(['d'], one))['d'];
  assert.equal((await digests(['d'], two))['d'], base);
  const variants = [
    await workspace({ 'd/x.txt': '1', 'd/y/z.txt': '3' }), // content
    await workspace({ 'd/w.txt': '1', 'd/y/z.txt': '2' }), // a name
    await workspace({ 'd/x.txt': '1', 'd/z.txt': '2' }), // moved up a level
    await workspace({ 'd/x.txt': '1', 'd/y/z.txt': '2', 'd/y/e.txt': '' }), // an added empty file
  ];
  for (const v of variants) assert.notEqual((await digests(['d'], v))['d'], base);
  // An empty directory differs from an empty file.
  const empty = await workspace({});
  await mkdir(join(empty, 'e'));
  await writeFile(join(empty, 'f'), '');
  const r = await digests(['e', 'f'], empty);
  assert.notEqual(r['e'], r['f']);
});

test('a symlink loop is an error, not a hang', async () => {
  const dir = await workspace({ 'd/x.txt': '1' });
  await symlink('..', join(dir, 'd', 'up'));
  await assert.rejects(hashFiles(['d'], dir, new FileHashMemo()), /symlink loop/);
});

test('the memo skips unchanged files and re-reads changed ones', async () => {
  const dir = await workspace({ 'a.txt': 'aaaa', 'd/b.txt': 'bbbb' });
  const memo = new FileHashMemo();
  const first = await digests(['a.txt', 'd'], dir, memo);
  assert.equal(memo.stats.hashed, 2);
  const second = await digests(['a.txt', 'd'], dir, memo);
  assert.deepEqual(second, first);
  assert.equal(memo.stats.hashed, 2, 'no re-read');
  assert.equal(memo.stats.hits, 2);

  // Same size, new content, new mtime: re-read.
  await writeFile(join(dir, 'a.txt'), 'AAAA');
  await utimes(join(dir, 'a.txt'), new Date(past.getTime() + 1000), new Date(past.getTime() + 1000));
  const third = await digests(['a.txt', 'd'], dir, memo);
  assert.equal(third['a.txt'], fileDigest('AAAA'));
  assert.equal(memo.stats.hashed, 3);

  // Replaced by another file (new inode) with the same size and mtime: re-read.
  await writeFile(join(dir, 'tmp'), 'XXXX');
  await utimes(join(dir, 'tmp'), new Date(past.getTime() + 1000), new Date(past.getTime() + 1000));
  await rename(join(dir, 'tmp'), join(dir, 'a.txt'));
  assert.equal((await digests(['a.txt'], dir, memo))['a.txt'], fileDigest('XXXX'));
  assert.equal(memo.stats.hashed, 4);
});

test('a file modified just now is hashed but not memoised (racily clean)', async () => {
  const dir = await workspace({});
  await writeFile(join(dir, 'fresh.txt'), 'new');
  const memo = new FileHashMemo();
  await digests(['fresh.txt'], dir, memo);
  await digests(['fresh.txt'], dir, memo);
  assert.equal(memo.stats.hashed, 2);
});

test('the memo persists through store meta, so a no-op rerun reads nothing', async () => {
  const dir = await workspace({ 'a.txt': 'aaaa', 'd/b.txt': 'bbbb' });
  const store = openMemoryStore();
  const memo = fileHashMemo(store);
  const first = await digests(['a.txt', 'd'], dir, memo);
  await memo.save();
  assert.ok(store.getMeta(FILE_MEMO_META_KEY));

  const again = fileHashMemo(store);
  assert.deepEqual(await digests(['a.txt', 'd'], dir, again), first);
  assert.deepEqual(again.stats, { hits: 2, hashed: 0, bytesRead: 0 });

  await store.putMeta(FILE_MEMO_META_KEY, { files: { x: 'garbage' } });
  const tolerant = fileHashMemo(store);
  assert.deepEqual(await digests(['a.txt'], dir, tolerant), { 'a.txt': first['a.txt'] });
});
