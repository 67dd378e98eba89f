import type { Pipeline, PlannedNode } from '../config/types.js';
import type { FileHashMemo } from '../fingerprint/files.js';
import type { BackendChoice } from '../ml/backend.js';
import type { Digest, NodeId, NodeKey, StageName } from '../fingerprint/ids.js';
import { nodeKey } from '../fingerprint/key.js';
import type { Store } from '../store/types.js';
import { explain, type Reason } from './explain.js';
import { fingerprintNode, MissingFile } from './node-key.js';

export type PlanEntry =
  | { readonly node: NodeId; readonly stage: StageName; readonly action: 'cached'; readonly key: NodeKey }
  | { readonly node: NodeId; readonly stage: StageName; readonly action: 'run'; readonly key?: NodeKey; readonly reasons: readonly Reason[] }
  | { readonly node: NodeId; readonly stage: StageName; readonly action: 'blocked'; readonly message: string };

/**
 * A dry run: what `run` would do and why, without executing or writing anything. A node below one
 * that will run cannot be keyed yet (its key depends on output content); it is listed as `run` with
 * an `upstream-pending` reason, since early cutoff may still keep it cached. A record found in the
 * store counts as cached only when its payloads exist (verified again by `run`).
 */
export async function planPipeline(
  pipeline: Pipeline,
  nodes: readonly PlannedNode[],
  store: Store,
  force: ReadonlySet<NodeId>,
  memo: FileHashMemo,
  backend: BackendChoice,
): Promise<PlanEntry[]> {
  const digests = new Map<NodeId, Digest>();
  const blocked = new Set<NodeId>();
  const entries: PlanEntry[] = [];
  for (const node of nodes) {
    const upstream = Object.values(node.inputs).flatMap((i) => i.nodes);
    const blocker = upstream.find((id) => blocked.has(id));
    if (blocker) {
      blocked.add(node.id);
      entries.push({ node: node.id, stage: node.stage, action: 'blocked', message: `upstream ${blocker} cannot run` });
      continue;
    }
    let fp;
    try {
      fp = await fingerprintNode(node, { workdir: pipeline.workdir, backend }, (id) => digests.get(id), memo);
    } catch (e) {
      if (!(e instanceof MissingFile)) throw e;
      blocked.add(node.id);
      entries.push({ node: node.id, stage: node.stage, action: 'blocked', message: e.message });
      continue;
    }
    const previous = store.getState(pipeline.name, node.id);
    if (fp.pending.size > 0) {
      entries.push({ node: node.id, stage: node.stage, action: 'run', reasons: explain(fp.record, previous, fp.pending) });
      continue;
    }
    const key = nodeKey(fp.record);
    const record = force.has(node.id) ? undefined : store.getRecord(key);
    if (record && Object.values(record.outputs).every((r) => store.hasPayload(r.digest, r.bytes))) {
      digests.set(node.id, record.outputsDigest);
      entries.push({ node: node.id, stage: node.stage, action: 'cached', key });
      continue;
    }
    const reasons: Reason[] = force.has(node.id) ? [{ code: 'forced' }] : explain(fp.record, previous);
    entries.push({ node: node.id, stage: node.stage, action: 'run', key, reasons });
  }
  return entries;
}
