import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { LossName } from './loss.js';
import { disposeEvalSet, evaluateSet, inputGradEnergy, lossGradNorm, uploadEvalSet, vectorNorm, type EvalSet, type SetFit } from './metrics.js';
import { initParams, mlpLayout, type Activation, type InitScheme, type MlpLayout } from './mlp.js';
import { learningRate, type OptimizerSpec } from './optim.js';
import { Rng } from './rng.js';
import type { TF } from './runtime.js';
import { disposeTrainee, flatParams, initTrainee, trainStep, type Trainee } from './train-step.js';
import { StageFailure } from '../stages/failure.js';

/**
 * Training one MLP on S plus the first |A| attack examples (with their wrong labels), the recipe of
 * docs/science.md "Good and bad minima". Independent of the stage machinery, so it can be tested
 * with arrays built in a test.
 *
 * Each epoch: a seeded permutation of the training rows (stream `batches` of the model seed) cut
 * into batches of `batchSize` (the last one may be smaller), one optimiser step per batch; `gd`
 * takes one step per epoch on the whole training set.
 *
 * Evaluation points, at epoch 0, every `evalEvery` epochs and at `maxEpochs`: the parameters are
 * evaluated on S, A and the test set (forward passes in fixed chunks) and a curve point is kept.
 * The stop rule is checked there: `converged` when every example of S and of A is classified as
 * labelled and the clean loss L_S is below `tolerance` (regression: L_S below `tolerance`), else
 * `max-epochs` after the last epoch. With evalEvery 1 (the default) the epoch count is exact; a
 * larger evalEvery trades that for speed. A non-finite loss there throws TrainingDiverged.
 *
 * Speed: each step runs in one tf.tidy (loss, gradient, update; train-step.ts, parameters held
 * per layer, bit-identical to the flat vector), the batch is assembled on the host and uploaded
 * once, and nothing is downloaded to the host between evaluations.
 */
export interface ModelOptions {
  readonly hidden: readonly number[];
  readonly activation: Activation;
  readonly init: InitScheme;
  readonly initScale?: number;
  readonly biasScale?: number;
}

export interface TrainOptions {
  readonly model: ModelOptions;
  readonly loss: LossName;
  readonly optimizer: OptimizerSpec;
  /** Rows per step (ignored by `gd`). */
  readonly batchSize: number;
  /** The model seed: initialisation (stream `init`) and batch order (stream `batches`). */
  readonly seed: number | string;
  readonly maxEpochs: number;
  /** Target for the clean training loss L_S. */
  readonly tolerance: number;
  /** Epochs between curve points. */
  readonly evalEvery: number;
  /**
   * Start from these flat parameters (mlp.ts layout of `model`) instead of a seeded initialisation:
   * what restarts from a perturbed minimum need. The optimiser state starts at zero all the same,
   * and the seed still fixes the batch order (stream `batches`; stream `init` is then not drawn).
   */
  readonly init?: Float32Array;
}

/** Rows of one set: `x` is [n, features] row-major; `y` labels (int32 [n]) or targets (float32 [n, targetDim]). */
export interface ArraySet {
  readonly x: Float32Array;
  readonly y: Int32Array | Float32Array;
}

export interface TrainData {
  readonly task: 'classification' | 'regression';
  readonly features: number;
  /** Classes (classification; labels are 0..classes-1). */
  readonly classes: number;
  /** Target dimension (regression). */
  readonly targetDim: number;
  /** The clean training set S. */
  readonly train: ArraySet;
  /** The attack examples to train on (already cut to the first |A|), labels WRONG. */
  readonly attack: ArraySet;
  readonly test: ArraySet;
}

export type StopReason = 'converged' | 'max-epochs';

export interface EpochReport {
  readonly epoch: number;
  readonly maxEpochs: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainAcc: number | null;
  readonly attackLoss: number | null;
  readonly attackAcc: number | null;
}

export interface TrainHooks {
  /**
   * After every epoch (the event loop has had a turn first, so abort messages are seen). May
   * throw to stop training; every tensor is disposed on the way out.
   */
  onEpoch?(report: EpochReport): void | Promise<void>;
}

/** Curve points: parallel arrays; null where a set is empty or has no labels. */
export interface Curves {
  readonly epoch: number[];
  readonly trainLoss: (number | null)[];
  readonly trainAcc: (number | null)[];
  readonly attackLoss: (number | null)[];
  readonly attackAcc: (number | null)[];
  readonly testLoss: (number | null)[];
  readonly testAcc: (number | null)[];
}

export interface FitMetrics {
  readonly trainLoss: number | null;
  readonly trainAcc: number | null;
  readonly attackLoss: number | null;
  readonly attackAcc: number | null;
  readonly testLoss: number | null;
  readonly testAcc: number | null;
  /** trainAcc - testAcc. */
  readonly gap: number | null;
  /** testLoss - trainLoss. */
  readonly lossGap: number | null;
  /** ||grad L_S(theta)||, the clean loss on the whole of S. */
  readonly gradNorm: number | null;
  readonly paramNorm: number;
  /** (1/|S|) sum ||J_f(x_i)||_F^2 over S; see metrics.ts inputGradEnergy. */
  readonly inputGradEnergy: number | null;
  readonly epochs: number;
  readonly stop: StopReason;
  readonly steps: number;
}

