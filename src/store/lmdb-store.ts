import { mkdir } from 'node:fs/promises';
import { open, type Database, type RootDatabase } from 'lmdb';
import { digestFrame, unframePayload } from '../fingerprint/artifact-codec.js';
import { asDigest, asNodeKey, type Digest, type NodeId, type NodeKey } from '../fingerprint/ids.js';
import type { JsonValue } from '../util/json.js';
import { checkStateKey, prepareCommit } from './commit-check.js';
import { fromJsonBytes, toJsonBytes } from './json-bytes.js';
import { checkTtl } from './lease.js';
import { acquireWithin, commitWithin, releaseWithin, renewWithin, sweepWithin, type TxnView } from './txn-rules.js';
import { CorruptPayload, type Lease, type NodeRecord, type NodeState, type RunProgress, type Store, type SweepPlan, type SweepResult } from './types.js';

export { makeOwner, ownerIsDead } from './lease.js';

/**
 * The LMDB store: one environment (a directory with data.mdb and lock.mdb), named databases:
 *
 *   payloads     digest -> frame: the payload's header line + its bytes, exactly the digest's
 *                preimage, so every read re-hashes the value and compares (CorruptPayload).
 *   payloadInfo  digest -> {"bytes": n}: sizes, so hasPayload and gc never read payloads.
 *   records      NodeKey -> NodeRecord (JSON)
 *   states       [pipeline, nodeId] -> NodeState (JSON). An array key rather than a
 *                `pipeline\0nodeId` string: lmdb-js string keys cannot contain NUL.
 *   leases       NodeKey -> Lease (JSON)
 *   progress     lease owner -> RunProgress (JSON): what a running run publishes for `status --watch`
 *   meta         string -> JSON value
 *
 * All values are raw bytes encoded by us before a transaction starts (see json-bytes.ts);
 * compression stays off (payloads are mostly incompressible floats, and every reader would
 * need the same setting). Every write runs as an lmdb-js child transaction: lmdb-js batches
 * concurrent async transactions into one LMDB commit (throughput), and a child transaction
 * that throws rolls back alone instead of half-committing (a plain async `transaction()` that
 * throws still commits what it wrote).
 */
export interface LmdbStoreOptions {
  /** The clock for lease expiry (tests inject one). Default Date.now. */
  readonly now?: () => number;
}

export async function openLmdbStore(dir: string, options: LmdbStoreOptions = {}): Promise<Store> {
  await mkdir(dir, { recursive: true });
  // noSubdir false: lmdb-js would otherwise treat a directory name with a dot as a file name.
  const root = open(dir, { maxDbs: 8, compression: false, encoding: 'binary', noSubdir: false });
  // A process killed while reading leaves its reader slot behind, which keeps old pages from
  // being reused; clear such slots now (lmdb-js also does at open, this makes it explicit).
  root.readerCheck();
  return new LmdbStore(dir, root, options.now ?? Date.now);
}

type Bin = Database<Uint8Array, string>;

class LmdbStore implements Store {
  private readonly payloads: Bin;
  private readonly payloadInfo: Bin;
  private readonly records: Bin;
  private readonly states: Database<Uint8Array, [string, string]>;
  private readonly leases: Bin;
  private readonly meta: Bin;
  private readonly progress: Bin;
  private readonly view: TxnView;
  private closed: Promise<void> | undefined;

  constructor(readonly location: string, private readonly root: RootDatabase, private readonly now: () => number) {
    const db = <K extends string | [string, string]>(name: string) =>
      root.openDB<Uint8Array, K>(name, { encoding: 'binary', compression: false });
    this.payloads = db<string>('payloads');
    this.payloadInfo = db<string>('payloadInfo');
    this.records = db<string>('records');
    this.states = db<[string, string]>('states');
    this.leases = db<string>('leases');
    this.meta = db<string>('meta');
    this.progress = db<string>('progress');
    this.view = this.makeView();
  }

  /** Reads inside a transaction callback see that transaction (lmdb-js uses the write txn). */
  private makeView(): TxnView {
    const { payloads, payloadInfo, records, states, leases } = this;
    return {
      payloadBytes: (d) => this.payloadSize(d),
      putPayload: (d, frame, bytes) => {
        payloads.put(d, frame);
        payloadInfo.put(d, toJsonBytes({ bytes }));
      },
      removePayload: (d) => {
        payloads.remove(d);
        payloadInfo.remove(d);
      },
      recordSize: (k) => records.getBinaryFast(k)?.length,
      putRecord: (k, json) => records.put(k, json),
      removeRecord: (k) => records.remove(k),
      records: () => this.listRecords(),
      state: (p, n) => this.getState(p, n),
      putState: (p, n, json) => states.put([p, n], json),
      removeState: (p, n) => states.remove([p, n]),
      lease: (k) => this.getLease(k),
      putLease: (k, lease) => leases.put(k, toJsonBytes(lease)),
      removeLease: (k) => leases.remove(k),
    };
  }

