import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { lossFn, type LossName } from '../loss.js';
import type { EvalSet } from '../metrics.js';
import { activate, type MlpLayout } from '../mlp.js';
import type { TF } from '../runtime.js';

/**
 * The loss (mean over a fixed example set) and accuracy at many points theta + sum_j c_j u_j of a
 * line or plane through theta: what basin radii, 1-D and 2-D slices and interpolations evaluate
 * thousands of times.
 *
 * Why a class of its own: the first layer's product X W_1 is by far the most expensive op of an MLP
 * on a data set (784 x 100 of a 784-100-10 net's 79,510 parameters), and it is LINEAR in the point:
 * X (W_1 + sum_j c_j U_1j) + b_1 + sum_j c_j ub_1j = A + sum_j c_j B_j, with A = X W_1 + b_1 computed
 * once per evaluator and B_j = X U_1j + ub_1j once per call. Every point then costs the activation and
 * the (small) later layers only. The sums are the same mathematically; in float32 they round
 * differently from evaluating theta + sum_j c_j u_j directly (about 1e-7 relative, tested), and every
 * point of this evaluator, theta itself included (coefficients 0), is computed the same way.
 *
 * Chunks are the EvalSet's (fixed, in data order); per-chunk loss sums are added in float64.
 */
export interface SurfacePoint {
  /** Mean loss over the set. */
  readonly loss: number;
  /** Fraction classified correctly (null without labels). */
  readonly acc: number | null;
}

/** Directions prepared for repeated evaluation (SurfaceEvaluator.prepare). */
export interface PreparedSurface {
  evaluate(coeffs: readonly (readonly number[])[]): SurfacePoint[];
  dispose(): void;
}

export class SurfaceEvaluator {
  readonly #tf: TF;
  readonly #layout: MlpLayout;
  readonly #loss: LossName;
  readonly #set: EvalSet;
  readonly #theta: Tensor[];
  /** A = X W_1 + b_1 per chunk. */
  readonly #first: Tensor2D[];
  #evaluations = 0;
  #disposed = false;

  constructor(tf: TF, layout: MlpLayout, loss: LossName, theta: Float32Array, set: EvalSet) {
    if (theta.length !== layout.size) throw new Error(`internal error: ${layout.size} parameters expected, got ${theta.length}`);
    if (set.n === 0) throw new RangeError('a loss surface over an empty example set is undefined: choose a set with at least one example');
    this.#tf = tf;
    this.#layout = layout;
    this.#loss = loss;
    this.#set = set;
    this.#theta = layerTensors(tf, layout, Float64Array.from(theta));
    this.#first = set.chunks.map((c) => tf.tidy(() => tf.add(tf.matMul(c.x, this.#theta[0] as Tensor2D), this.#theta[1] as Tensor1D) as Tensor2D));
  }

  /** Points evaluated so far (each is one pass over the whole set). */
  get evaluations(): number {
    return this.#evaluations;
  }

  /**
   * Loss and accuracy at theta + sum_j coeffs[r][j] dirs[j], for each row r. `dirs` are flat vectors
   * in the model's layout (any number, usually 1 or 2); each row has one coefficient per direction.
   */
  evaluate(dirs: readonly Float64Array[], coeffs: readonly (readonly number[])[]): SurfacePoint[] {
    const prepared = this.prepare(dirs);
    try {
      return prepared.evaluate(coeffs);
    } finally {
      prepared.dispose();
    }
  }

