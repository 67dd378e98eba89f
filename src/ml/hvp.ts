import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { SymOperator } from './linalg/operator.js';
import { lossFn, type LossName } from './loss.js';
import type { EvalChunk, EvalSet } from './metrics.js';
import { layerForward, type MlpLayout } from './mlp.js';
import type { TF } from './runtime.js';

/**
 * Curvature of the loss over a FIXED example set, as a linear operator on the flat parameter vector
 * (mlp.ts layout): the Hessian H v by reverse-over-reverse, or the Gauss-Newton product G v.
 *
 * Exactness, the conventions every estimator relies on:
 * - The loss is the MEAN over the whole set: L = (1/N) sum_i l_i. The set is cut into the fixed
 *   chunks of `EvalSet` (data order, same chunks for every product). Each chunk's product is that of
 *   its own batch-mean loss, multiplied by its size m_c on the host in float64, summed over chunks,
 *   divided by N once: Hv = (1/N) sum_c m_c H_c v. Averaging per-chunk means instead (what one known
 *   tool does) weighs a short last chunk wrongly, and summing means without dividing scales every
 *   eigenvalue by the number of chunks.
 * - Products run in float32 on TF.js (per-layer tensors, as training: on wasm a slice of the flat
 *   vector copies it whole); v arrives and Hv leaves as Float64Array.
 * - Second order is exact only through the gradient fixes `loadTf` installs and the hand-written loss
 *   (loss.ts). There is no dropout or normalisation, so "eval mode" is the only mode.
 *
 * Gauss-Newton: G = (1/N) sum_i J_i^T H_out,i J_i (J_i the Jacobian of example i's outputs, H_out,i
 * the Hessian of l_i in the outputs: diag(p) - p p^T for softmax cross-entropy, I for the 0.5 MSE).
 * TF.js has no forward mode, so J v comes from the double-vjp trick: J v = d/du <J^T u, v>, linear in
 * u, evaluated at u = 0. G is positive semi-definite; at a minimum with zero residual (MSE) H = G.
 */
export type CurvatureKind = 'hessian' | 'gauss-newton';

export interface CurvatureOperator extends SymOperator {
  readonly kind: CurvatureKind;
  /** Products computed so far (each is one pass over every chunk). */
  readonly products: number;
  /** Frees the parameter tensors (the set belongs to the caller). */
  dispose(): void;
}

export interface CurvatureOptions {
  readonly signal?: AbortSignal;
  /** Called after each product with the count so far. */
  readonly onProduct?: (products: number) => void;
}

export function curvatureOperator(
  tf: TF,
  layout: MlpLayout,
  loss: LossName,
  params: Float32Array,
  set: EvalSet,
  kind: CurvatureKind,
  options: CurvatureOptions = {},
): CurvatureOperator {
  if (params.length !== layout.size) throw new Error(`internal error: ${layout.size} parameters expected, got ${params.length}`);
  if (set.n === 0) throw new RangeError('the curvature of a loss over an empty example set is undefined: choose a set with at least one example');
  const ws = layerTensors(tf, layout, params);
  const chunkProduct = kind === 'hessian' ? hessianChunk : gaussNewtonChunk;
  let products = 0;
  let disposed = false;
  return {
    kind,
    dim: layout.size,
    get products() {
      return products;
    },
    async apply(v) {
      if (disposed) throw new Error('internal error: curvature operator used after dispose');
      if (v.length !== layout.size) throw new Error(`internal error: product with a vector of length ${v.length}, expected ${layout.size}`);
      options.signal?.throwIfAborted();
      const vs = layerTensors(tf, layout, Float32Array.from(v));
      const sum = new Float64Array(layout.size);
      try {
        for (const c of set.chunks) {
          const m = c.x.shape[0];
          const parts = tf.tidy(() => chunkProduct(tf, layout, loss, ws, vs, c));
          try {
            addLayers(layout, parts, m, sum);
          } finally {
            tf.dispose(parts);
          }
        }
      } finally {
        tf.dispose(vs);
      }
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / set.n;
      products++;
      options.onProduct?.(products);
      // One turn of the event loop per product: lets an abort message reach a worker thread.
      await new Promise((resolve) => setImmediate(resolve));
      return sum;
    },
    dispose() {
      if (!disposed) tf.dispose(ws);
      disposed = true;
    },
  };
}

