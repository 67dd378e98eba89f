import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { NoiseKind, RestartsResult, ReturnCriterion, SigmaSummary } from '../ml/basin/restarts.js';
import type { DatasetMeta } from '../ml/data/types.js';
import type { LossName } from '../ml/loss.js';
import type { MlpLayout } from '../ml/mlp.js';
import type { OptimizerSpec } from '../ml/optim.js';
import type { TrainData } from '../ml/train-loop.js';
import type { JsonValue } from '../util/json.js';
import { StageFailure, throwIfAborted } from './failure.js';
import { arrayOutput, datasetInput, jsonOutput, singleInput } from './inputs.js';
import type { StageContext, StageDefinition } from './types.js';

/**
 * The `restarts` stage: the basin of attraction of a trained model, taken literally. For each sigma
 * of a grid and each of `draws` draws xi, train again from theta + sigma xi on the clean set S alone
 * with the model's own training settings, and report p_return(sigma) (back within a distance of
 * theta, or back to the same function on the test set) and the test accuracy reached. Claim 2 of
 * docs/science.md predicts that bad minima (trained with attack examples) are escaped at sigmas
 * where good ones return. The procedure, and every choice in it (what xi is, common random numbers,
 * both return criteria, divergence as an outcome), is src/ml/basin/restarts.ts; this file maps
 * params and inputs to it and its result to outputs.
 *
 * Outputs: `restarts` (JSON, headline: the model's fit, the retraining settings, one summary per
 * sigma with Wilson 95% intervals, every draw), `metrics` (JSON, flat per-model scalars for
 * `correlate`: see flatMetrics) and `endpoints` (float32 [sigmas, draws, d], the retrained
 * parameters; NaN rows where a retraining diverged). Timings go to the record's info only.
 */
export interface RestartsParams {
  readonly sigmas: readonly number[];
  readonly draws: number;
  readonly noise: NoiseKind;
  readonly maxEpochs: number | null;
  readonly returnBy: ReturnCriterion;
  readonly distanceTol: number;
  readonly disagreementTol: number;
  readonly seed: number | string;
}

/** What the model input provides (the train stage's `manifest`, version 2). */
interface ModelManifest {
  readonly layout: MlpLayout;
  readonly loss: LossName;
  readonly task?: 'classification' | 'regression';
  readonly stop?: string;
  readonly attack?: number;
  readonly training?: {
    readonly optimizer: OptimizerSpec;
    readonly batchSize: number;
    readonly seed: number | string;
    readonly maxEpochs: number;
    readonly tolerance: number;
    readonly evalEvery: number;
  };
}

