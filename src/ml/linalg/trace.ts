import { Matrix, QrDecomposition } from 'ml-matrix';
import type { Rng } from '../rng.js';
import type { SymOperator } from './operator.js';
import { applyChecked, axpy, checkInt, checkOperator, dot, meanAndStdErr, rademacher, type ProductProgress } from './vec.js';

export interface HutchinsonOptions {
  /** Number of Rademacher probes (= products); at least 2, for a standard error. */
  readonly probes: number;
  readonly onProduct?: ProductProgress;
  readonly signal?: AbortSignal;
}

export interface HutchinsonResult {
  /** mean_i v_i^T H v_i: an unbiased estimate of trace(H). */
  readonly trace: number;
  /** Standard error of `trace`: sample sd of v_i^T H v_i (n - 1) over sqrt(probes). */
  readonly traceStdErr: number;
  /** mean_i ||H v_i||^2: an unbiased estimate of ||H||_F^2 = trace(H^2), from the same products. */
  readonly frobeniusSq: number;
  /** Standard error of `frobeniusSq`, defined the same way. */
  readonly frobeniusSqStdErr: number;
  readonly probes: number;
  /** Operator products used: one per probe. */
  readonly products: number;
  /** The per-probe samples v^T H v and ||H v||^2, for later analysis (bootstrap, pooling). */
  readonly traceSamples: Float64Array;
  readonly frobeniusSqSamples: Float64Array;
}

/**
 * Hutchinson's trace estimator with Rademacher probes v (E[v v^T] = I, so E[v^T H v] = trace(H) and
 * E[||Hv||^2] = trace(H^T H) = ||H||_F^2). Rademacher rather than Gaussian probes: their variance
 * 2 sum_{i != j} H_ij^2 omits the diagonal, never exceeds the Gaussian one, and the probes need no
 * normal draws. Trace and Frobenius share every product.
 */
export async function hutchinson(op: SymOperator, rng: Rng, options: HutchinsonOptions): Promise<HutchinsonResult> {
  checkOperator(op);
  checkInt('Hutchinson probes', options.probes, 2);
  const n = options.probes;
  const traceSamples = new Float64Array(n);
  const frobeniusSqSamples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    options.signal?.throwIfAborted();
    const v = rademacher(rng, op.dim);
    const w = await applyChecked(op, v, i + 1);
    traceSamples[i] = dot(v, w);
    frobeniusSqSamples[i] = dot(w, w);
    await options.onProduct?.(i + 1, n);
  }
  const t = meanAndStdErr(traceSamples);
  const f = meanAndStdErr(frobeniusSqSamples);
  return {
    trace: t.mean,
    traceStdErr: t.stdErr,
    frobeniusSq: f.mean,
    frobeniusSqStdErr: f.stdErr,
    probes: n,
    products: n,
    traceSamples,
    frobeniusSqSamples,
  };
}

export interface HutchPlusPlusOptions {
  /**
   * Product budget m, at least 4. The sketch takes s = min(floor(m/3), dim) columns (s products
   * for H S, s for Q^T H Q) and the residual Hutchinson the remaining m - 2s >= 2.
   */
  readonly products: number;
  readonly onProduct?: ProductProgress;
  readonly signal?: AbortSignal;
}

export interface HutchPlusPlusResult {
  /** lowRankTrace + residualTrace: an unbiased estimate of trace(H). */
  readonly trace: number;
  /**
   * Standard error of the residual Hutchinson part: sample sd of g^T P H P g over sqrt(probes),
   * P = I - Q Q^T. Given the sketch Q, trace(Q^T H Q) is exact and the residual part unbiased, so
   * this is the estimator's error scale conditional on the sketch that was drawn.
   */
  readonly stdErr: number;
  /** trace(Q^T H Q), exact given Q: the part of the trace captured by the sketch. */
  readonly lowRankTrace: number;
  /** Hutchinson estimate of trace(P H P). */
  readonly residualTrace: number;
  /** s, the number of sketch columns (= rank of Q). */
  readonly sketchSize: number;
  /** Rademacher probes of the residual part. */
  readonly residualProbes: number;
  /** Operator products used: 2 * sketchSize + residualProbes, exactly the budget. */
  readonly products: number;
}

/**
 * Hutch++ (Meyer, Musco, Musco, Woodruff 2021, Algorithm 1): with S a d x s Rademacher matrix,
 * Q = orth(H S) captures the top of the spectrum, whose trace is then taken exactly as
 * trace(Q^T H Q); Hutchinson estimates only the remainder trace(P H P), P = I - Q Q^T, whose variance
 * is 2 ||P H P||_F^2 at most. For spectra dominated by a few large eigenvalues (Hessians) this is
 * far below Hutchinson's 2 ||H||_F^2 at the same number of products.
 *
 * The sketch probes S are drawn from `rng` first, then the residual probes G: G is independent of S,
 * which is what makes the residual part unbiased given Q.
 */
export async function hutchPlusPlus(op: SymOperator, rng: Rng, options: HutchPlusPlusOptions): Promise<HutchPlusPlusResult> {
  checkOperator(op);
  checkInt('Hutch++ products', options.products, 4);
  const dim = op.dim;
  const total = options.products;
  const s = Math.min(Math.floor(total / 3), dim);
  const g = total - 2 * s;
  let done = 0;
  const product = async (v: Float64Array): Promise<Float64Array> => {
    options.signal?.throwIfAborted();
    const y = await applyChecked(op, v, done + 1);
    done += 1;
    await options.onProduct?.(done, total);
    return y;
  };

  const sketch: Float64Array[] = [];
  for (let j = 0; j < s; j++) sketch.push(await product(rademacher(rng, dim)));
  const Q = orthonormalColumns(sketch, dim);

  let lowRankTrace = 0;
  for (const q of Q) lowRankTrace += dot(q, await product(q));

  const samples = new Float64Array(g);
  for (let i = 0; i < g; i++) {
    const y = rademacher(rng, dim);
    projectOut(y, Q);
    // y is already in range(P), so y^T P H P y = y^T H y.
    samples[i] = dot(y, await product(y));
  }
  const residual = meanAndStdErr(samples);
  return {
    trace: lowRankTrace + residual.mean,
    stdErr: residual.stdErr,
    lowRankTrace,
    residualTrace: residual.mean,
    sketchSize: s,
    residualProbes: g,
    products: done,
  };
}

/**
 * An orthonormal basis Q (d x s, as s columns) of the span of the given columns, by ml-matrix's
 * Householder QR. Householder's Q is orthonormal even when H S is rank-deficient (then some columns
 * of Q lie outside range(H S), which costs accuracy but not unbiasedness).
 */
function orthonormalColumns(columns: readonly Float64Array[], dim: number): Float64Array[] {
  const s = columns.length;
  if (s === 0) return [];
  const A = new Matrix(dim, s);
  columns.forEach((c, j) => {
    for (let i = 0; i < dim; i++) A.set(i, j, c[i] as number);
  });
  const Qm = new QrDecomposition(A).orthogonalMatrix;
  return Array.from({ length: s }, (_, j) => Float64Array.from(Qm.getColumn(j)));
}

/** y <- (I - Q Q^T) y for orthonormal columns Q. */
function projectOut(y: Float64Array, Q: readonly Float64Array[]): void {
  const coefficients = Q.map((q) => dot(q, y));
  Q.forEach((q, j) => axpy(-(coefficients[j] as number), q, y));
}
