import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { lossFn, type LossName } from './loss.js';
import { mlpForward, type MlpLayout } from './mlp.js';
import type { TF } from './runtime.js';

/**
 * Fit metrics of one parameter vector on one example set. The set is cut into fixed chunks of rows
 * once, when it is uploaded (so an evaluation slices nothing, memory per op stays bounded, and the
 * numbers do not depend on how training batched the set). Per-chunk sums are added in float64 on
 * the host.
 */
export interface EvalChunk {
  /** Examples, [m, d]. */
  readonly x: Tensor2D;
  /** Loss targets, [m, k]: one-hot labels (classification) or real targets (regression). */
  readonly targets: Tensor2D;
  /** Class labels, int32 [m] (classification only): accuracy is argmax(outputs) == label. */
  readonly labels?: Tensor1D;
}

export interface EvalSet {
  readonly n: number;
  readonly chunks: readonly EvalChunk[];
}

export interface SetFit {
  readonly n: number;
  /** Mean loss over the set (the batch-mean loss, weighted by chunk size). */
  readonly loss: number;
  /** Fraction classified correctly; null without labels. */
  readonly acc: number | null;
  /** Number classified correctly (exact: `correct === n` is the "100%" test); null without labels. */
  readonly correct: number | null;
}

export const EVAL_CHUNK = 1000;

/**
 * Uploads a set as chunk tensors: `x` [n, features] and `targets` [n, k] row-major, `labels`
 * (classification) int32 [n]. The caller disposes it with disposeEvalSet.
 */
export function uploadEvalSet(
  tf: TF,
  x: Float32Array,
  targets: Float32Array,
  labels: Int32Array | undefined,
  features: number,
  k: number,
  chunk = EVAL_CHUNK,
): EvalSet {
  const n = x.length / features;
  const chunks: EvalChunk[] = [];
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    chunks.push({
      x: tf.tensor2d(x.subarray(start * features, (start + m) * features), [m, features]),
      targets: tf.tensor2d(targets.subarray(start * k, (start + m) * k), [m, k]),
      ...(labels ? { labels: tf.tensor1d(labels.subarray(start, start + m), 'int32') } : {}),
    });
  }
  return { n, chunks };
}

export function disposeEvalSet(set: EvalSet): void {
  for (const c of set.chunks) {
    c.x.dispose();
    c.targets.dispose();
    c.labels?.dispose();
  }
}

/** Loss and accuracy of `params` on `set`. One host download for the whole set. */
export function evaluateSet(tf: TF, layout: MlpLayout, params: Tensor1D, loss: LossName, set: EvalSet): SetFit {
  const n = set.n;
  if (n === 0) return { n, loss: Number.NaN, acc: null, correct: null };
  const labelled = set.chunks.every((c) => c.labels !== undefined);
  const parts: Tensor1D[] = [];
  try {
    for (const c of set.chunks) {
      parts.push(
        tf.tidy(() => {
          const out = mlpForward(tf, layout, params, c.x);
          const lossSum = tf.mul(lossFn(tf, loss, out, c.targets), c.x.shape[0]);
          const correct = c.labels ? tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), c.labels), 'float32')) : tf.scalar(0);
          return tf.stack([lossSum, correct]) as Tensor1D;
        }),
      );
    }
    const stacked = tf.concat(parts);
    const all = stacked.dataSync();
    stacked.dispose();
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < all.length; i += 2) {
      lossSum += all[i] as number;
      correct += all[i + 1] as number;
    }
    return labelled ? { n, loss: lossSum / n, acc: correct / n, correct } : { n, loss: lossSum / n, acc: null, correct: null };
  } finally {
    tf.dispose(parts);
  }
}

/**
 * ||grad_theta L(theta)||_2 of the mean loss over the whole set (the clean training loss L_S when
 * given S): chunk gradients of the SUMMED loss are added in float64, then divided by n.
 */
export function lossGradNorm(tf: TF, layout: MlpLayout, params: Tensor1D, loss: LossName, set: EvalSet): number {
  const n = set.n;
  if (n === 0) return 0;
  const total = new Float64Array(layout.size);
  for (const c of set.chunks) {
    const g = tf.tidy(() => {
      const f = (p: Tensor): Scalar => tf.mul(lossFn(tf, loss, mlpForward(tf, layout, p as Tensor1D, c.x), c.targets), c.x.shape[0]) as Scalar;
      return tf.grad(f)(params);
    });
    const data = g.dataSync();
    g.dispose();
    for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (data[i] as number);
  }
  let sq = 0;
  for (let i = 0; i < total.length; i++) sq += ((total[i] as number) / n) ** 2;
  return Math.sqrt(sq);
}

/**
 * Input-gradient energy, the complexity measure of the 2-layer theory:
 *
 *     E(theta) = (1/n) sum_i ||J_f(x_i)||_F^2 = (1/n) sum_i sum_k ||grad_x f_k(x_i)||^2
 *
 * where f is the network's RAW output vector (logits; no softmax, no loss) and J_f its Jacobian
 * with respect to the input. For a one-output net this is exactly (1/n) sum ||grad_x f(x_i)||^2;
 * for k outputs it is the sum over outputs, the natural extension for squared loss on one-hot
 * targets (the theory's setting), and unlike the gradient of the sum of outputs it does not let
 * outputs cancel. It does not depend on the labels, so S with or without wrong labels gives one
 * value. Cost: k backward passes per chunk (examples are independent in an MLP, so the gradient of
 * sum_i f_k(x_i) w.r.t. the input batch has row i = grad_x f_k(x_i)).
 */
export function inputGradEnergy(tf: TF, layout: MlpLayout, params: Tensor1D, set: EvalSet): number {
  const n = set.n;
  if (n === 0) return 0;
  const outputs = layout.spec.outputs;
  const parts: Scalar[] = [];
  try {
    for (const { x: xc } of set.chunks) {
      for (let k = 0; k < outputs; k++) {
        parts.push(
          tf.tidy(() => {
            const fk = (xi: Tensor): Scalar => tf.sum(tf.slice(mlpForward(tf, layout, params, xi as Tensor2D), [0, k], [-1, 1]));
            return tf.sum(tf.square(tf.grad(fk)(xc)));
          }),
        );
      }
    }
    const stacked = tf.stack(parts);
    const sums = stacked.dataSync();
    stacked.dispose();
    let total = 0;
    for (const s of sums) total += s;
    return total / n;
  } finally {
    tf.dispose(parts);
  }
}

/** ||theta||_2, accumulated in float64. */
export function vectorNorm(v: Float32Array): number {
  let sq = 0;
  for (const a of v) sq += a * a;
  return Math.sqrt(sq);
}
