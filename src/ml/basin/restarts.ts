import type { Tensor1D } from '@tensorflow/tfjs';
import type { LossName } from '../loss.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet, type EvalSet } from '../metrics.js';
import { mlpForward, type MlpLayout } from '../mlp.js';
import type { OptimizerSpec } from '../optim.js';
import { Rng } from '../rng.js';
import type { TF } from '../runtime.js';
import { oneHot, trainMlp, TrainingDiverged, type EpochReport, type TrainData } from '../train-loop.js';
import { filterNormalise } from './directions.js';

/**
 * The basin of attraction, taken literally (docs/science.md "Basin of attraction (restarts)"): from
 * theta + sigma xi, train again on the clean set S alone with the model's own training settings, and
 * ask whether training came back to theta, for a grid of sigma and several draws of xi each.
 *
 * - xi. `gaussian`: xi ~ N(0, I_d), so sigma is the standard deviation of every parameter's
 *   perturbation and ||sigma xi|| is about sigma sqrt(d). `filter`: the same Gaussian draw
 *   filter-normalised (directions.ts): each neuron's incoming weights of xi get the norm of that
 *   neuron's weights in theta and biases are not perturbed, so sigma is the perturbation RELATIVE to
 *   each neuron's weights (invariant to the layer rescalings of Dinh et al. 2017). Either way
 *   ||sigma xi|| / ||theta|| is reported per draw.
 * - Draws. Draw j uses the same xi_j (stream `perturbation-<j>` of the seed) and the same batch order
 *   (seed `<seed>/retrain-<j>`, whose stream `batches` orders the batches) at EVERY sigma: common
 *   random numbers, so p_return(sigma) compares the same directions at growing scales and is smoother
 *   than independent draws would make it. sigma 0 is allowed: its draws differ only by batch order,
 *   and measure how far retraining alone moves a minimum (the optimiser restarts with zero state).
 * - Retraining: train-loop.ts from the perturbed point (its `init`), on S only (no attack examples,
 *   even for a model trained with them: a bad minimum of L_{S+A} need not be one of L_S), with the
 *   model's loss, optimiser, batch size, tolerance, evalEvery and stop rule, and `maxEpochs`. The loop
 *   always trains at least one epoch, so a start that still fits S within the tolerance stops after it.
 *   A retraining whose loss becomes non-finite is recorded as `diverged` (it did not return), not
 *   raised: at large sigma that is an outcome, not a bug.
 * - Returned. By `distance`: ||theta' - theta|| / ||theta|| <= distanceTol. By `function`: the
 *   disagreement with theta on the test set is at most disagreementTol, where disagreement is the
 *   fraction of test examples whose predicted class differs (classification) or the relative change
 *   of the test outputs ||f'(X) - f(X)||_F / ||f(X)||_F (regression). Both are reported; `returnBy`
 *   picks the primary one. Minima of overparametrised nets are not isolated points (with
 *   cross-entropy they are not even attained), so training from a nearby point typically stops on the
 *   valley floor near where it started: the distance criterion mostly measures the perturbation plus
 *   the optimiser's drift (compare the sigma 0 row), the function criterion whether the same solution
 *   was found.
 * - Proportions come with Wilson 95% score intervals (sound at 0 and n successes, unlike Wald's).
 */
export type NoiseKind = 'gaussian' | 'filter';
export type ReturnCriterion = 'function' | 'distance';
export type RestartStop = 'converged' | 'max-epochs' | 'diverged';

export interface RestartOptions {
  readonly sigmas: readonly number[];
  readonly draws: number;
  readonly noise: NoiseKind;
  readonly seed: number | string;
  readonly maxEpochs: number;
  readonly distanceTol: number;
  readonly disagreementTol: number;
  readonly returnBy: ReturnCriterion;
}

/** The minimum restarted from, and how it was trained. */
export interface RestartModel {
  readonly layout: MlpLayout;
  readonly params: Float32Array;
  readonly loss: LossName;
  readonly optimizer: OptimizerSpec;
  readonly batchSize: number;
  readonly tolerance: number;
  readonly evalEvery: number;
}

