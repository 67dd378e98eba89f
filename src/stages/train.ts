import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { DatasetMeta } from '../ml/data/types.js';
import type { LossName } from '../ml/loss.js';
import type { Activation, InitScheme } from '../ml/mlp.js';
import type { OptimizerSpec } from '../ml/optim.js';
import type { TrainData, TrainResult } from '../ml/train-loop.js';
import type { JsonValue } from '../util/json.js';
import type { Artifact, Outputs } from './artifact.js';
import { StageFailure, throwIfAborted } from './failure.js';
import { arrayOutput, datasetInput } from './inputs.js';
import type { StageContext, StageDefinition } from './types.js';

/**
 * The `train` stage: one MLP trained on a dataset node's S plus its first `attack` attack examples
 * (wrong labels), as docs/science.md "Good and bad minima" describes. The loop is
 * src/ml/train-loop.ts; this file maps params and artifacts to it and its result to outputs.
 * schemas/stages/train.schema.json fills every default, so params arrive complete.
 *
 * Outputs: `params` float32 [P] (the flat vector, layout in `manifest`), `layer<i>.weight`
 * float32 [in, out] and `layer<i>.bias` [out] (so `basin export` gives NumPy-loadable weights),
 * `manifest`, `curves` and `metrics` (JSON). Everything in them is a function of the inputs, the
 * params and the backend: timings go to the record's info only, so a rerun that reproduces the
 * same weights leaves downstream nodes cached (early cutoff).
 */
export interface TrainParams {
  readonly model: {
    readonly hidden: readonly number[];
    readonly activation: Activation;
    readonly init: InitScheme;
    readonly initScale: number;
    /** Absent unless written (no schema default), so existing keys stay as they were. */
    readonly biasScale?: number;
  };
  readonly loss: LossName;
  readonly optimizer: OptimizerSpec;
  readonly batchSize: number;
  readonly attack: number;
  readonly seed: number | string;
  readonly maxEpochs: number;
  readonly tolerance: number;
  readonly evalEvery: number;
}

export const train: StageDefinition<TrainParams> = {
  kind: 'train',
  // 2: the manifest records `attack` (how many attack examples the model was trained on) and
  // `training` (the params it was trained with).
  version: 2,
  schema: 'train.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'metrics',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const { data, meta } = trainData(ctx);
    const backend = ctx.runtime['backend'] as BackendName;
    // TF.js and the loop load only when a node runs: planning and cached runs never pay for them.
    const [{ loadTf }, { trainMlp }] = await Promise.all([import('../ml/runtime.js'), import('../ml/train-loop.js')]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    const result = await trainMlp(
      tf,
      data,
      {
        model: p.model,
        loss: p.loss,
        optimizer: p.optimizer,
        batchSize: p.batchSize,
        seed: p.seed,
        maxEpochs: p.maxEpochs,
        tolerance: p.tolerance,
        evalEvery: p.evalEvery,
      },
      {
        onEpoch: (e) => {
          throwIfAborted(ctx.signal);
          const metrics: Record<string, number> = { loss: e.trainLoss };
          if (e.trainAcc !== null) metrics['acc'] = e.trainAcc;
          if (e.attackAcc !== null) metrics['attackAcc'] = e.attackAcc;
          ctx.progress({ fraction: e.epoch / e.maxEpochs, message: `epoch ${e.epoch}/${e.maxEpochs}`, metrics });
        },
      },
    );
    const stepsPerSec = result.steps / (result.wallMs / 1000);
    ctx.log(
      `${result.stop} after ${result.epochs} epochs (${result.steps} steps, ${(result.wallMs / 1000).toFixed(1)} s, ` +
        `${stepsPerSec.toFixed(0)} steps/s on ${backend}): train acc ${fmt(result.metrics.trainAcc)}, test acc ${fmt(result.metrics.testAcc)}`,
    );
    return {
      outputs: outputsOf(result, p, meta),
      info: { stop: result.stop, epochs: result.epochs, steps: result.steps, wallMs: Math.round(result.wallMs), stepsPerSec: Math.round(stepsPerSec), backend },
      summary:
        result.metrics.trainAcc === null
          ? // Regression: no accuracy; the losses say how well it fits.
            `${result.stop} after ${result.epochs} epochs: loss on S ${num(result.metrics.trainLoss)}, test ${num(result.metrics.testLoss)}`
          : `${result.stop} after ${result.epochs} epochs: S ${fmt(result.metrics.trainAcc)}${result.metrics.attackAcc === null ? '' : `, A ${fmt(result.metrics.attackAcc)}`}, test ${fmt(result.metrics.testAcc)}`,
    };
  },
};

