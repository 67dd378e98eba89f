import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { encodeOutputs } from '../../src/fingerprint/artifact-codec.js';
import { asNodeId, type Digest } from '../../src/fingerprint/ids.js';
import { KEY_FORMAT, nodeKey, type FingerprintRecord } from '../../src/fingerprint/key.js';
import type { Outputs } from '../../src/stages/artifact.js';
import { openLmdbStore } from '../../src/store/lmdb-store.js';
import { openMemoryStore, type MemoryStore } from '../../src/store/memory-store.js';
import type { NodeRecord, NodeState, Store } from '../../src/store/types.js';

/** A store under test, with what the contract tests need beyond the Store interface. */
export interface Harness {
  store: Store;
  /** Replace a stored payload's raw value with `bytes` (behind the store's back). */
  corrupt(digest: Digest, bytes: Uint8Array): Promise<void>;
  /** Close and reopen (LMDB: from disk). */
  reopen(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface HarnessFactory {
  readonly name: string;
  create(now?: () => number): Promise<Harness>;
}

export const memoryFactory: HarnessFactory = {
  name: 'memory',
  async create(now) {
    const store: MemoryStore = openMemoryStore(now ? { now } : {});
    return {
      store,
      async corrupt(digest, bytes) {
        store.corruptPayloadForTest(digest, bytes);
      },
      async reopen() {},
      async cleanup() {
        await store.close();
      },
    };
  },
};

export const lmdbFactory: HarnessFactory = {
  name: 'lmdb',
  async create(now) {
    const dir = await mkdtemp(join(tmpdir(), 'basin-store-'));
    const opts = now ? { now } : {};
    const h: Harness = {
      store: await openLmdbStore(dir, opts),
      async corrupt(digest, bytes) {
        // Write garbage straight into the payloads database, with the store closed (one LMDB
        // environment per file per process).
        await h.store.close();
        const raw = open(dir, { maxDbs: 8, compression: false, encoding: 'binary' });
        raw.openDB<Uint8Array, string>('payloads', { encoding: 'binary', compression: false }).putSync(digest, bytes);
        await raw.close();
        h.store = await openLmdbStore(dir, opts);
      },
      async reopen() {
        await h.store.close();
        h.store = await openLmdbStore(dir, opts);
      },
      async cleanup() {
        await h.store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return h;
  },
};

export const factories: readonly HarnessFactory[] = [memoryFactory, lmdbFactory];

export function fingerprint(params: { [k: string]: string | number }): FingerprintRecord {
  return { keyFormat: KEY_FORMAT, kind: 'test', kindVersion: 1, params, inputs: {}, runtime: {}, files: {} };
}

/** A record for `outputs`, its payloads and state, as the engine would commit them. */
export function makeCommit(outputs: Outputs, params: { [k: string]: string | number }, pipeline = 'p', nodeId = 'node') {
  const fp = fingerprint(params);
  const key = nodeKey(fp);
  const enc = encodeOutputs(outputs);
  const record: NodeRecord = {
    format: 1,
    key,
    nodeId: asNodeId(nodeId),
    pipeline,
    fingerprint: fp,
    outputs: enc.refs,
    outputsDigest: enc.outputsDigest,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 5,
    executor: 'local',
  };
  const state: NodeState = { nodeId: asNodeId(nodeId), key, fingerprint: fp, status: 'ok', at: '2026-01-01T00:00:01.000Z' };
  return { record, payloads: enc.payloads, state: { pipeline, state }, key };
}