export interface RestartHooks {
  /** After every epoch of every retraining (`run` counts retrainings from 0). May throw to stop. */
  onEpoch?(run: number, total: number, report: EpochReport): void;
  /** After every retraining. May throw to stop. */
  onRestart?(run: number, total: number, draw: RestartDraw): void;
}

/** Fit of the model itself on S and the test set. */
export interface ModelFit {
  readonly paramNorm: number;
  readonly trainLoss: number;
  readonly trainAcc: number | null;
  readonly testLoss: number;
  readonly testAcc: number | null;
}

export interface RestartDraw {
  readonly sigma: number;
  readonly draw: number;
  /** ||sigma xi||. */
  readonly perturbationNorm: number;
  /** ||sigma xi|| / ||theta||. */
  readonly relativePerturbation: number;
  /** L_S and accuracies at the perturbed start (before any step). */
  readonly start: { readonly trainLoss: number | null; readonly trainAcc: number | null; readonly testAcc: number | null };
  readonly stop: RestartStop;
  readonly epochs: number;
  /** At the end of retraining; null when it diverged. */
  readonly trainLoss: number | null;
  readonly trainAcc: number | null;
  readonly testLoss: number | null;
  readonly testAcc: number | null;
  /** ||theta' - theta|| / ||theta||. */
  readonly distance: number | null;
  /** Test-set disagreement with theta (see above). */
  readonly disagreement: number | null;
  readonly returnedByDistance: boolean;
  readonly returnedByFunction: boolean;
}

/** k of n with a Wilson 95% interval; p, low and high are null when n is 0. */
export interface Proportion {
  readonly returned: number;
  readonly draws: number;
  readonly p: number | null;
  readonly low: number | null;
  readonly high: number | null;
}

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

export interface SigmaSummary {
  readonly sigma: number;
  readonly draws: number;
  readonly relativePerturbation: Spread;
  /** By the primary criterion (`returnBy`). */
  readonly pReturn: Proportion & { readonly by: ReturnCriterion };
  readonly byDistance: Proportion;
  readonly byFunction: Proportion;
  /** Over the retrainings that did not diverge; null when every one did (or, for accuracy, without classes). */
  readonly testAcc: Spread | null;
  readonly testLoss: Spread | null;
  readonly trainAcc: Spread | null;
  readonly distance: Spread | null;
  readonly disagreement: Spread | null;
  readonly epochs: Spread;
  readonly stops: Readonly<Record<RestartStop, number>>;
}

export interface RestartsResult {
  readonly model: ModelFit;
  readonly sigmas: readonly SigmaSummary[];
  readonly draws: readonly RestartDraw[];
  /** The retrained parameters, [sigmas, draws, d] row-major; NaN rows where a retraining diverged. */
  readonly endpoints: Float32Array;
}

/** z of a two-sided 95% normal interval. */
const Z95 = 1.959963984540054;

