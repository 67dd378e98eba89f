import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import { asNodeId, type NodeId } from '../fingerprint/ids.js';
import { formatNodeId, planMatrix } from './matrix.js';
import type { SourceDoc } from './source-doc.js';
import type { RawStage } from './stage-read.js';
import type { MatrixValue, NodeInput } from './types.js';

/** A stage's nodes: ids, coordinates and locations, in matrix order. */
export interface ExpandedStage {
  readonly raw: RawStage;
  readonly axes: readonly string[];
  readonly ids: readonly NodeId[];
  readonly coords: readonly Readonly<Record<string, MatrixValue>>[];
  readonly locations: readonly SourceRange[];
}

/**
 * The nodes of one stage: its own matrix, the nodes of the stage it follows with `foreach`, or a
 * single node named after the stage. Undefined when that cannot be known (a problem already reported).
 */
export function expandStage(raw: RawStage, expanded: ReadonlyMap<string, ExpandedStage>, source: SourceDoc, report: (d: Diagnostic) => void): ExpandedStage | undefined {
  if (raw.hasMatrix && raw.foreach !== undefined) return undefined;
  if (raw.hasMatrix) {
    const plan = planMatrix(raw.matrix, raw.path, source, report);
    if (!plan) return undefined;
    return {
      raw,
      axes: plan.axes,
      ids: plan.combinations.map((c) => asNodeId(formatNodeId(raw.name, plan.axes, c.values))),
      coords: plan.combinations.map((c) => {
        const coords: Record<string, MatrixValue> = {};
        plan.axes.forEach((a, i) => (coords[a] = c.values[i]!));
        return coords;
      }),
      locations: plan.combinations.map((c) => c.location),
    };
  }
  const location = source.keyRange(raw.path);
  if (raw.foreach !== undefined) {
    const up = expanded.get(raw.foreach);
    if (!up) return undefined;
    return {
      raw,
      axes: up.axes,
      ids: up.coords.map((c) => asNodeId(formatNodeId(raw.name, up.axes, up.axes.map((a) => c[a]!)))),
      coords: up.coords, // shared: coordinates are never mutated
      locations: up.ids.map(() => location),
    };
  }
  return { raw, axes: [], ids: [asNodeId(raw.name)], coords: [{}], locations: [location] };
}

/** A lookup key for coordinates that keeps 1 and "1" apart (they are different values). */
function coordinateKey(coords: Readonly<Record<string, MatrixValue>>, axes: readonly string[]): string {
  let key = '';
  for (const a of axes) {
    const v = coords[a];
    key += typeof v === 'string' ? `${JSON.stringify(v)},` : `${String(v)},`;
  }
  return key;
}

/**
 * The binding rule, per node of `stage` and per input on stage Y:
 *   Y has no fan-out                    -> Y's single node (gather: false)
 *   every axis of Y is an axis of stage -> the Y node with the same coordinates (gather: false)
 *   otherwise                           -> all Y nodes in order (gather: true)
 * A missing counterpart in the second case is reported once per input with the coordinates lacking.
 */
export function bindInputs(stage: ExpandedStage, expanded: ReadonlyMap<string, ExpandedStage>, source: SourceDoc, report: (d: Diagnostic) => void): Record<string, NodeInput>[] {
  const perNode: Record<string, NodeInput>[] = stage.ids.map(() => ({}));
  for (const input of stage.raw.inputs) {
    const up = expanded.get(input.stage);
    if (!up) continue; // unknown, broken or cyclic upstream: reported where it went wrong
    if (up.axes.length === 0) {
      const one: NodeInput = { stage: up.raw.name, nodes: up.ids, gather: false };
      for (const inputs of perNode) inputs[input.name] = one;
    } else if (stage.raw.foreach === up.raw.name) {
      // foreach copies the upstream's nodes in order: node n pairs with upstream node n.
      stage.ids.forEach((_, n) => (perNode[n]![input.name] = { stage: up.raw.name, nodes: [up.ids[n]!], gather: false }));
    } else if (up.axes.every((a) => stage.axes.includes(a))) {
      const index = new Map(up.coords.map((c, i) => [coordinateKey(c, up.axes), i]));
      const missing: string[] = [];
      stage.coords.forEach((c, n) => {
        const i = index.get(coordinateKey(c, up.axes));
        if (i === undefined) missing.push(up.axes.map((a) => `${a}=${JSON.stringify(c[a])}`).join(' '));
        else perNode[n]![input.name] = { stage: up.raw.name, nodes: [up.ids[i]!], gather: false };
      });
      if (missing.length > 0) reportMissing(stage, up, input, missing, source, report);
    } else {
      const all: NodeInput = { stage: up.raw.name, nodes: up.ids, gather: true };
      for (const inputs of perNode) inputs[input.name] = all;
    }
  }
  return perNode;
}

function reportMissing(
  stage: ExpandedStage,
  up: ExpandedStage,
  input: { readonly name: string; readonly stage: string },
  missing: readonly string[],
  source: SourceDoc,
  report: (d: Diagnostic) => void,
): void {
  const shown = [...new Set(missing)];
  const items = shown.length > 3 ? [...shown.slice(0, 3), `${shown.length - 3} more`] : shown;
  const list = items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : items[0];
  report({
    code: 'missing-coordinate',
    message: `input "${input.name}" of stage "${stage.raw.name}" has no matching node in stage "${up.raw.name}"`,
    location: source.valueRange([...stage.raw.path, 'inputs', input.name]),
    expected: `a node of "${up.raw.name}" for each node of "${stage.raw.name}", matched on ${up.axes.length === 1 ? 'axis' : 'axes'} ${up.axes.join(', ')}`,
    found: `no node of "${up.raw.name}" for ${list}`,
    remedy: `add the missing values to the matrix of "${up.raw.name}", or remove them from "${stage.raw.name}"`,
    related: [{ message: `stage "${up.raw.name}" is defined here`, location: source.keyRange(up.raw.path) }],
  });
}