export interface TrainResult {
  readonly layout: MlpLayout;
  readonly params: Float32Array;
  readonly stop: StopReason;
  readonly epochs: number;
  readonly steps: number;
  readonly wallMs: number;
  readonly curves: Curves;
  readonly metrics: FitMetrics;
}

/** The loss became NaN or infinite: an expected failure with a remedy, shown without a stack. */
export class TrainingDiverged extends StageFailure {
  constructor(readonly epoch: number, readonly loss: number, readonly lr: number) {
    super(`training diverged at epoch ${epoch} (loss ${String(loss)}); lower optimizer.lr (now ${lr})`, { epoch, loss: String(loss), lr });
    this.name = 'TrainingDiverged';
  }
}

export async function trainMlp(tf: TF, data: TrainData, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const started = performance.now();
  const classification = data.task === 'classification';
  const layout = mlpLayout({
    inputs: data.features,
    hidden: options.model.hidden,
    outputs: classification ? data.classes : data.targetDim,
    activation: options.model.activation,
    init: options.model.init,
    ...(options.model.initScale !== undefined ? { initScale: options.model.initScale } : {}),
    ...(options.model.biasScale ? { biasScale: options.model.biasScale } : {}),
  });
  if (options.init && options.init.length !== layout.size) {
    throw new Error(`internal error: init has ${options.init.length} parameters, but the model has ${layout.size}`);
  }
  const rng = new Rng(options.seed);
  const batchRng = rng.derive('batches');
  const spec = options.optimizer;
  const d = data.features;
  const k = layout.spec.outputs;
  const targetsOf = (s: ArraySet): Float32Array => (classification ? oneHot(s.y, k) : (s.y as Float32Array));
  const labelsOf = (s: ArraySet): Int32Array | undefined => (classification ? (s.y as Int32Array) : undefined);
  const rows = new TrainingRows([data.train, data.attack].map((s) => ({ x: s.x, targets: targetsOf(s) })), d, k);
  const n = rows.n;
  if (n === 0) throw new Error('internal error: empty training set');
  const nS = rowsOf(data.train, d);

  const sets: EvalSet[] = [];
  const upload = (s: ArraySet): EvalSet => {
    const set = uploadEvalSet(tf, s.x, targetsOf(s), labelsOf(s), d, k);
    sets.push(set);
    return set;
  };
  let full: { x: Tensor2D; y: Tensor2D } | undefined;
  let current: Trainee | undefined;
  let flat: Tensor1D | undefined;
  try {
    const S = upload(data.train);
    const A = upload(data.attack);
    const T = upload(data.test);
    // Full-batch GD steps on every training row at once: uploaded once.
    if (spec.name === 'gd') {
      const all = rows.all();
      full = { x: tf.tensor2d(all.x, [n, d]), y: tf.tensor2d(all.targets, [n, k]) };
    }

    current = initTrainee(tf, layout, spec, options.init ?? initParams(layout, rng.derive('init')));
    const curves: Curves = { epoch: [], trainLoss: [], trainAcc: [], attackLoss: [], attackAcc: [], testLoss: [], testAcc: [] };
    // Evaluations use the canonical model, mlpForward on the flat vector.
    const fit = (set: EvalSet): SetFit | null => (set.n > 0 ? evaluateSet(tf, layout, flat as Tensor1D, options.loss, set) : null);
    const refreshFlat = (): Tensor1D => {
      flat?.dispose();
      return (flat = flatParams(tf, current as Trainee));
    };
    refreshFlat();
    let fitS = fit(S);
    let fitA = fit(A);
    let fitT = fit(T);
    const addPoint = (epoch: number): void => {
      curves.epoch.push(epoch);
      curves.trainLoss.push(finite(fitS?.loss));
      curves.trainAcc.push(fitS?.acc ?? null);
      curves.attackLoss.push(finite(fitA?.loss));
      curves.attackAcc.push(fitA?.acc ?? null);
      curves.testLoss.push(finite(fitT?.loss));
      curves.testAcc.push(fitT?.acc ?? null);
    };
    addPoint(0);

    const batch = Math.max(1, Math.min(options.batchSize, n));
    let steps = 0;
    let epoch = 0;
    let stop: StopReason = 'max-epochs';
    while (epoch < options.maxEpochs) {
      epoch++;
      const lr = learningRate(spec, epoch);
      if (full) {
        current = trainStep(tf, layout, options.loss, spec, lr, current, full.x, full.y);
        steps++;
      } else {
        const order = batchRng.permutation(n);
        for (let start = 0; start < n; start += batch) {
          const b = rows.gather(order.subarray(start, Math.min(n, start + batch)));
          const xb = tf.tensor2d(b.x, [b.rows, d]);
          const yb = tf.tensor2d(b.targets, [b.rows, k]);
          try {
            current = trainStep(tf, layout, options.loss, spec, lr, current, xb, yb);
          } finally {
            xb.dispose();
            yb.dispose();
          }
          steps++;
        }
      }

      // An evaluation point: every evalEvery epochs and at the last epoch (known only after it).
      if (epoch % options.evalEvery === 0 || epoch === options.maxEpochs) {
        refreshFlat();
        fitS = fit(S);
        fitA = fit(A);
        const bad = [fitS?.loss, fitA?.loss].find((l) => l !== undefined && !Number.isFinite(l));
        if (bad !== undefined) throw new TrainingDiverged(epoch, bad, spec.lr);
        if (converged(fitS, options.tolerance) && converged(fitA, Infinity)) stop = 'converged';
        fitT = fit(T);
        addPoint(epoch);
      }

      // Let the event loop run (abort messages, progress delivery) before the caller looks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await hooks.onEpoch?.({
        epoch,
        maxEpochs: options.maxEpochs,
        lr,
        trainLoss: fitS?.loss ?? Number.NaN,
        trainAcc: fitS?.acc ?? null,
        attackLoss: fitA?.loss ?? null,
        attackAcc: fitA?.acc ?? null,
      });
      if (stop === 'converged') break;
    }

    const params = refreshFlat();
    const values = new Float32Array(params.dataSync());
    const trainAcc = fitS?.acc ?? null;
    const testAcc = fitT?.acc ?? null;
    const trainLoss = finite(fitS?.loss);
    const testLoss = finite(fitT?.loss);
    const metrics: FitMetrics = {
      trainLoss,
      trainAcc,
      attackLoss: finite(fitA?.loss),
      attackAcc: fitA?.acc ?? null,
      testLoss,
      testAcc,
      gap: trainAcc !== null && testAcc !== null ? trainAcc - testAcc : null,
      lossGap: trainLoss !== null && testLoss !== null ? testLoss - trainLoss : null,
      gradNorm: nS > 0 ? finite(lossGradNorm(tf, layout, params, options.loss, S)) : null,
      paramNorm: vectorNorm(values),
      inputGradEnergy: nS > 0 ? finite(inputGradEnergy(tf, layout, params, S)) : null,
      epochs: epoch,
      stop,
      steps,
    };
    return { layout, params: values, stop, epochs: epoch, steps, wallMs: performance.now() - started, curves, metrics };
  } finally {
    if (current) disposeTrainee(tf, current);
    flat?.dispose();
    if (full) tf.dispose([full.x, full.y]);
    sets.forEach(disposeEvalSet);
  }
}