/** The mean-loss gradient over the whole set (same chunks and scaling as the products), float64. */
export function setGradient(tf: TF, layout: MlpLayout, loss: LossName, params: Float32Array, set: EvalSet): Float64Array {
  const ws = layerTensors(tf, layout, params);
  const sum = new Float64Array(layout.size);
  try {
    for (const c of set.chunks) {
      const parts = tf.tidy(() => tf.grads((...w: Tensor[]) => lossFn(tf, loss, layerForward(tf, layout, w, c.x), c.targets))(ws));
      try {
        addLayers(layout, parts, c.x.shape[0], sum);
      } finally {
        tf.dispose(parts);
      }
    }
  } finally {
    tf.dispose(ws);
  }
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / set.n;
  return sum;
}

/** H_c v for the chunk's mean loss: grad_w <grad_w L_c(w), v>. */
function hessianChunk(tf: TF, layout: MlpLayout, loss: LossName, ws: readonly Tensor[], vs: readonly Tensor[], c: EvalChunk): Tensor[] {
  return tf.grads((...w: Tensor[]) => {
    const g = tf.grads((...w2: Tensor[]) => lossFn(tf, loss, layerForward(tf, layout, w2, c.x), c.targets))(w);
    return inner(tf, g, vs);
  })([...ws]);
}

/** G_c v for the chunk's mean loss: J^T H_out (J v) / m. */
function gaussNewtonChunk(tf: TF, layout: MlpLayout, loss: LossName, ws: readonly Tensor[], vs: readonly Tensor[], c: EvalChunk): Tensor[] {
  const out = layerForward(tf, layout, ws, c.x);
  const m = out.shape[0];
  // J v = d/du <J^T u, v> at u = 0 (any u: the expression is linear in u).
  const jv = tf.grad((u: Tensor) => {
    const jtu = tf.grads((...w: Tensor[]) => tf.sum(tf.mul(layerForward(tf, layout, w, c.x), u)))([...ws]);
    return inner(tf, jtu, vs);
  })(tf.zerosLike(out)) as Tensor2D;
  let hjv: Tensor;
  if (loss === 'cross-entropy') {
    // (diag(p) - p p^T) r per row; the targets sum to 1 per row (one-hot), which this Hessian assumes.
    const p = tf.softmax(out);
    hjv = tf.sub(tf.mul(p, jv), tf.mul(p, tf.sum(tf.mul(p, jv), 1, true)));
  } else {
    hjv = jv;
  }
  const weighted = tf.div(hjv, m);
  return tf.grads((...w: Tensor[]) => tf.sum(tf.mul(layerForward(tf, layout, w, c.x), weighted)))([...ws]);
}

function inner(tf: TF, a: readonly Tensor[], b: readonly Tensor[]): Tensor {
  return tf.addN(a.map((ai, i) => tf.sum(tf.mul(ai, b[i] as Tensor))));
}

/** [W0, b0, W1, b1, ...] tensors holding the slices of the flat vector `flat`. */
function layerTensors(tf: TF, layout: MlpLayout, flat: Float32Array): Tensor[] {
  return layout.layers.flatMap(({ weight, bias }) => [weight, bias]).map((part) => {
    const size = part.shape.reduce((a, b) => a * b, 1);
    return tf.tensor(flat.subarray(part.offset, part.offset + size), [...part.shape]);
  });
}

/** sum[layout slice of tensor i] += scale * tensor i, in float64. */
function addLayers(layout: MlpLayout, parts: readonly Tensor[], scale: number, sum: Float64Array): void {
  const slices = layout.layers.flatMap(({ weight, bias }) => [weight, bias]);
  parts.forEach((t, i) => {
    const data = t.dataSync();
    const offset = (slices[i] as { offset: number }).offset;
    for (let j = 0; j < data.length; j++) sum[offset + j] = (sum[offset + j] as number) + scale * (data[j] as number);
  });
}
