import type { Pipeline } from '../config/types.js';
import type { BackendChoice } from '../ml/backend.js';
import { fileHashMemo } from '../fingerprint/files.js';
import type { NodeId } from '../fingerprint/ids.js';
import { planPipeline, type PlanEntry } from '../run/plan.js';
import { resolveTargets, withAncestors } from '../run/select.js';
import type { NodeRecord, Store } from '../store/types.js';
import { UsageError } from './usage.js';

/**
 * The current record of one node: keyed exactly as `run` would key it (through its upstream
 * nodes' cached outputs), so `show` and `export` never present an outdated artifact as current.
 */
export async function currentRecord(
  pipeline: Pipeline,
  store: Store,
  target: string,
  help: string,
  backend: BackendChoice,
): Promise<{ entry: PlanEntry; record?: NodeRecord }> {
  const ids = resolveTargets(pipeline, [target]);
  if (ids.size !== 1) {
    const some = [...ids].slice(0, 3).join(', ') + (ids.size > 3 ? ', ...' : '');
    throw new UsageError(`"${target}" names ${ids.size} nodes (${some}); give one node id`, help);
  }
  const id = [...ids][0] as NodeId;
  const entries = await planPipeline(pipeline, withAncestors(pipeline, ids), store, new Set(), await fileHashMemo(store), backend);
  const entry = entries.find((e) => e.node === id) as PlanEntry;
  return entry.action === 'cached' ? { entry, record: store.getRecord(entry.key) as NodeRecord } : { entry };
}