/**
 * The training rows (S, then the attack examples) kept in host memory: a batch is assembled by
 * copying its rows into a reused buffer and uploaded as one tensor. (On wasm this is several times
 * faster than tf.gather from a device copy of the set.)
 */
class TrainingRows {
  readonly n: number;
  readonly #parts: readonly { readonly x: Float32Array; readonly targets: Float32Array; readonly first: number }[];
  #x = new Float32Array(0);
  #targets = new Float32Array(0);

  constructor(parts: readonly { readonly x: Float32Array; readonly targets: Float32Array }[], readonly features: number, readonly k: number) {
    let first = 0;
    this.#parts = parts.map((p) => {
      const part = { ...p, first };
      first += p.x.length / features;
      return part;
    });
    this.n = first;
  }

  /** Rows `order` (indices into S then A), copied into the reused buffers (valid until the next call). */
  gather(order: Int32Array): { rows: number; x: Float32Array; targets: Float32Array } {
    const { features: d, k } = this;
    const m = order.length;
    if (this.#x.length < m * d) {
      this.#x = new Float32Array(m * d);
      this.#targets = new Float32Array(m * k);
    }
    order.forEach((row, i) => {
      const part = this.#parts.findLast((p) => p.first <= row) ?? this.#parts[0]!;
      const r = row - part.first;
      this.#x.set(part.x.subarray(r * d, (r + 1) * d), i * d);
      this.#targets.set(part.targets.subarray(r * k, (r + 1) * k), i * k);
    });
    return { rows: m, x: this.#x.subarray(0, m * d), targets: this.#targets.subarray(0, m * k) };
  }

  /** Every row, in order (a fresh copy). */
  all(): { x: Float32Array; targets: Float32Array } {
    const x = new Float32Array(this.n * this.features);
    const targets = new Float32Array(this.n * this.k);
    for (const p of this.#parts) {
      x.set(p.x, p.first * this.features);
      targets.set(p.targets, p.first * this.k);
    }
    return { x, targets };
  }
}

/** Every example classified as labelled (no labels: regression) and the loss below `tolerance`. */
function converged(fit: SetFit | null, tolerance: number): boolean {
  if (fit === null) return true;
  return (fit.correct === null || fit.correct === fit.n) && fit.loss < tolerance;
}

function rowsOf(s: ArraySet, features: number): number {
  const n = s.x.length / features;
  if (!Number.isInteger(n)) throw new Error(`internal error: ${s.x.length} values are not rows of ${features} features`);
  return n;
}

/** One-hot float32 rows for int labels. */
export function oneHot(labels: Int32Array | Float32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`internal error: label ${c} at row ${i} is not a class 0..${classes - 1}`);
    out[i * classes + c] = 1;
  });
  return out;
}

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}
