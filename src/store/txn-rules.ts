import type { Digest, NodeId, NodeKey } from '../fingerprint/ids.js';
import { MissingPayloads, type PreparedCommit } from './commit-check.js';
import { leaseIsHeld, mayTakeLease } from './lease.js';
import type { Lease, NodeRecord, NodeState, SweepPlan, SweepResult } from './types.js';

/**
 * The reads and writes available inside one store transaction. The LMDB store implements it over
 * a write transaction, the memory store over its maps; the rules below are written once, so both
 * stores behave alike. Every rule reads (and may throw) before its first write.
 */
export interface TxnView {
  payloadBytes(digest: Digest): number | undefined;
  putPayload(digest: Digest, frame: Uint8Array, bytes: number): void;
  removePayload(digest: Digest): void;
  /** The stored size of a record, or undefined when absent. */
  recordSize(key: NodeKey): number | undefined;
  putRecord(key: NodeKey, json: Uint8Array): void;
  removeRecord(key: NodeKey): void;
  records(): Iterable<NodeRecord>;
  state(pipeline: string, nodeId: NodeId): NodeState | undefined;
  putState(pipeline: string, nodeId: NodeId, json: Uint8Array): void;
  removeState(pipeline: string, nodeId: NodeId): void;
  lease(key: NodeKey): Lease | undefined;
  putLease(key: NodeKey, lease: Lease): void;
  removeLease(key: NodeKey): void;
}

/** Payloads (content-addressed: present ones are skipped), then record and state. */
export function commitWithin(t: TxnView, c: PreparedCommit): void {
  const missing = c.existing.filter((d) => t.payloadBytes(d) === undefined);
  if (missing.length > 0) throw new MissingPayloads(c.record.key, missing);
  for (const [digest, { frame, bytes }] of c.frames) {
    if (t.payloadBytes(digest) === undefined) t.putPayload(digest, frame, bytes);
  }
  t.putRecord(c.record.key, c.recordJson);
  t.putState(c.pipeline, c.nodeId, c.stateJson);
  if (c.leaseOwner !== undefined) releaseWithin(t, c.record.key, c.leaseOwner);
}

export function acquireWithin(t: TxnView, key: NodeKey, owner: string, ttlMs: number, now: number): boolean {
  if (!mayTakeLease(t.lease(key), owner, now)) return false;
  t.putLease(key, { owner, expiresAt: now + ttlMs });
  return true;
}

/** Extends the lease only while it is still ours and unexpired: an expired lease may be taken already. */
export function renewWithin(t: TxnView, key: NodeKey, owner: string, ttlMs: number, now: number): boolean {
  const current = t.lease(key);
  if (current === undefined || current.owner !== owner || current.expiresAt <= now) return false;
  t.putLease(key, { owner, expiresAt: now + ttlMs });
  return true;
}

export function releaseWithin(t: TxnView, key: NodeKey, owner: string): void {
  if (t.lease(key)?.owner === owner) t.removeLease(key);
}

/**
 * Applies a gc plan, re-checking every item against the current state, because the plan was made
 * from an earlier snapshot and other processes may have committed since: a record or state now
 * under a held lease stays, a state rewritten since (other key) stays, and a payload that any
 * remaining record references stays (a concurrent commit may have deduplicated against it).
 */
export function sweepWithin(t: TxnView, plan: SweepPlan, now: number): SweepResult {
  const result = { records: 0, payloads: 0, states: 0, bytes: 0 };
  const dropRecords: { key: NodeKey; size: number }[] = [];
  for (const key of new Set(plan.records)) {
    const size = t.recordSize(key);
    if (size !== undefined && !leaseIsHeld(t.lease(key), now)) dropRecords.push({ key, size });
  }
  const dropStates = plan.states.filter((s) => {
    const current = t.state(s.pipeline, s.nodeId);
    return current !== undefined && current.key === s.key && !leaseIsHeld(t.lease(s.key), now);
  });
  const candidates = new Set(plan.payloads);
  if (candidates.size > 0) {
    const dropped = new Set<NodeKey>(dropRecords.map((r) => r.key));
    for (const record of t.records()) {
      if (dropped.has(record.key)) continue;
      for (const ref of Object.values(record.outputs)) candidates.delete(ref.digest);
    }
  }
  const dropPayloads: { digest: Digest; bytes: number }[] = [];
  for (const digest of candidates) {
    const bytes = t.payloadBytes(digest);
    if (bytes !== undefined) dropPayloads.push({ digest, bytes });
  }
  for (const { key, size } of dropRecords) {
    t.removeRecord(key);
    result.records++;
    result.bytes += size;
  }
  for (const s of dropStates) {
    t.removeState(s.pipeline, s.nodeId);
    result.states++;
  }
  for (const { digest, bytes } of dropPayloads) {
    t.removePayload(digest);
    result.payloads++;
    result.bytes += bytes;
  }
  return result;
}
