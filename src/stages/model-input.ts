import type { ExampleArrays } from '../ml/curvature.js';
import type { LossName } from '../ml/loss.js';
import type { MlpLayout } from '../ml/mlp.js';
import { StageFailure } from './failure.js';
import { arrayOutput, datasetInput, jsonOutput, singleInput } from './inputs.js';
import type { StageContext } from './types.js';

/**
 * What the landscape stages (hessian, basin-volume, slice, sharpness) read: a trained model (a train
 * node's `manifest` and `params`) and named example sets of the dataset it was trained on, checked
 * against each other, with errors that say which input to fix and how.
 */

/** Example sets: the clean training set S, the test set, the attack examples the model was trained on (wrong labels), or S plus those. */
export type SetName = 'train' | 'test' | 'attack' | 'train+attack';

/** A trained model as the train stage's `manifest` and `params` describe it. */
export interface ModelInput {
  readonly layout: MlpLayout;
  readonly loss: LossName;
  /** Attack examples it was trained on (absent in manifests older than train v2). */
  readonly attack?: number;
  readonly stop?: string;
  readonly params: Float32Array;
  readonly nodeId: string;
}

/** The train node bound to input `name`, checked (layout matches params, every parameter finite). */
export function readModel(ctx: StageContext<unknown>, kind: string, name: string): ModelInput {
  const node = singleInput(ctx, kind, name, 'train');
  const manifest = jsonOutput(node, 'manifest', name, 'train').value as unknown as Omit<ModelInput, 'params' | 'nodeId'>;
  const params = arrayOutput(node, 'params', 'float32', name, 'train') as Float32Array;
  if (!manifest.layout?.spec || manifest.layout.size !== params.length) {
    throw new StageFailure(`input ${name} (${node.nodeId}) has a manifest that does not describe its ${params.length} params: point \`inputs.${name}\` at a stage of kind train`);
  }
  const bad = params.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new StageFailure(`the model (${node.nodeId}) has a non-finite parameter (${params[bad]} at index ${bad}): its training diverged; fix the train stage first`);
  return { layout: manifest.layout, loss: manifest.loss, attack: manifest.attack, stop: manifest.stop, params, nodeId: node.nodeId } as ModelInput;
}

export interface NamedSet extends ExampleArrays {
  readonly name: SetName;
}

/**
 * The example sets `names` of the dataset bound to `data`, as arrays: `train` (S), `test`, `attack`
 * (the attack examples `model` was trained on, with their wrong labels) and `train+attack`.
 */
export function readSets(ctx: StageContext<unknown>, kind: string, model: ModelInput, names: readonly SetName[]): NamedSet[] {
  const { node, meta } = datasetInput(ctx, kind);
  const spec = model.layout.spec;
  const d = meta.features;
  if (spec.inputs !== d) {
    throw new StageFailure(`the model (${model.nodeId}) takes ${spec.inputs} inputs but ${node.nodeId} has ${d} features: point \`inputs.data\` at the dataset the model was trained on`);
  }
  const regression = meta.task === 'regression';
  const k = regression ? meta.targetDim : meta.classes;
  if (spec.outputs !== k) {
    throw new StageFailure(`the model (${model.nodeId}) has ${spec.outputs} outputs but ${node.nodeId} has ${k} ${regression ? 'targets' : 'classes'}: point \`inputs.data\` at the dataset the model was trained on`);
  }
  const x = (out: string) => arrayOutput(node, out, 'float32', 'data', 'dataset') as Float32Array;
  const y = (out: string) => arrayOutput(node, out, regression && out !== 'y_attack' ? 'float32' : 'int32', 'data', 'dataset') as Float32Array | Int32Array;
  const attackCount = (name: SetName): number => {
    if (model.attack === undefined) {
      throw new StageFailure(`set ${name} needs to know how many attack examples ${model.nodeId} was trained on, and its manifest does not say (a train stage older than this basin): rerun it, or drop ${name} from the sets`);
    }
    if (model.attack > meta.counts.attack) {
      throw new StageFailure(`the model (${model.nodeId}) was trained on ${model.attack} attack examples but ${node.nodeId} has ${meta.counts.attack}: point \`inputs.data\` at the dataset the model was trained on`);
    }
    return model.attack;
  };
  return names.map((name) => {
    const parts: { x: Float32Array; y: Float32Array | Int32Array }[] = [];
    if (name === 'train' || name === 'train+attack') parts.push({ x: x('x_train'), y: y('y_train') });
    if (name === 'attack' || name === 'train+attack') {
      const m = attackCount(name);
      if (m > 0) parts.push({ x: x('x_attack').subarray(0, m * d), y: y('y_attack').subarray(0, m) });
    }
    if (name === 'test') parts.push({ x: x('x_test'), y: y('y_test') });
    const n = parts.reduce((s, q) => s + q.x.length / d, 0);
    if (n === 0) {
      const why = name === 'attack' ? `${model.nodeId} was trained on no attack examples` : `${node.nodeId} has no ${name} examples`;
      throw new StageFailure(`set ${name} is empty (${why}): drop ${name} from the sets, or use a dataset and model that have such examples`);
    }
    const xs = concat(parts.map((q) => q.x), Float32Array);
    if (regression) return { name, x: xs, targets: concat(parts.map((q) => q.y as Float32Array), Float32Array), n, features: d, k };
    const labels = concat(parts.map((q) => q.y as Int32Array), Int32Array);
    const targets = new Float32Array(n * k);
    labels.forEach((c, i) => (targets[i * k + c] = 1));
    return { name, x: xs, targets, labels, n, features: d, k };
  });
}

export function concat<T extends Float32Array | Int32Array>(parts: readonly T[], ctor: { new (n: number): T }): T {
  if (parts.length === 1) return parts[0] as T;
  const out = new ctor(parts.reduce((s, q) => s + q.length, 0));
  let o = 0;
  for (const q of parts) {
    out.set(q, o);
    o += q.length;
  }
  return out;
}


/**
 * The loss set of a curvature or volume measurement: S, or S plus the attack examples the model was
 * trained on, as one set, with a description for the stage's record.
 */
export function readLossSet(
  ctx: StageContext<unknown>,
  kind: string,
  model: ModelInput,
  examples: 'train' | 'train+attack',
): NamedSet & { readonly train: number; readonly attack: number } {
  const [set] = readSets(ctx, kind, model, [examples]);
  const train = readSets(ctx, kind, model, ['train'])[0]?.n ?? 0;
  return { ...(set as NamedSet), train, attack: (set as NamedSet).n - train };
}
