import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { NodeKey } from '../fingerprint/ids.js';
import { CorruptPayload, type NodeRecord, type Store } from '../store/types.js';

export type HitCheck =
  | { readonly hit: true; readonly record: NodeRecord }
  | { readonly hit: false; readonly problem?: string };

/**
 * A hit is reported only when the record AND every payload it names are present and verify
 * against their digests: a phantom hit (record without artifact) is the classic cache bug.
 * A corrupt payload is dropped with its record, so the node is recomputed, never served.
 */
export async function checkHit(store: Store, key: NodeKey): Promise<HitCheck> {
  const record = store.getRecord(key);
  if (!record) return { hit: false };
  for (const [name, ref] of Object.entries(record.outputs)) {
    let problem: string | undefined;
    try {
      const bytes = store.getPayload(ref.digest);
      if (!bytes) problem = `output "${name}" of the cached record is missing from the store`;
      else if (bytes.byteLength !== ref.bytes) problem = `output "${name}" has ${bytes.byteLength} bytes, the record says ${ref.bytes}`;
    } catch (e) {
      if (!(e instanceof CorruptPayload)) throw e;
      problem = `output "${name}" is corrupt in the store (${e.message})`;
    }
    if (problem) {
      // Drop the payload entry too (whatever is left of it), or the next commit would trust it.
      await store.dropPayload(ref.digest);
      await store.dropRecord(key);
      return { hit: false, problem };
    }
  }
  return { hit: true, record };
}

/**
 * Writes a cached node's file outputs back into the workspace (a `command` stage's outs), skipping
 * files that already hold the same bytes. Each file is written to a temporary name and renamed, so
 * a kill never leaves a half-written out.
 */
export async function restoreFiles(
  store: Store,
  record: NodeRecord,
  files: readonly { readonly output: string; readonly path: string }[],
  workdir: string,
): Promise<number> {
  let written = 0;
  for (const { output, path } of files) {
    const ref = record.outputs[output];
    if (!ref) continue;
    const bytes = store.getPayload(ref.digest);
    if (!bytes) throw new Error(`internal error: payload of ${output} vanished after the hit check`);
    const target = resolve(workdir, path);
    const current = await readFile(target).catch(() => undefined);
    if (current && Buffer.compare(current, bytes) === 0) continue;
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.basin-tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, target);
    written++;
  }
  return written;
}