/** The Wilson score interval for k successes in n trials. */
export function wilson(k: number, n: number, z = Z95): Proportion {
  if (n === 0) return { returned: k, draws: n, p: null, low: null, high: null };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // Clamped: at k = 0 or n the bound is 0 or 1 analytically, up to rounding.
  return { returned: k, draws: n, p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** xi for one draw (float64, length d): `gaussian` N(0, I_d) or that draw filter-normalised to theta. */
export function perturbation(layout: MlpLayout, theta: Float32Array, noise: NoiseKind, rng: Rng): Float64Array {
  const xi = new Float64Array(layout.size);
  for (let i = 0; i < xi.length; i++) xi[i] = rng.normal();
  return noise === 'gaussian' ? xi : filterNormalise(layout, theta, xi);
}

export async function measureRestarts(tf: TF, data: TrainData, model: RestartModel, options: RestartOptions, hooks: RestartHooks = {}): Promise<RestartsResult> {
  const { layout, params: theta } = model;
  const classification = data.task === 'classification';
  const k = layout.spec.outputs;
  if (data.attack.x.length !== 0) throw new Error('internal error: restarts retrain on S alone');
  const sets: EvalSet[] = [];
  const upload = (s: TrainData['test']): EvalSet => {
    const set = uploadEvalSet(tf, s.x, classification ? oneHot(s.y, k) : (s.y as Float32Array), classification ? (s.y as Int32Array) : undefined, data.features, k);
    sets.push(set);
    return set;
  };
  try {
    const S = upload(data.train);
    const T = upload(data.test);
    const thetaNorm = norm64(theta);
    const fitS = withParams(tf, theta, (p) => evaluateSet(tf, layout, p, model.loss, S));
    const fitT = withParams(tf, theta, (p) => evaluateSet(tf, layout, p, model.loss, T));
    const modelFit: ModelFit = { paramNorm: thetaNorm, trainLoss: fitS.loss, trainAcc: fitS.acc, testLoss: fitT.loss, testAcc: fitT.acc };
    const reference = testOutputs(tf, layout, theta, T, classification);

    const { sigmas, draws: D } = options;
    const total = sigmas.length * D;
    const endpoints = new Float32Array(total * layout.size);
    const root = new Rng(options.seed);
    const results: RestartDraw[] = [];
    for (let s = 0; s < sigmas.length; s++) {
      const sigma = sigmas[s] as number;
      for (let j = 0; j < D; j++) {
        const run = s * D + j;
        // Drawn again for every sigma (d normals: nothing next to a retraining), so memory stays O(d).
        const xi = perturbation(layout, theta, options.noise, root.derive(`perturbation-${j}`));
        const init = new Float32Array(layout.size);
        for (let i = 0; i < init.length; i++) init[i] = (theta[i] as number) + sigma * (xi[i] as number);
        const perturbationNorm = sigma * norm64(xi);
        const base = { sigma, draw: j, perturbationNorm, relativePerturbation: perturbationNorm / thetaNorm };
        let result: RestartDraw;
        try {
          const r = await trainMlp(
            tf,
            data,
            {
              model: { hidden: layout.spec.hidden, activation: layout.spec.activation, init: layout.spec.init, ...(layout.spec.initScale !== undefined ? { initScale: layout.spec.initScale } : {}) },
              loss: model.loss,
              optimizer: model.optimizer,
              batchSize: model.batchSize,
              seed: root.derive(`retrain-${j}`).seed,
              maxEpochs: options.maxEpochs,
              tolerance: model.tolerance,
              evalEvery: model.evalEvery,
              init,
            },
            { onEpoch: (e) => hooks.onEpoch?.(run, total, e) },
          );
          endpoints.set(r.params, run * layout.size);
          const distance = distance64(r.params, theta) / thetaNorm;
          const disagreement = disagreementOf(reference, testOutputs(tf, layout, r.params, T, classification));
          result = {
            ...base,
            start: { trainLoss: r.curves.trainLoss[0] ?? null, trainAcc: r.curves.trainAcc[0] ?? null, testAcc: r.curves.testAcc[0] ?? null },
            stop: r.stop,
            epochs: r.epochs,
            trainLoss: r.metrics.trainLoss,
            trainAcc: r.metrics.trainAcc,
            testLoss: r.metrics.testLoss,
            testAcc: r.metrics.testAcc,
            distance,
            disagreement,
            returnedByDistance: distance <= options.distanceTol,
            returnedByFunction: disagreement <= options.disagreementTol,
          };
        } catch (e) {
          if (!(e instanceof TrainingDiverged)) throw e;
          endpoints.fill(Number.NaN, run * layout.size, (run + 1) * layout.size);
          const start = startFit(tf, layout, model.loss, init, S, T);
          result = { ...base, start, stop: 'diverged', epochs: e.epoch, trainLoss: null, trainAcc: null, testLoss: null, testAcc: null, distance: null, disagreement: null, returnedByDistance: false, returnedByFunction: false };
        }
        results.push(result);
        hooks.onRestart?.(run, total, result);
      }
    }
    return { model: modelFit, sigmas: sigmas.map((sigma) => summarise(sigma, results.filter((r) => r.sigma === sigma), options.returnBy)), draws: results, endpoints };
  } finally {
    sets.forEach(disposeEvalSet);
  }
}

/** The summary of one sigma's draws. */
export function summarise(sigma: number, draws: readonly RestartDraw[], returnBy: ReturnCriterion): SigmaSummary {
  const n = draws.length;
  const byDistance = wilson(draws.filter((d) => d.returnedByDistance).length, n);
  const byFunction = wilson(draws.filter((d) => d.returnedByFunction).length, n);
  const finished = draws.filter((d) => d.stop !== 'diverged');
  const of = (f: (d: RestartDraw) => number | null): Spread | null => spread(finished.map(f).filter((v): v is number => v !== null));
  const stops: Record<RestartStop, number> = { converged: 0, 'max-epochs': 0, diverged: 0 };
  for (const d of draws) stops[d.stop]++;
  return {
    sigma,
    draws: n,
    relativePerturbation: spread(draws.map((d) => d.relativePerturbation)) ?? { mean: 0, min: 0, max: 0 },
    pReturn: { by: returnBy, ...(returnBy === 'distance' ? byDistance : byFunction) },
    byDistance,
    byFunction,
    testAcc: of((d) => d.testAcc),
    testLoss: of((d) => d.testLoss),
    trainAcc: of((d) => d.trainAcc),
    distance: of((d) => d.distance),
    disagreement: of((d) => d.disagreement),
    epochs: spread(draws.map((d) => d.epochs)) ?? { mean: 0, min: 0, max: 0 },
    stops,
  };
}

/** Mean, min and max (float64); null for no values. */
export function spread(values: readonly number[]): Spread | null {
  if (!values.length) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return { mean: sum / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Disagreement between two models' test outputs: the fraction of differing predicted classes
 * (int32 class arrays), or ||b - a||_F / ||a||_F (float32 outputs, regression).
 */
export function disagreementOf(a: Int32Array | Float32Array, b: Int32Array | Float32Array): number {
  if (a.length !== b.length) throw new Error(`internal error: ${a.length} vs ${b.length} test outputs`);
  if (a instanceof Int32Array) {
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
    return a.length ? differ / a.length : 0;
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((b[i] as number) - (a[i] as number)) ** 2;
    den += (a[i] as number) ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : num > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** The model's predicted classes (classification) or raw outputs (regression, [n, k]) on `set`, chunk by chunk. */
function testOutputs(tf: TF, layout: MlpLayout, params: Float32Array, set: EvalSet, classification: boolean): Int32Array | Float32Array {
  return withParams(tf, params, (p) => {
    const parts = set.chunks.map((c) => {
      const t = tf.tidy(() => {
        const out = mlpForward(tf, layout, p, c.x);
        return classification ? tf.argMax(out, 1) : out;
      });
      const values = t.dataSync();
      t.dispose();
      return values as Int32Array | Float32Array;
    });
    const out = classification ? new Int32Array(parts.reduce((s, q) => s + q.length, 0)) : new Float32Array(parts.reduce((s, q) => s + q.length, 0));
    let o = 0;
    for (const q of parts) {
      out.set(q, o);
      o += q.length;
    }
    return out;
  });
}

/** Fit at a start point whose retraining diverged (the loop's epoch-0 numbers were lost with it). */
function startFit(tf: TF, layout: MlpLayout, loss: LossName, init: Float32Array, S: EvalSet, T: EvalSet): RestartDraw['start'] {
  return withParams(tf, init, (p) => {
    const s = evaluateSet(tf, layout, p, loss, S);
    return { trainLoss: Number.isFinite(s.loss) ? s.loss : null, trainAcc: s.acc, testAcc: evaluateSet(tf, layout, p, loss, T).acc };
  });
}

function withParams<T>(tf: TF, params: Float32Array, f: (p: Tensor1D) => T): T {
  const p = tf.tensor1d(params);
  try {
    return f(p);
  } finally {
    p.dispose();
  }
}

function norm64(v: Float32Array | Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function distance64(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}