export const restarts: StageDefinition<RestartsParams> = {
  kind: 'restarts',
  version: 1,
  schema: 'restarts.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'restarts',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const started = performance.now();
    const model = modelInput(ctx);
    const { data, meta } = cleanData(ctx, model);
    const training = model.training;
    const maxEpochs = p.maxEpochs ?? training.maxEpochs;
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, { measureRestarts }] = await Promise.all([import('../ml/runtime.js'), import('../ml/basin/restarts.js')]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    let epochs = 0;
    const r = await measureRestarts(
      tf,
      data,
      { layout: model.layout, params: model.params, loss: model.loss, optimizer: training.optimizer, batchSize: training.batchSize, tolerance: training.tolerance, evalEvery: training.evalEvery },
      { sigmas: p.sigmas, draws: p.draws, noise: p.noise, seed: p.seed, maxEpochs, distanceTol: p.distanceTol, disagreementTol: p.disagreementTol, returnBy: p.returnBy },
      {
        onEpoch: (run, total, e) => {
          throwIfAborted(ctx.signal);
          epochs++;
          const sigma = p.sigmas[Math.floor(run / p.draws)] as number;
          const metrics: Record<string, number> = { loss: e.trainLoss };
          if (e.trainAcc !== null) metrics['acc'] = e.trainAcc;
          ctx.progress({ fraction: (run + e.epoch / e.maxEpochs) / total, message: `sigma ${sigma} draw ${(run % p.draws) + 1}/${p.draws}: epoch ${e.epoch}/${e.maxEpochs}`, metrics });
        },
        onRestart: (run, total, d) => {
          throwIfAborted(ctx.signal);
          const metrics: Record<string, number> = {};
          if (d.testAcc !== null) metrics['testAcc'] = d.testAcc;
          if (d.distance !== null) metrics['distance'] = d.distance;
          if (d.disagreement !== null) metrics['disagreement'] = d.disagreement;
          const back = p.returnBy === 'distance' ? d.returnedByDistance : d.returnedByFunction;
          ctx.progress({ fraction: (run + 1) / total, message: `sigma ${d.sigma} draw ${d.draw + 1}/${p.draws}: ${back ? 'returned' : 'escaped'} (${d.stop} after ${d.epochs} epochs)`, metrics });
        },
      },
    );
    const wallMs = performance.now() - started;
    const record = {
      model: { parameters: model.layout.size, stop: model.stop ?? null, attack: model.attack ?? null, ...r.model },
      retraining: { set: 'train', examples: meta.counts.train, loss: model.loss, optimizer: training.optimizer, batchSize: training.batchSize, maxEpochs, tolerance: training.tolerance, evalEvery: training.evalEvery },
      noise: p.noise,
      returnBy: p.returnBy,
      distanceTol: p.distanceTol,
      disagreementTol: p.disagreementTol,
      retrainings: r.draws.length,
      sigmas: r.sigmas,
      draws: r.draws,
    };
    const d = model.layout.size;
    ctx.log(`${r.draws.length} retrainings (${epochs} epochs) in ${(wallMs / 1000).toFixed(1)} s on ${backend}`);
    if (model.stop !== undefined && model.stop !== 'converged') ctx.log(`note: the model (${model.nodeId}) did not converge (stop: ${model.stop}); theta is where its training stopped, not a minimum`);
    return {
      outputs: {
        restarts: { type: 'json', value: json(record) },
        metrics: { type: 'json', value: json(flatMetrics(r)) },
        endpoints: { type: 'array', dtype: 'float32', shape: [p.sigmas.length, p.draws, d], data: r.endpoints },
      },
      info: { wallMs: Math.round(wallMs), retrainings: r.draws.length, epochs, backend },
      summary: summaryLine(r, p),
    };
  },
};

/**
 * The per-model scalars a `correlate` stage gathers: per sigma `pReturn_<sigma>` (primary criterion),
 * `pReturnDistance_<sigma>`, `pReturnFunction_<sigma>`, `testAcc_<sigma>` (mean reached; classification)
 * and `disagreement_<sigma>` (mean); `pReturnMean` (the primary p_return averaged over the grid) and
 * `escapeSigma`, the smallest sigma of the grid whose primary p_return is below 1/2 (null: none).
 */
export function flatMetrics(r: RestartsResult): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const finite = (v: number | null | undefined): number | null => (v !== null && v !== undefined && Number.isFinite(v) ? v : null);
  for (const s of r.sigmas) {
    const key = String(s.sigma);
    out[`pReturn_${key}`] = s.pReturn.p;
    out[`pReturnDistance_${key}`] = s.byDistance.p;
    out[`pReturnFunction_${key}`] = s.byFunction.p;
    if (r.model.testAcc !== null) out[`testAcc_${key}`] = finite(s.testAcc?.mean);
    out[`disagreement_${key}`] = finite(s.disagreement?.mean);
  }
  const ps = r.sigmas.map((s) => s.pReturn.p ?? 0);
  out['pReturnMean'] = ps.reduce((a, b) => a + b, 0) / ps.length;
  out['escapeSigma'] = r.sigmas.find((s) => (s.pReturn.p ?? 0) < 0.5)?.sigma ?? null;
  return out;
}

/** `p_return by function (4 draws): 1.00 @0, 0.75 @0.01, 0.00 @0.1; test acc reached 66.3%..80.5% (model 66.3%)`. */
function summaryLine(r: RestartsResult, p: RestartsParams): string {
  const curve = r.sigmas.map((s) => `${s.pReturn.p === null ? '-' : s.pReturn.p.toFixed(2)} @${s.sigma}`).join(', ');
  const means = (f: (s: SigmaSummary) => number | undefined): number[] => r.sigmas.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  let reached: string;
  if (r.model.testAcc !== null) {
    const acc = means((s) => s.testAcc?.mean);
    reached = acc.length ? `test acc reached ${pct(Math.min(...acc))}..${pct(Math.max(...acc))} (model ${pct(r.model.testAcc)})` : 'every retraining diverged';
  } else {
    const loss = means((s) => s.testLoss?.mean);
    reached = loss.length ? `test loss reached ${sig(Math.min(...loss))}..${sig(Math.max(...loss))} (model ${sig(r.model.testLoss)})` : 'every retraining diverged';
  }
  return `p_return by ${p.returnBy} (${p.draws} draws): ${curve}; ${reached}`;
}

