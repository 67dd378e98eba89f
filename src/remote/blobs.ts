import type { Redis } from 'ioredis';
import { digestFrame, framePayload, headerOf, unframePayload, type PayloadHeader } from '../fingerprint/artifact-codec.js';
import type { Digest } from '../fingerprint/ids.js';

/**
 * Payloads in Redis, by digest, as frames (header line + bytes: what the digest is of), under one
 * run's key space. A frame is stored as a list of chunks (1 MiB each: no single command moves
 * hundreds of megabytes, so Redis stays responsive for everyone else), written under a temporary
 * name and renamed into place, so a reader sees either nothing or the whole frame. Every read is
 * verified against the digest.
 */
export const CHUNK_BYTES = 1 << 20;
const CHUNKS_PER_COMMAND = 8;

/** A frame fetched from Redis did not hash to its digest, or changed while it was read. */
export class BlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlobError';
  }
}

export interface BlobSpace {
  readonly redis: Redis;
  /** Key prefix of this space, e.g. `basin:run:<id>:in:` (see runKeys). */
  readonly prefix: string;
  /** Expiry of every blob written, a backstop for runs that die without cleaning up. */
  readonly ttlMs: number;
}

/**
 * Stores a payload (its bytes, framed with the header of `ref` as the store keeps it, so the
 * frame verifies on its own) unless it is already there. Returns whether it wrote.
 */
export async function putBlob(space: BlobSpace, ref: PayloadHeader & { readonly digest: Digest }, bytes: Uint8Array): Promise<boolean> {
  const key = space.prefix + ref.digest;
  if ((await space.redis.exists(key)) === 1) return false;
  const frame = framePayload(headerOf(ref), bytes);
  const tmp = `${key}:partial:${process.pid}:${Math.random().toString(36).slice(2)}`;
  try {
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const chunks: Buffer[] = [];
    for (let at = 0; at < buf.byteLength || chunks.length === 0; at += CHUNK_BYTES) chunks.push(buf.subarray(at, at + CHUNK_BYTES));
    for (let i = 0; i < chunks.length; i += CHUNKS_PER_COMMAND) {
      await space.redis.rpush(tmp, ...chunks.slice(i, i + CHUNKS_PER_COMMAND));
      if (i === 0) await space.redis.pexpire(tmp, space.ttlMs);
    }
    await space.redis.multi().rename(tmp, key).pexpire(key, space.ttlMs).exec();
    return true;
  } catch (e) {
    await space.redis.del(tmp).catch(() => undefined);
    throw e;
  }
}

/** The payload bytes under `digest`, verified; `undefined` when absent. Throws BlobError on a mismatch. */
export async function getBlob(space: BlobSpace, digest: Digest): Promise<Uint8Array | undefined> {
  const key = space.prefix + digest;
  const n = await space.redis.llen(key);
  if (n === 0) return undefined;
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i += CHUNKS_PER_COMMAND) parts.push(...(await space.redis.lrangeBuffer(key, i, i + CHUNKS_PER_COMMAND - 1)));
  if (parts.length !== n) throw new BlobError(`payload ${digest} changed while it was read (${parts.length} of ${n} chunks)`);
  const frame = new Uint8Array(Buffer.concat(parts));
  const actual = digestFrame(frame);
  const bytes = actual === digest ? unframePayload(frame) : undefined;
  if (!bytes) throw new BlobError(`payload ${digest} arrived with digest ${actual}: it was damaged in transit or in Redis`);
  return bytes;
}

export async function deleteBlobs(space: BlobSpace, digests: Iterable<Digest>): Promise<void> {
  const keys = [...digests].map((d) => space.prefix + d);
  for (let i = 0; i < keys.length; i += 256) await space.redis.del(...keys.slice(i, i + 256));
}
