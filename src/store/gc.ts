import type { Digest, NodeId, NodeKey } from '../fingerprint/ids.js';
import { leaseIsHeld } from './lease.js';
import type { Store, SweepPlan, SweepResult } from './types.js';

/**
 * Garbage collection with explicit scopes (unbounded caches are a classic complaint:
 * turborepo#863, bazel#5139, wireit#71).
 *
 * - Records: every record whose key is not in `liveKeys` is dropped. The caller decides what is
 *   live, across ALL pipelines sharing the store: records are shared by key between pipelines,
 *   so a key missing from `liveKeys` is dropped even if another pipeline's state names it
 *   (`keysNamedByStates` lists those, to add when other pipelines should keep their cache).
 * - Payloads: dropped when no kept record references them.
 * - Node states: only those of the pipelines in `livePipelines` whose node id is no longer in
 *   that pipeline. States of pipelines not listed are left untouched: gc cannot know whether a
 *   pipeline it was not shown still exists.
 * - Nothing under a currently held lease (unexpired, owner alive) is dropped: a run may be
 *   committing that key right now. The store re-checks leases, and references from records
 *   committed after the plan was made, inside the deleting transaction (see Store.sweep).
 *
 * Space: LMDB puts freed pages on its free list and reuses them for later writes; the file does
 * not shrink. There is deliberately no compaction (copy with env.copy(tmp, compact) and rename
 * over data.mdb): another process that has the environment open keeps writing to the old,
 * renamed-away file and its lock file no longer matches, and Node offers no portable
 * cross-process exclusive lock to rule that out, so it cannot be made safe here. To shrink a
 * store, copy it while nothing runs (`mdb_copy -c`) or delete it.
 */
export interface GcOptions {
  /** Count what would be removed without removing anything. */
  readonly dryRun: boolean;
  /** The clock for lease expiry. Default Date.now. */
  readonly now?: () => number;
}

export type GcReport = SweepResult;

export async function collectGarbage(
  store: Store,
  liveKeys: ReadonlySet<NodeKey>,
  livePipelines: readonly { readonly pipeline: string; readonly nodeIds: ReadonlySet<NodeId> }[],
  opts: GcOptions,
): Promise<GcReport> {
  store.refresh();
  const now = (opts.now ?? Date.now)();
  const held = new Set<NodeKey>();
  for (const { key, lease } of store.listLeases()) if (leaseIsHeld(lease, now)) held.add(key);

  const records: NodeKey[] = [];
  const referenced = new Set<Digest>();
  let bytes = 0;
  for (const record of store.listRecords()) {
    if (liveKeys.has(record.key) || held.has(record.key)) {
      for (const ref of Object.values(record.outputs)) referenced.add(ref.digest);
    } else {
      records.push(record.key);
      bytes += Buffer.byteLength(JSON.stringify(record));
    }
  }

  const payloads: Digest[] = [];
  for (const payload of store.listPayloads()) {
    if (referenced.has(payload.digest)) continue;
    payloads.push(payload.digest);
    bytes += payload.bytes;
  }

  const scope = new Map<string, ReadonlySet<NodeId>>();
  for (const { pipeline, nodeIds } of livePipelines) scope.set(pipeline, nodeIds);
  const states: SweepPlan['states'][number][] = [];
  for (const { pipeline, state } of store.listStates()) {
    const nodeIds = scope.get(pipeline);
    if (nodeIds === undefined || nodeIds.has(state.nodeId) || held.has(state.key)) continue;
    states.push({ pipeline, nodeId: state.nodeId, key: state.key });
  }

  if (opts.dryRun) return { records: records.length, payloads: payloads.length, states: states.length, bytes };
  return store.sweep({ records, payloads, states });
}

/** Keys named by any node state (optionally only of some pipelines), for callers that keep them live. */
export function keysNamedByStates(store: Store, pipelines?: ReadonlySet<string>): Set<NodeKey> {
  const keys = new Set<NodeKey>();
  for (const { pipeline, state } of store.listStates()) {
    if (pipelines === undefined || pipelines.has(pipeline)) keys.add(state.key);
  }
  return keys;
}