interface ModelInput extends ModelManifest {
  readonly training: NonNullable<ModelManifest['training']>;
  readonly params: Float32Array;
  readonly nodeId: string;
}

function modelInput(ctx: StageContext<RestartsParams>): ModelInput {
  const node = singleInput(ctx, 'restarts', 'model', 'train');
  const manifest = jsonOutput(node, 'manifest', 'model', 'train').value as unknown as ModelManifest;
  const params = arrayOutput(node, 'params', 'float32', 'model', 'train') as Float32Array;
  if (!manifest.layout?.spec || manifest.layout.size !== params.length) {
    throw new StageFailure(`input model (${node.nodeId}) has a manifest that does not describe its ${params.length} params: point \`inputs.model\` at a stage of kind train`);
  }
  if (!manifest.training) {
    throw new StageFailure(`the model (${node.nodeId}) does not record how it was trained (its manifest has no \`training\`: a train stage older than this basin), and restarts retrain with those settings: rerun it`);
  }
  const bad = params.findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new StageFailure(`the model (${node.nodeId}) has a non-finite parameter (${params[bad]} at index ${bad}): its training diverged; fix the train stage first`);
  if (params.every((w) => w === 0)) throw new StageFailure(`the model (${node.nodeId}) has only zero parameters: distances relative to ||theta|| are undefined; point \`inputs.model\` at a trained model`);
  return { ...manifest, training: manifest.training, params, nodeId: node.nodeId };
}

/** S and the test set of the model's dataset, as the training loop wants them; no attack examples. */
function cleanData(ctx: StageContext<RestartsParams>, model: ModelInput): { data: TrainData; meta: DatasetMeta } {
  const { node, meta } = datasetInput(ctx, 'restarts');
  const spec = model.layout.spec;
  const d = meta.features;
  const regression = meta.task === 'regression';
  const k = regression ? meta.targetDim : meta.classes;
  const remedy = 'point `inputs.data` at the dataset the model was trained on';
  if (spec.inputs !== d) throw new StageFailure(`the model (${model.nodeId}) takes ${spec.inputs} inputs but ${node.nodeId} has ${d} features: ${remedy}`);
  if (spec.outputs !== k || (model.task !== undefined && model.task !== meta.task)) {
    throw new StageFailure(`the model (${model.nodeId}) has ${spec.outputs} outputs for ${model.task ?? 'its'} task but ${node.nodeId} is a ${meta.task} set with ${k} ${regression ? 'targets' : 'classes'}: ${remedy}`);
  }
  if (meta.counts.train === 0) throw new StageFailure(`${node.nodeId} has an empty training set S, and restarts retrain on S: ${remedy}`);
  if (meta.counts.test === 0) throw new StageFailure(`${node.nodeId} has no test set, and restarts report the test accuracy reached and compare test predictions: give the dataset a test set (its \`test\` size)`);
  const x = (name: string) => arrayOutput(node, name, 'float32', 'data', 'dataset') as Float32Array;
  const y = (name: string) => arrayOutput(node, name, regression ? 'float32' : 'int32', 'data', 'dataset') as Float32Array | Int32Array;
  const data: TrainData = {
    task: meta.task,
    features: d,
    classes: meta.classes,
    targetDim: meta.targetDim,
    train: { x: x('x_train'), y: y('y_train') },
    // S alone, whatever the model was trained on: the point of restarts.
    attack: { x: new Float32Array(0), y: regression ? new Float32Array(0) : new Int32Array(0) },
    test: { x: x('x_test'), y: y('y_test') },
  };
  return { data, meta };
}

const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const sig = (v: number): string => String(Number(v.toPrecision(4)));
