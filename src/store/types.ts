import type { Digest, NodeId, NodeKey, StageName } from '../fingerprint/ids.js';
import type { DType } from '../stages/artifact.js';
import type { JsonValue } from '../util/json.js';
import type { FingerprintRecord } from '../fingerprint/key.js';

/** How one output of a finished node is stored: its payload lives under `digest`. */
export interface OutputRef {
  readonly digest: Digest;
  readonly type: 'json' | 'bytes' | 'array';
  readonly bytes: number;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
  readonly mediaType?: string;
}

/** The tool-written record of one finished node, stored under its key (the analogue of dvc.lock). */
export interface NodeRecord {
  readonly format: 1;
  readonly key: NodeKey;
  /** The node that first produced it (records are shared by identical keys across pipelines). */
  readonly nodeId: NodeId;
  readonly pipeline: string;
  readonly fingerprint: FingerprintRecord;
  readonly outputs: Readonly<Record<string, OutputRef>>;
  /** Digest of the output manifest: what downstream keys depend on (early cutoff). */
  readonly outputsDigest: Digest;
  readonly startedAt: string;
  readonly durationMs: number;
  /** Where it ran: `local` or a worker label. */
  readonly executor: string;
  /** Small free-form facts from the stage (e.g. stderr tail, stop reason). */
  readonly info?: JsonValue;
  /** The stage's one-line summary for people. */
  readonly summary?: string;
  /** Lines the reporters print at the end of a run (StageResult.highlights). */
  readonly highlights?: readonly string[];
}

/** The last attempt of a node id in a pipeline: what `plan` compares against to say why. */
export interface NodeState {
  readonly nodeId: NodeId;
  readonly key: NodeKey;
  readonly fingerprint: FingerprintRecord;
  readonly status: 'ok' | 'failed';
  readonly error?: string;
  readonly at: string;
}

export interface Lease {
  readonly owner: string;
  readonly expiresAt: number;
}

/**
 * What a running `basin run` publishes about itself so that `basin status --watch` in another
 * process can show its running nodes: ONE small record per run (keyed by its lease owner), written
 * from a timer at most about once a second while nodes run (never from stage code), rewritten every
 * few seconds as a heartbeat, and dropped when the run ends. A run killed before it could drop it
 * leaves it behind: readers treat it like a lease (live while unexpired and while its owner's process
 * is not known to be dead; see `runProgressIsLive`).
 */
export interface RunProgress {
  readonly format: 1;
  /** The run's lease owner (`host:pid:random`). */
  readonly owner: string;
  readonly pipeline: string;
  readonly file: string;
  readonly jobs: number;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
  readonly running: readonly NodeProgress[];
}

/** One running node in a RunProgress record: its latest progress report, trimmed. */
export interface NodeProgress {
  readonly node: NodeId;
  readonly stage: StageName;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly fraction?: number;
  readonly message?: string;
  /** The node's main metric (its loss when it reports one): latest value and recent values, oldest first. */
  readonly metric?: { readonly name: string; readonly value: number; readonly trail: readonly number[] };
}

/**
 * The store: content-addressed payloads plus records, behind a small interface with one LMDB
 * implementation and an in-memory one for tests. Writes of a record and its payloads are atomic.
 */
export interface Store {
  readonly location: string;
  getRecord(key: NodeKey): NodeRecord | undefined;
  /** Payload bytes, verified against the digest; `undefined` when missing; throws CorruptPayload on mismatch. */
  getPayload(digest: Digest): Uint8Array | undefined;
  hasPayload(digest: Digest, bytes: number): boolean;
  /**
   * Payloads, the record and the node state in ONE transaction, which also releases the lease on
   * the record's key when `leaseOwner` holds it. Resolves once committed: visible to other
   * processes and safe from a kill of this one. `flush()` waits for the disk as well.
   */
  commit(record: NodeRecord, payloads: ReadonlyMap<Digest, Uint8Array>, state: { pipeline: string; state: NodeState }, leaseOwner?: string): Promise<void>;
  /** Resolves once every committed write is on disk (survives a power loss, not only a kill). */
  flush(): Promise<void>;
  /** Removes a record (e.g. after its payload was found corrupt). */
  dropRecord(key: NodeKey): Promise<void>;
  dropPayload(digest: Digest): Promise<void>;
  getState(pipeline: string, nodeId: NodeId): NodeState | undefined;
  putState(pipeline: string, state: NodeState): Promise<void>;
  /** Try to take (or take over an expired) lease; true when this owner holds it now. */
  acquireLease(key: NodeKey, owner: string, ttlMs: number): Promise<boolean>;
  renewLease(key: NodeKey, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: NodeKey, owner: string): Promise<void>;
  getLease(key: NodeKey): Lease | undefined;
  listLeases(): Iterable<{ key: NodeKey; lease: Lease }>;
  listRecords(): Iterable<NodeRecord>;
  listPayloads(): Iterable<{ digest: Digest; bytes: number }>;
  listStates(): Iterable<{ pipeline: string; state: NodeState }>;
  dropState(pipeline: string, nodeId: NodeId): Promise<void>;
  /** Generic small values (run status for `status --watch`, file-hash memo). */
  getMeta(key: string): JsonValue | undefined;
  putMeta(key: string, value: JsonValue | undefined): Promise<void>;
  /**
   * Removes what a gc plan names, in one transaction, re-checking each item first: records and
   * states under a held lease stay, states rewritten since the plan stay, payloads that any
   * remaining record references stay. Returns what was actually removed.
   */
  sweep(plan: SweepPlan): Promise<SweepResult>;
  /** Publishes (replaces) a running run's progress record; see RunProgress. */
  putRunProgress(progress: RunProgress): Promise<void>;
  dropRunProgress(owner: string): Promise<void>;
  /** Every progress record, live or left behind by a killed run; see `runProgressIsLive`. */
  listRunProgress(): Iterable<RunProgress>;
  /** See writes made by other processes since this one last looked. */
  refresh(): void;
  close(): Promise<void>;
}

/** What gc decided to remove, from a snapshot; see `Store.sweep`. */
export interface SweepPlan {
  readonly records: readonly NodeKey[];
  readonly payloads: readonly Digest[];
  /** `key` is the state's key when planned: a state rewritten since then is kept. */
  readonly states: readonly { readonly pipeline: string; readonly nodeId: NodeId; readonly key: NodeKey }[];
}

export interface SweepResult {
  readonly records: number;
  readonly payloads: number;
  readonly states: number;
  /** Payload bytes plus the stored size of records (approximate: LMDB page overhead not counted). */
  readonly bytes: number;
}

export class CorruptPayload extends Error {
  constructor(readonly digest: Digest, readonly actual: string) {
    super(`payload ${digest} is corrupt: its content hashes to ${actual}`);
    this.name = 'CorruptPayload';
  }
}