  /**
   * The directions uploaded and B_j = X U_1j + ub_1j computed once, for many `evaluate` calls on the
   * same line or plane (a radius search refines its bracket in several calls). Dispose it after use.
   */
  prepare(dirs: readonly Float64Array[]): PreparedSurface {
    if (this.#disposed) throw new Error('internal error: surface evaluator used after dispose');
    const tf = this.#tf;
    for (const u of dirs) if (u.length !== this.#layout.size) throw new Error(`internal error: direction of length ${u.length}, expected ${this.#layout.size}`);
    const us = dirs.map((u) => layerTensors(tf, this.#layout, u));
    const firstDirs = this.#set.chunks.map((c) => us.map((u) => tf.tidy(() => tf.add(tf.matMul(c.x, u[0] as Tensor2D), u[1] as Tensor1D) as Tensor2D)));
    let open = true;
    return {
      evaluate: (coeffs) => {
        if (!open || this.#disposed) throw new Error('internal error: prepared surface used after dispose');
        for (const row of coeffs) if (row.length !== dirs.length) throw new Error(`internal error: ${row.length} coefficients for ${dirs.length} directions`);
        return coeffs.map((row) => this.#point(us, firstDirs, row));
      },
      dispose: () => {
        if (open) tf.dispose([...firstDirs.flat(), ...us.flat()]);
        open = false;
      },
    };
  }

  /** One point: the first layer from A and the B_j, the later layers from theta + sum_j c_j U_lj. */
  #point(us: readonly Tensor[][], firstDirs: readonly Tensor2D[][], row: readonly number[]): SurfacePoint {
    const tf = this.#tf;
    const layers = this.#layout.layers.length;
    const labelled = this.#set.chunks.every((c) => c.labels !== undefined);
    const sums = tf.tidy(() => {
      // Layers 2..L at this point: W_l + sum_j c_j U_lj (shared by every chunk).
      const later: Tensor[] = [];
      for (let i = 2; i < 2 * layers; i++) {
        let w = this.#theta[i] as Tensor;
        row.forEach((c, j) => {
          if (c !== 0) w = tf.add(w, tf.mul(c, (us[j] as Tensor[])[i] as Tensor));
        });
        later.push(w);
      }
      const parts: Tensor[] = [];
      this.#set.chunks.forEach((chunk, ci) => {
        let z: Tensor2D = this.#first[ci] as Tensor2D;
        row.forEach((c, j) => {
          if (c !== 0) z = tf.add(z, tf.mul(c, (firstDirs[ci] as Tensor2D[])[j] as Tensor2D)) as Tensor2D;
        });
        const out = this.#rest(z, later);
        const m = chunk.x.shape[0];
        parts.push(tf.mul(lossFn(tf, this.#loss, out, chunk.targets), m));
        if (labelled) parts.push(tf.sum(tf.cast(tf.equal(tf.argMax(out, 1), chunk.labels as Tensor1D), 'float32')));
      });
      return tf.stack(parts);
    });
    const values = sums.dataSync();
    sums.dispose();
    this.#evaluations++;
    let loss = 0;
    let correct = 0;
    const stride = labelled ? 2 : 1;
    for (let ci = 0; ci < this.#set.chunks.length; ci++) {
      loss += values[ci * stride] as number;
      if (labelled) correct += values[ci * stride + 1] as number;
    }
    return { loss: loss / this.#set.n, acc: labelled ? correct / this.#set.n : null };
  }

  /** The network from the first layer's pre-activation on: activation, then layers 2..L. */
  #rest(z1: Tensor2D, later: readonly Tensor[]): Tensor2D {
    const tf = this.#tf;
    const layers = this.#layout.layers.length;
    let h = z1;
    for (let l = 1; l < layers; l++) {
      h = activate(tf, this.#layout.spec.activation, h) as Tensor2D;
      h = tf.add(tf.matMul(h, later[2 * (l - 1)] as Tensor2D), later[2 * (l - 1) + 1] as Tensor1D) as Tensor2D;
    }
    return h;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#tf.dispose([...this.#theta, ...this.#first]);
    this.#disposed = true;
  }
}

/** [W0, b0, W1, b1, ...] float32 tensors of the flat vector `flat` (float64 values rounded once). */
function layerTensors(tf: TF, layout: MlpLayout, flat: Float64Array): Tensor[] {
  return layout.layers.flatMap(({ weight, bias }) => [weight, bias]).map((part) => {
    const size = part.shape.reduce((a, b) => a * b, 1);
    return tf.tensor(Float32Array.from(flat.subarray(part.offset, part.offset + size)), [...part.shape]);
  });
}
