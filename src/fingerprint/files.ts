import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { asDigest, type Digest } from './ids.js';
import type { Store } from '../store/types.js';
import type { JsonValue } from '../util/json.js';

/**
 * Content digests of workspace files a stage reads (a `command` stage's deps).
 *
 * file digest = sha256("file\n" + content); directory digest = sha256("dir\n" + one line per
 * entry in code-unit order: `${f|d} ${name}\0${child digest}\n`), so renames, moves between
 * directories and content changes all change it. Symlinks are followed; sockets, FIFOs and
 * devices are skipped. Big files are streamed.
 *
 * Hashing is memoised per file by (absolute path, size, mtimeMs, inode) so that a no-op rerun
 * reads no file contents (DVC's 15-minute no-op repro on large data, dvc#10691, is what to avoid).
 * A file modified within RACY_MS of when hashing began is hashed but not memoised: on file systems
 * with coarse timestamps a same-size rewrite within one tick would otherwise go unseen (git's
 * "racily clean" rule).
 */
export const FILE_MEMO_META_KEY = 'fingerprint/file-hash-memo/1';
const RACY_MS = 2000;
const STREAM_ABOVE = 1 << 20;
const PARALLEL = 4;

type Entry = readonly [size: number, mtimeMs: number, ino: number, digest: Digest];

export class FileHashMemo {
  /** Counters for tests and `--verbose`: memo hits, files actually read, bytes read. */
  readonly stats = { hits: 0, hashed: 0, bytesRead: 0 };
  private dirty = false;

  constructor(private readonly entries = new Map<string, Entry>(), private readonly store?: Store) {}

  lookup(absPath: string, st: Stats): Digest | undefined {
    const e = this.entries.get(absPath);
    if (e === undefined || e[0] !== st.size || e[1] !== st.mtimeMs || e[2] !== st.ino) return undefined;
    this.stats.hits++;
    return e[3];
  }

  remember(absPath: string, st: Stats, digest: Digest, startedAt: number): void {
    if (st.mtimeMs > startedAt - RACY_MS) return;
    this.entries.set(absPath, [st.size, st.mtimeMs, st.ino, digest]);
    this.dirty = true;
  }

  toJson(): JsonValue {
    return { files: Object.fromEntries(this.entries) };
  }

  /** Persists the memo under FILE_MEMO_META_KEY when it changed (a no-op for unbound memos). */
  async save(): Promise<void> {
    if (!this.dirty || this.store === undefined) return;
    this.dirty = false;
    await this.store.putMeta(FILE_MEMO_META_KEY, this.toJson());
  }
}

/**
 * The memo persisted in the store's meta. Concurrent runs may overwrite each other's memo: it is
 * a cache, so the loser only re-reads some files next time. A malformed memo is ignored.
 */
export function fileHashMemo(store: Store): FileHashMemo {
  const entries = new Map<string, Entry>();
  const saved = store.getMeta(FILE_MEMO_META_KEY);
  const files = saved !== null && typeof saved === 'object' && !Array.isArray(saved) ? (saved as { files?: unknown }).files : undefined;
  if (files !== null && typeof files === 'object') {
    for (const [path, e] of Object.entries(files as Record<string, unknown>)) {
      if (Array.isArray(e) && e.length === 4 && e.slice(0, 3).every((n) => typeof n === 'number') && typeof e[3] === 'string' && /^sha256:[0-9a-f]{64}$/.test(e[3])) {
        entries.set(path, [e[0], e[1], e[2], asDigest(e[3])]);
      }
    }
  }
  return new FileHashMemo(entries, store);
}

/**
 * Digests of `paths` (relative to `workdir`, or absolute), keyed by the path as given.
 * Returns `{ missing }` with the first path (or path inside a directory) that does not exist.
 */
export async function hashFiles(
  paths: readonly string[],
  workdir: string,
  memo: FileHashMemo,
): Promise<Record<string, Digest> | { missing: string }> {
  const startedAt = Date.now();
  const out: Record<string, Digest> = {};
  let missing: string | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (missing === undefined && next < paths.length) {
      const path = paths[next++]!;
      const result = await hashPath(resolve(workdir, path), path, memo, startedAt, new Set());
      if (typeof result === 'string') out[path] = result;
      else missing ??= result.missing;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, paths.length) }, worker));
  if (missing !== undefined) return { missing };
  // Keys in the order given, whatever order the workers finished in.
  return Object.fromEntries(paths.map((p) => [p, out[p]!]));
}

async function hashPath(abs: string, shown: string, memo: FileHashMemo, startedAt: number, ancestors: Set<string>): Promise<Digest | { missing: string }> {
  let st: Stats;
  try {
    st = await stat(abs);
  } catch (e) {
    if (isMissing(e)) return { missing: shown };
    throw e;
  }
  if (st.isDirectory()) return hashDirectory(abs, shown, st, memo, startedAt, ancestors);
  if (!st.isFile()) throw new Error(`${shown} is neither a file nor a directory`);
  const known = memo.lookup(abs, st);
  if (known !== undefined) return known;
  const hash = createHash('sha256').update('file\n');
  try {
    await hashContent(abs, st.size, hash, memo);
  } catch (e) {
    if (isMissing(e)) return { missing: shown };
    throw e;
  }
  const digest = asDigest('sha256:' + hash.digest('hex'));
  memo.remember(abs, st, digest, startedAt);
  return digest;
}

async function hashContent(abs: string, size: number, hash: Hash, memo: FileHashMemo): Promise<void> {
  memo.stats.hashed++;
  if (size <= STREAM_ABOVE) {
    const bytes = await readFile(abs);
    memo.stats.bytesRead += bytes.byteLength;
    hash.update(bytes);
    return;
  }
  for await (const chunk of createReadStream(abs, { highWaterMark: STREAM_ABOVE })) {
    memo.stats.bytesRead += (chunk as Buffer).byteLength;
    hash.update(chunk as Buffer);
  }
}

async function hashDirectory(abs: string, shown: string, st: Stats, memo: FileHashMemo, startedAt: number, ancestors: Set<string>): Promise<Digest | { missing: string }> {
  // Followed symlinks can loop back to an ancestor: stop with a clear error instead of recursing forever.
  const id = `${st.dev}:${st.ino}`;
  if (ancestors.has(id)) throw new Error(`${shown} is a symlink loop (it contains one of its own ancestors)`);
  const inner = new Set(ancestors).add(id);
  let names: string[];
  try {
    names = (await readdir(abs)).sort();
  } catch (e) {
    if (isMissing(e)) return { missing: shown };
    throw e;
  }
  const hash = createHash('sha256').update('dir\n');
  for (const name of names) {
    const childAbs = join(abs, name);
    const childShown = `${shown}/${name}`;
    let childStat: Stats;
    try {
      childStat = await stat(childAbs);
    } catch (e) {
      if (isMissing(e)) continue; // a dangling symlink, or removed since readdir: not content
      throw e;
    }
    if (!childStat.isFile() && !childStat.isDirectory()) continue;
    const child = await hashPath(childAbs, childShown, memo, startedAt, inner);
    if (typeof child !== 'string') return child;
    hash.update(`${childStat.isDirectory() ? 'd' : 'f'} ${name}\0${child}\n`);
  }
  return asDigest('sha256:' + hash.digest('hex'));
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
