import type { DatasetMeta } from '../ml/data/types.js';
import type { Artifact, DType, TypedArray } from './artifact.js';
import { StageFailure } from './failure.js';
import type { InputNode, StageContext } from './types.js';

/**
 * Reading upstream nodes in numeric stages, with the errors a pipeline author can act on: which
 * input, which node, what was expected and how to wire it.
 */

/** The one node bound to input `name`; `what` names the expected kind, e.g. `dataset`. */
export function singleInput(ctx: StageContext<unknown>, kind: string, name: string, what: string): InputNode {
  const nodes = ctx.inputs[name];
  if (!nodes || nodes.length !== 1) {
    const names = Object.keys(ctx.inputs);
    const found = !nodes ? (names.length ? `inputs ${names.join(', ')}` : 'no inputs') : `${nodes.length} nodes under ${name}`;
    const hint = nodes && nodes.length > 1 ? ` (a fanned-out ${what} stage binds one node per node only when this stage has the same matrix axes: use \`foreach\`)` : '';
    throw new StageFailure(`${kind} needs exactly one ${what} node as input \`${name}\` (found ${found}): write \`inputs: { ${name}: <a ${what} stage> }\`${hint}`);
  }
  return nodes[0] as InputNode;
}

/** A JSON output of `node`, or a failure saying the input is not of the expected kind. */
export function jsonOutput(node: InputNode, output: string, name: string, what: string): Artifact & { type: 'json' } {
  const a = node.outputs[output];
  if (a?.type !== 'json') throw new StageFailure(`input ${name} (${node.nodeId}) has no ${output} output: point \`inputs.${name}\` at a stage of kind ${what}`);
  return a;
}

/** An array output of `node` with the given dtype, or a failure naming what is missing. */
export function arrayOutput(node: InputNode, output: string, dtype: DType, name: string, what: string): TypedArray {
  const a = node.outputs[output];
  if (a?.type !== 'array' || a.dtype !== dtype) {
    throw new StageFailure(`input ${name} (${node.nodeId}) has no ${dtype} array output ${output}: point \`inputs.${name}\` at a stage of kind ${what}`);
  }
  return a.data;
}

/** The dataset node bound to `data` and its metadata. */
export function datasetInput(ctx: StageContext<unknown>, kind: string): { node: InputNode; meta: DatasetMeta } {
  const node = singleInput(ctx, kind, 'data', 'dataset');
  if (node.outputs['meta']?.type !== 'json' || !node.outputs['x_train']) {
    throw new StageFailure(`input data (${node.nodeId}) is not a dataset stage: it has no x_train and meta outputs; point \`inputs.data\` at a stage of kind dataset`);
  }
  return { node, meta: jsonOutput(node, 'meta', 'data', 'dataset').value as unknown as DatasetMeta };
}
