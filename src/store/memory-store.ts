import { digestFrame, unframePayload } from '../fingerprint/artifact-codec.js';
import type { Digest, NodeId, NodeKey } from '../fingerprint/ids.js';
import type { JsonValue } from '../util/json.js';
import { checkStateKey, prepareCommit } from './commit-check.js';
import { fromJsonBytes, toJsonBytes } from './json-bytes.js';
import { checkTtl } from './lease.js';
import { acquireWithin, commitWithin, releaseWithin, renewWithin, sweepWithin, type TxnView } from './txn-rules.js';
import { CorruptPayload, type Lease, type NodeRecord, type NodeState, type RunProgress, type Store, type SweepPlan, type SweepResult } from './types.js';

export interface MemoryStoreOptions {
  /** The clock for lease expiry (tests inject one). Default Date.now. */
  readonly now?: () => number;
}

/**
 * The in-memory store for tests: the same contract as the LMDB store, sharing its validation and
 * transaction rules (txn-rules.ts). Values are kept encoded, as LMDB keeps them, so a caller that
 * mutates what it read cannot change the store. Each operation runs synchronously, so it is atomic.
 */
export function openMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options.now ?? Date.now);
}

export class MemoryStore implements Store {
  readonly location = ':memory:';
  private readonly payloads = new Map<Digest, { frame: Uint8Array; bytes: number }>();
  private readonly records = new Map<NodeKey, Uint8Array>();
  private readonly states = new Map<string, { pipeline: string; json: Uint8Array }>();
  private readonly leases = new Map<NodeKey, Lease>();
  private readonly meta = new Map<string, Uint8Array>();
  private readonly progress = new Map<string, Uint8Array>();
  private readonly view: TxnView;
  private closed = false;

  constructor(private readonly now: () => number) {
    this.view = {
      payloadBytes: (d) => this.payloads.get(d)?.bytes,
      putPayload: (d, frame, bytes) => void this.payloads.set(d, { frame: frame.slice(), bytes }),
      removePayload: (d) => void this.payloads.delete(d),
      recordSize: (k) => this.records.get(k)?.byteLength,
      putRecord: (k, json) => void this.records.set(k, json),
      removeRecord: (k) => void this.records.delete(k),
      records: () => this.listRecords(),
      state: (p, n) => this.getState(p, n),
      putState: (p, n, json) => void this.states.set(stateKey(p, n), { pipeline: p, json }),
      removeState: (p, n) => void this.states.delete(stateKey(p, n)),
      lease: (k) => this.leases.get(k),
      putLease: (k, lease) => void this.leases.set(k, { ...lease }),
      removeLease: (k) => void this.leases.delete(k),
    };
  }

  /** Test hook: overwrite a stored payload's frame with arbitrary bytes (to simulate corruption). */
  corruptPayloadForTest(digest: Digest, frame: Uint8Array): void {
    const entry = this.payloads.get(digest);
    if (entry === undefined) throw new Error(`no payload ${digest}`);
    this.payloads.set(digest, { frame: frame.slice(), bytes: entry.bytes });
  }

  // Async like LMDB's writes, so callers cannot come to rely on synchronous effects.
  private async write<T>(action: (t: TxnView) => T): Promise<T> {
    if (this.closed) throw new Error('internal error: memory store is closed');
    await Promise.resolve();
    return action(this.view);
  }

  getRecord(key: NodeKey): NodeRecord | undefined {
    const json = this.records.get(key);
    return json === undefined ? undefined : fromJsonBytes<NodeRecord>(json);
  }

  getPayload(digest: Digest): Uint8Array | undefined {
    const entry = this.payloads.get(digest);
    if (entry === undefined) return undefined;
    const actual = digestFrame(entry.frame);
    if (actual !== digest) throw new CorruptPayload(digest, actual);
    const bytes = unframePayload(entry.frame);
    if (bytes === undefined) throw new CorruptPayload(digest, actual);
    return bytes;
  }

  hasPayload(digest: Digest, bytes: number): boolean {
    return this.payloads.get(digest)?.bytes === bytes;
  }

  async commit(record: NodeRecord, payloads: ReadonlyMap<Digest, Uint8Array>, state: { pipeline: string; state: NodeState }, leaseOwner?: string): Promise<void> {
    const prepared = prepareCommit(record, payloads, state, leaseOwner);
    await this.write((t) => commitWithin(t, prepared));
  }

  async flush(): Promise<void> {
    /* nothing to wait for in memory */
  }

  async dropRecord(key: NodeKey): Promise<void> {
    await this.write((t) => t.removeRecord(key));
  }

  async dropPayload(digest: Digest): Promise<void> {
    await this.write((t) => t.removePayload(digest));
  }

  getState(pipeline: string, nodeId: NodeId): NodeState | undefined {
    checkStateKey(pipeline, nodeId);
    const entry = this.states.get(stateKey(pipeline, nodeId));
    return entry === undefined ? undefined : fromJsonBytes<NodeState>(entry.json);
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
    const lease = this.leases.get(key);
    return lease === undefined ? undefined : { ...lease };
  }

  *listLeases(): Iterable<{ key: NodeKey; lease: Lease }> {
    for (const key of [...this.leases.keys()].sort()) yield { key, lease: { ...this.leases.get(key)! } };
  }

  *listRecords(): Iterable<NodeRecord> {
    for (const key of [...this.records.keys()].sort()) yield fromJsonBytes<NodeRecord>(this.records.get(key)!);
  }

  *listPayloads(): Iterable<{ digest: Digest; bytes: number }> {
    for (const digest of [...this.payloads.keys()].sort()) yield { digest, bytes: this.payloads.get(digest)!.bytes };
  }

  *listStates(): Iterable<{ pipeline: string; state: NodeState }> {
    for (const k of [...this.states.keys()].sort()) {
      const { pipeline, json } = this.states.get(k)!;
      yield { pipeline, state: fromJsonBytes<NodeState>(json) };
    }
  }

  getMeta(key: string): JsonValue | undefined {
    const json = this.meta.get(key);
    return json === undefined ? undefined : fromJsonBytes<JsonValue>(json);
  }

  async putMeta(key: string, value: JsonValue | undefined): Promise<void> {
    const json = value === undefined ? undefined : toJsonBytes(value);
    await this.write(() => (json === undefined ? this.meta.delete(key) : this.meta.set(key, json)));
  }

  async putRunProgress(progress: RunProgress): Promise<void> {
    const json = toJsonBytes(progress);
    await this.write(() => this.progress.set(progress.owner, json));
  }

  async dropRunProgress(owner: string): Promise<void> {
    await this.write(() => this.progress.delete(owner));
  }

  *listRunProgress(): Iterable<RunProgress> {
    for (const owner of [...this.progress.keys()].sort()) yield fromJsonBytes<RunProgress>(this.progress.get(owner)!);
  }

  sweep(plan: SweepPlan): Promise<SweepResult> {
    return this.write((t) => sweepWithin(t, plan, this.now()));
  }

  refresh(): void {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

const stateKey = (pipeline: string, nodeId: string): string => `${pipeline}\0${nodeId}`;