/** The dataset node's arrays as the loop wants them, checked; |A| cut from the attack pool. */
function trainData(ctx: StageContext<TrainParams>): { data: TrainData; meta: DatasetMeta } {
  const p = ctx.params;
  const { node, meta } = datasetInput(ctx, 'train');
  const regression = meta.task === 'regression';
  if (regression && p.loss === 'cross-entropy') {
    throw new StageFailure(`loss cross-entropy needs class labels, but ${node.nodeId} is a regression set (source ${meta.source}): use loss: mse`);
  }
  const pool = meta.counts.attack;
  if (p.attack > pool) {
    throw new StageFailure(`attack: ${p.attack} asks for more attack examples than ${node.nodeId} has (its attack pool holds ${pool}); lower attack or raise the dataset's attack size`);
  }
  const d = meta.features;
  const x = (name: string) => arrayOutput(node, name, 'float32', 'data', 'dataset') as Float32Array;
  const y = (name: string) => arrayOutput(node, name, regression ? 'float32' : 'int32', 'data', 'dataset') as Float32Array | Int32Array;
  const data: TrainData = {
    task: meta.task,
    features: d,
    classes: meta.classes,
    targetDim: meta.targetDim,
    train: { x: x('x_train'), y: y('y_train') },
    // A regression set has no attack pool (p.attack is 0 by the check above).
    attack: regression ? { x: new Float32Array(0), y: new Float32Array(0) } : { x: x('x_attack').subarray(0, p.attack * d), y: (arrayOutput(node, 'y_attack', 'int32', 'data', 'dataset') as Int32Array).subarray(0, p.attack) },
    test: { x: x('x_test'), y: y('y_test') },
  };
  return { data, meta };
}

function outputsOf(r: TrainResult, p: TrainParams, meta: DatasetMeta): Outputs {
  const outputs: Record<string, Artifact> = {
    params: { type: 'array', dtype: 'float32', shape: [r.params.length], data: r.params },
    manifest: {
      type: 'json',
      value: json({
        layout: r.layout,
        activation: p.model.activation,
        loss: p.loss,
        task: meta.task,
        classes: meta.classes,
        inputShape: meta.inputShape,
        stop: r.stop,
        epochs: r.epochs,
        // The training set was S plus the first `attack` examples of the pool (hessian: `train+attack`).
        attack: p.attack,
        // How the model was trained, for stages that train again from nearby points (restarts).
        training: { model: p.model, loss: p.loss, optimizer: p.optimizer, batchSize: p.batchSize, seed: p.seed, maxEpochs: p.maxEpochs, tolerance: p.tolerance, evalEvery: p.evalEvery },
      }),
    },
    curves: { type: 'json', value: json(r.curves) },
    metrics: { type: 'json', value: json(r.metrics) },
  };
  r.layout.layers.forEach(({ weight, bias }, i) => {
    // Copies (slice), not views: each output owns its buffer when it crosses the thread boundary.
    outputs[`layer${i}.weight`] = { type: 'array', dtype: 'float32', shape: [...weight.shape], data: r.params.slice(weight.offset, weight.offset + size(weight.shape)) };
    outputs[`layer${i}.bias`] = { type: 'array', dtype: 'float32', shape: [...bias.shape], data: r.params.slice(bias.offset, bias.offset + size(bias.shape)) };
  });
  return outputs;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
const fmt = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null): string => (v === null ? '-' : Number(v.toPrecision(3)).toString());
