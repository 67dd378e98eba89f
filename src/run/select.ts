import type { Pipeline, PlannedNode } from '../config/types.js';
import type { NodeId } from '../fingerprint/ids.js';
import { closest } from '../diagnostics/suggest.js';

/** A name given to --only / --force / show that matches no stage and no node. */
export class UnknownTarget extends Error {
  constructor(readonly target: string, readonly suggestion: string | undefined) {
    super(`no stage or node named "${target}" in this pipeline${suggestion ? `; did you mean "${suggestion}"?` : ''}`);
    this.name = 'UnknownTarget';
  }
}

/** Node ids named by stage names or node ids. */
export function resolveTargets(pipeline: Pipeline, targets: readonly string[]): Set<NodeId> {
  const out = new Set<NodeId>();
  const byId = new Set<string>(pipeline.nodes.map((n) => n.id));
  for (const t of targets) {
    const stage = pipeline.stages.find((s) => s.name === t);
    if (stage) stage.nodes.forEach((n) => out.add(n));
    else if (byId.has(t)) out.add(t as NodeId);
    else {
      const names = [...pipeline.stages.map((s) => s.name as string), ...byId];
      throw new UnknownTarget(t, closest(t, names));
    }
  }
  return out;
}

/** The given nodes plus everything upstream of them, in pipeline (topological) order. */
export function withAncestors(pipeline: Pipeline, roots: ReadonlySet<NodeId>): PlannedNode[] {
  const byId = new Map(pipeline.nodes.map((n) => [n.id, n]));
  const keep = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length) {
    const id = stack.pop() as NodeId;
    if (keep.has(id)) continue;
    keep.add(id);
    const node = byId.get(id);
    if (node) for (const input of Object.values(node.inputs)) stack.push(...input.nodes);
  }
  return pipeline.nodes.filter((n) => keep.has(n.id));
}