  /** One atomic write; resolves once committed (visible to other processes). */
  private write<T>(action: (t: TxnView) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`internal error: store ${this.location} is closed`));
    return this.root.childTransaction(() => action(this.view));
  }

  private payloadSize(digest: Digest): number | undefined {
    const info = this.payloadInfo.getBinaryFast(digest);
    return info === undefined ? undefined : fromJsonBytes<{ bytes: number }>(info).bytes;
  }

  getRecord(key: NodeKey): NodeRecord | undefined {
    const bytes = this.records.getBinaryFast(key);
    return bytes === undefined ? undefined : fromJsonBytes<NodeRecord>(bytes);
  }

  getPayload(digest: Digest): Uint8Array | undefined {
    const fast = this.payloads.getBinaryFast(digest);
    if (fast === undefined) return undefined;
    // getBinaryFast returns a reused buffer whose `length` is the value's; hash, then copy out.
    const frame = fast.subarray(0, fast.length);
    const actual = digestFrame(frame);
    if (actual !== digest) throw new CorruptPayload(digest, actual);
    const bytes = unframePayload(frame);
    if (bytes === undefined) throw new CorruptPayload(digest, actual);
    return bytes;
  }

  hasPayload(digest: Digest, bytes: number): boolean {
    return this.payloadSize(digest) === bytes && this.payloads.doesExist(digest);
  }

  async commit(record: NodeRecord, payloads: ReadonlyMap<Digest, Uint8Array>, state: { pipeline: string; state: NodeState }, leaseOwner?: string): Promise<void> {
    const prepared = prepareCommit(record, payloads, state, leaseOwner);
    // Committed means written to the file (the OS has it: a kill of this process loses nothing).
    // lmdb-js overlaps the fsync with later transactions; waiting for it here would serialise
    // every node on the disk, so callers wait once, with flush(), before they exit.
    await this.write((t) => commitWithin(t, prepared));
  }

  async flush(): Promise<void> {
    await this.root.flushed;
  }

  async dropRecord(key: NodeKey): Promise<void> {
    await this.write((t) => t.removeRecord(key));
  }

  async dropPayload(digest: Digest): Promise<void> {
    await this.write((t) => t.removePayload(digest));
  }

  getState(pipeline: string, nodeId: NodeId): NodeState | undefined {
    checkStateKey(pipeline, nodeId);
    const bytes = this.states.getBinaryFast([pipeline, nodeId]);
    return bytes === undefined ? undefined : fromJsonBytes<NodeState>(bytes);
  }

  async putState(pipeline: string, state: NodeState): Promise<void> {
    checkStateKey(pipeline, state.nodeId);
    const json = toJsonBytes(state);
    await this.write((t) => t.putState(pipeline, state.nodeId, json));
  }

  async dropState(pipeline: string, nodeId: NodeId): Promise<void> {
    checkStateKey(pipeline, nodeId);
    await this.write((t) => t.removeState(pipeline, nodeId));
  }

  acquireLease(key: NodeKey, owner: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    // Read-then-write inside the write transaction: LMDB's single writer makes it atomic across
    // processes. The clock is read inside too, when the transaction actually runs.
    return this.write((t) => acquireWithin(t, key, owner, ttlMs, this.now()));
  }

  renewLease(key: NodeKey, owner: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return this.write((t) => renewWithin(t, key, owner, ttlMs, this.now()));
  }

  async releaseLease(key: NodeKey, owner: string): Promise<void> {
    await this.write((t) => releaseWithin(t, key, owner));
  }

  getLease(key: NodeKey): Lease | undefined {
    const bytes = this.leases.getBinaryFast(key);
    return bytes === undefined ? undefined : fromJsonBytes<Lease>(bytes);
  }

  *listLeases(): Iterable<{ key: NodeKey; lease: Lease }> {
    for (const { key, value } of this.leases.getRange({})) yield { key: asNodeKey(key), lease: fromJsonBytes<Lease>(value) };
  }

  *listRecords(): Iterable<NodeRecord> {
    for (const { value } of this.records.getRange({})) yield fromJsonBytes<NodeRecord>(value);
  }

  *listPayloads(): Iterable<{ digest: Digest; bytes: number }> {
    for (const { key, value } of this.payloadInfo.getRange({})) {
      yield { digest: asDigest(key), bytes: fromJsonBytes<{ bytes: number }>(value).bytes };
    }
  }

  *listStates(): Iterable<{ pipeline: string; state: NodeState }> {
    for (const { key, value } of this.states.getRange({})) yield { pipeline: key[0], state: fromJsonBytes<NodeState>(value) };
  }

  getMeta(key: string): JsonValue | undefined {
    checkMetaKey(key);
    const bytes = this.meta.getBinaryFast(key);
    return bytes === undefined ? undefined : fromJsonBytes<JsonValue>(bytes);
  }

  async putMeta(key: string, value: JsonValue | undefined): Promise<void> {
    checkMetaKey(key);
    const json = value === undefined ? undefined : toJsonBytes(value);
    await this.write(() => (json === undefined ? this.meta.remove(key) : this.meta.put(key, json)));
  }

  async putRunProgress(progress: RunProgress): Promise<void> {
    checkOwnerKey(progress.owner);
    const json = toJsonBytes(progress);
    await this.write(() => this.progress.put(progress.owner, json));
  }

  async dropRunProgress(owner: string): Promise<void> {
    checkOwnerKey(owner);
    await this.write(() => this.progress.remove(owner));
  }

  *listRunProgress(): Iterable<RunProgress> {
    for (const { value } of this.progress.getRange({})) yield fromJsonBytes<RunProgress>(value);
  }

  sweep(plan: SweepPlan): Promise<SweepResult> {
    return this.write((t) => sweepWithin(t, plan, this.now()));
  }

  refresh(): void {
    this.root.resetReadTxn();
  }

  close(): Promise<void> {
    this.closed ??= this.root.close();
    return this.closed;
  }
}

function checkOwnerKey(owner: string): void {
  if (owner.length === 0 || owner.includes('\0') || Buffer.byteLength(owner) > 1900) {
    throw new Error(`internal error: a run owner must be 1-1900 bytes without NUL: ${JSON.stringify(owner.slice(0, 80))}`);
  }
}

function checkMetaKey(key: string): void {
  if (key.length === 0 || key.includes('\0') || Buffer.byteLength(key) > 1900) {
    throw new Error(`internal error: meta keys must be 1-1900 bytes without NUL: ${JSON.stringify(key.slice(0, 80))}`);
  }
}
