import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Rng } from '../rng.js';
import type { SymOperator } from './operator.js';
import { applyChecked, axpy, checkInt, checkOperator, checkPositive, dot, gaussianUnit, norm, scaleInPlace } from './vec.js';

/**
 * The eigendecomposition of a symmetric tridiagonal matrix T (diagonal `alphas`, off-diagonal
 * `betas`), as Lanczos and SLQ need it: eigenvalues ascending, and the FIRST and LAST component of
 * each unit eigenvector. Lanczos reads the last components (Ritz residual |beta_m * s_{m,i}|), SLQ
 * the first (quadrature weight s_{1,i}^2). Eigenvector signs are arbitrary; every consumer uses
 * squares or absolute values, or (Ritz vectors) accepts either sign.
 */
export interface TridiagonalEigen {
  /** Eigenvalues of T, ascending. */
  readonly values: Float64Array;
  /** first[i]: first component of the unit eigenvector of values[i]. */
  readonly first: Float64Array;
  /** last[i]: last component of the unit eigenvector of values[i]. */
  readonly last: Float64Array;
  /** vectors[i]: the whole unit eigenvector of values[i] (length m); only when asked for. */
  readonly vectors?: readonly Float64Array[];
}

/**
 * Solves T's eigenproblem with ml-matrix's symmetric EVD (Householder tridiagonalisation, then
 * implicit QL) on the small dense m x m matrix. m is the Lanczos step count (tens to a few hundred),
 * so the O(m^3) cost is negligible next to m Hessian-vector products.
 */
export function tridiagonalEigen(alphas: ArrayLike<number>, betas: ArrayLike<number>, withVectors = false): TridiagonalEigen {
  const m = alphas.length;
  if (m < 1) throw new RangeError('a tridiagonal matrix needs at least one diagonal entry, got none');
  if (betas.length !== m - 1) {
    throw new RangeError(`a ${m} x ${m} tridiagonal matrix needs ${m - 1} off-diagonal entries, got ${betas.length}`);
  }
  if (m === 1) {
    const one = Float64Array.of(1);
    return { values: Float64Array.of(alphas[0] as number), first: one, last: one, ...(withVectors ? { vectors: [one] } : {}) };
  }
  const T = Matrix.zeros(m, m);
  for (let i = 0; i < m; i++) {
    T.set(i, i, alphas[i] as number);
    if (i + 1 < m) {
      T.set(i, i + 1, betas[i] as number);
      T.set(i + 1, i, betas[i] as number);
    }
  }
  const evd = new EigenvalueDecomposition(T, { assumeSymmetric: true });
  const d = evd.realEigenvalues;
  const V = evd.eigenvectorMatrix;
  // ml-matrix's tql2 already sorts ascending; sorting again keeps this correct whatever it does.
  const order = d.map((_, i) => i).sort((a, b) => (d[a] as number) - (d[b] as number));
  const values = new Float64Array(m);
  const first = new Float64Array(m);
  const last = new Float64Array(m);
  const vectors: Float64Array[] = [];
  order.forEach((col, i) => {
    values[i] = d[col] as number;
    first[i] = V.get(0, col);
    last[i] = V.get(m - 1, col);
    if (withVectors) {
      const s = new Float64Array(m);
      for (let r = 0; r < m; r++) s[r] = V.get(r, col);
      vectors.push(s);
    }
  });
  return { values, first, last, ...(withVectors ? { vectors } : {}) };
}

/**
 * beta <= KRYLOV_EXHAUSTED * (a Gershgorin bound on ||T||) counts as zero: the Krylov space is
 * invariant under H (to rounding), its Ritz values are eigenvalues of H, and a further step would
 * only orthogonalise rounding noise. Products in float64 leave beta near 1e-15 relative there;
 * float32 Hessian products never get this low, so on real Hessians only m = dim exhausts.
 */
export const KRYLOV_EXHAUSTED = 1e-12;

/** The state of a Lanczos process after m steps: T_m and the vectors that span its Krylov space. */
export interface LanczosProcess {
  /** Diagonal of T_m (length m). */
  readonly alphas: Float64Array;
  /** Off-diagonal of T_m (length m - 1). */
  readonly betas: Float64Array;
  /** beta_m = ||r_m||, the norm of the part of H q_m outside the Krylov space: it scales every residual. */
  readonly lastBeta: number;
  /** The Krylov space is invariant (lastBeta ~ 0 relative) or the whole space (m = dim). */
  readonly exhausted: boolean;
  /** The orthonormal Lanczos vectors q_1..q_m (during `afterStep`, the live list the process appends to). */
  readonly vectors: readonly Float64Array[];
}

export interface LanczosProcessOptions {
  readonly signal?: AbortSignal;
  /** Called after every step with the process so far; returning true stops it there. */
  readonly afterStep?: (process: LanczosProcess) => boolean | Promise<boolean>;
}

/**
 * Up to `maxSteps` Lanczos steps from `start` (normalised here), with full reorthogonalisation: after
 * the three-term recurrence, the new vector is Gram-Schmidt-orthogonalised against ALL previous
 * Lanczos vectors, twice (classical Gram-Schmidt twice is enough for orthogonality to rounding,
 * Giraud et al. 2005). Without it, orthogonality is lost as soon as a Ritz value converges and copies
 * of converged eigenvalues ("ghosts") appear, which corrupts both top-k and SLQ weights.
 *
 * Stops early when the Krylov space is exhausted (see KRYLOV_EXHAUSTED) or when `afterStep` says so.
 * One product per step; no product is spent on a vector that will not be used.
 */
export async function lanczosProcess(
  op: SymOperator,
  start: Float64Array,
  maxSteps: number,
  options: LanczosProcessOptions = {},
): Promise<LanczosProcess> {
  checkOperator(op);
  const dim = op.dim;
  checkInt('Lanczos maxSteps', maxSteps, 1, dim);
  if (start.length !== dim) throw new RangeError(`the Lanczos start vector must have length dim = ${dim}, got ${start.length}`);
  const n0 = norm(start);
  if (!(n0 > 0 && Number.isFinite(n0))) throw new RangeError(`the Lanczos start vector must be finite and nonzero, got norm ${n0}`);

  const alphas = new Float64Array(maxSteps);
  const betas = new Float64Array(maxSteps);
  const vectors: Float64Array[] = [];
  let q = Float64Array.from(start);
  scaleInPlace(q, 1 / n0);
  // A Gershgorin bound on ||T||: the scale against which beta counts as zero.
  let scale = 0;
  for (let j = 0; ; j++) {
    options.signal?.throwIfAborted();
    vectors.push(q);
    const w = Float64Array.from(await applyChecked(op, q, j + 1));
    if (j > 0) axpy(-(betas[j - 1] as number), vectors[j - 1] as Float64Array, w);
    const alpha = dot(q, w);
    axpy(-alpha, q, w);
    reorthogonalise(w, vectors);
    reorthogonalise(w, vectors);
    const beta = norm(w);
    alphas[j] = alpha;
    betas[j] = beta;
    scale = Math.max(scale, Math.abs(alpha) + beta + (j > 0 ? (betas[j - 1] as number) : 0));
    const m = j + 1;
    const exhausted = beta <= KRYLOV_EXHAUSTED * scale || m === dim;
    const state: LanczosProcess = {
      alphas: alphas.slice(0, m),
      betas: betas.slice(0, m - 1),
      lastBeta: beta,
      exhausted,
      vectors,
    };
    const stop = options.afterStep ? await options.afterStep(state) : false;
    if (stop || exhausted || m === maxSteps) return state;
    scaleInPlace(w, 1 / beta);
    q = w;
  }
}

/** One classical Gram-Schmidt pass: w -= sum_i (q_i . w) q_i, the coefficients taken before any update. */
function reorthogonalise(w: Float64Array, basis: readonly Float64Array[]): void {
  const coefficients = basis.map((qi) => dot(qi, w));
  basis.forEach((qi, i) => axpy(-(coefficients[i] as number), qi, w));
}

export interface LanczosStepInfo {
  /** Current top Ritz values, descending, and their residual estimates. */
  readonly top: Float64Array;
  readonly topResiduals: Float64Array;
  /** beta_m of this step. */
  readonly beta: number;
}

export interface LanczosOptions {
  /** Number of top (largest, algebraically) eigenvalues wanted. Default 1. */
  readonly k?: number;
  /** Number of bottom (smallest, algebraically) eigenvalues wanted as well. Default 0. */
  readonly bottom?: number;
  /**
   * Step cap (= product cap), at least max(k, bottom). Default min(dim, max(100, 3 max(k, bottom)));
   * values above dim are capped at dim (the Krylov space cannot grow further). Memory: the Lanczos
   * vectors, steps * dim * 8 bytes.
   */
  readonly maxSteps?: number;
  /**
   * Convergence tolerance on Ritz residuals: top-k need |beta_m s_{m,i}| <= tol * |theta_i|; bottom
   * ones need <= tol * max_j |theta_j| (they often sit near zero, where a relative rule never
   * holds). Default 1e-6.
   */
  readonly tol?: number;
  /** Also return the top-k Ritz vectors (length dim, unit norm). Default false. */
  readonly ritzVectors?: boolean;
  /** Progress after each step (`step` = steps done = products used); awaited, so it may be async. */
  readonly onStep?: (step: number, info: LanczosStepInfo) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export type LanczosStopReason = 'converged' | 'exhausted' | 'max-steps';

export interface LanczosResult {
  /** Top eigenvalue estimates (Ritz values), descending; min(k, steps) of them. */
  readonly eigenvalues: Float64Array;
  /**
   * Ritz residuals |beta_m s_{m,i}| = ||H y_i - theta_i y_i|| (exact products). Each bounds the
   * distance from eigenvalues[i] to the nearest eigenvalue of H; for a Ritz value separated by a
   * gap g from the rest of the spectrum the error is at most residual^2 / g.
   */
  readonly residuals: Float64Array;
  /** Bottom eigenvalue estimates, ascending; min(bottom, steps) of them. */
  readonly bottomEigenvalues: Float64Array;
  readonly bottomResiduals: Float64Array;
  readonly steps: number;
  /** Operator products used: one per step. */
  readonly products: number;
  /** Every wanted Ritz value met the residual rule, or the Krylov space was exhausted. */
  readonly converged: boolean;
  readonly stopReason: LanczosStopReason;
  /** T_m: diagonal (length steps), off-diagonal (length steps - 1) and the final beta_m. */
  readonly alphas: Float64Array;
  readonly betas: Float64Array;
  readonly lastBeta: number;
  /** Top-k Ritz vectors (only with `ritzVectors: true`), in the order of `eigenvalues`. */
  readonly ritzVectors?: readonly Float64Array[];
}

/**
 * The extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalisation, from a
 * Gaussian unit start vector drawn from `rng`. After every step, T_m is diagonalised and the Ritz
 * residuals checked; the run stops when the wanted Ritz values all meet `tol`, the Krylov space is
 * exhausted, or the step cap is reached.
 *
 * A single start vector sees each distinct eigenvalue once: a repeated eigenvalue is reported once,
 * and only the multiplicity-one part of its eigenspace is found. (With float32 Hessian products exact
 * repeats break up into near-repeats, which Lanczos resolves slowly; check the residuals.)
 */
export async function lanczos(op: SymOperator, rng: Rng, options: LanczosOptions = {}): Promise<LanczosResult> {
  checkOperator(op);
  const dim = op.dim;
  const k = options.k ?? 1;
  const bottom = options.bottom ?? 0;
  const tol = options.tol ?? 1e-6;
  checkInt('Lanczos k', k, 1, dim);
  checkInt('Lanczos bottom', bottom, 0, dim);
  checkPositive('Lanczos tol', tol);
  const requested = options.maxSteps ?? Math.min(dim, Math.max(100, 3 * Math.max(k, bottom)));
  checkInt('Lanczos maxSteps', requested, Math.max(k, bottom));
  const maxSteps = Math.min(requested, dim);

  let converged = false;
  let last: Ritz | undefined;
  const run = await lanczosProcess(op, gaussianUnit(rng, dim), maxSteps, {
    ...(options.signal ? { signal: options.signal } : {}),
    afterStep: async (p) => {
      last = ritz(p, k, bottom);
      converged = meetsTolerance(last, k, bottom, tol);
      await options.onStep?.(p.alphas.length, { top: last.top, topResiduals: last.topResiduals, beta: p.lastBeta });
      return converged;
    },
  });
  const r = last as Ritz;
  const steps = run.alphas.length;
  const stopReason: LanczosStopReason = converged ? 'converged' : run.exhausted ? 'exhausted' : 'max-steps';
  return {
    eigenvalues: r.top,
    residuals: r.topResiduals,
    bottomEigenvalues: r.bottom,
    bottomResiduals: r.bottomResiduals,
    steps,
    products: steps,
    converged: converged || run.exhausted,
    stopReason,
    alphas: run.alphas,
    betas: run.betas,
    lastBeta: run.lastBeta,
    ...(options.ritzVectors ? { ritzVectors: ritzVectors(run, k) } : {}),
  };
}

interface Ritz {
  readonly top: Float64Array;
  readonly topResiduals: Float64Array;
  readonly bottom: Float64Array;
  readonly bottomResiduals: Float64Array;
  /** max |theta| over all Ritz values: the scale of the bottom tolerance. */
  readonly scale: number;
}

/** The wanted Ritz values of T_m and their residuals |beta_m * s_{m,i}|. */
function ritz(p: LanczosProcess, k: number, bottom: number): Ritz {
  const { values, last } = tridiagonalEigen(p.alphas, p.betas);
  const m = values.length;
  const nTop = Math.min(k, m);
  const nBottom = Math.min(bottom, m);
  const top = new Float64Array(nTop);
  const topResiduals = new Float64Array(nTop);
  for (let i = 0; i < nTop; i++) {
    top[i] = values[m - 1 - i] as number;
    topResiduals[i] = Math.abs(p.lastBeta * (last[m - 1 - i] as number));
  }
  const low = values.slice(0, nBottom);
  const lowResiduals = new Float64Array(nBottom);
  for (let i = 0; i < nBottom; i++) lowResiduals[i] = Math.abs(p.lastBeta * (last[i] as number));
  const scale = Math.max(Math.abs(values[0] as number), Math.abs(values[m - 1] as number));
  return { top, topResiduals, bottom: low, bottomResiduals: lowResiduals, scale };
}

function meetsTolerance(r: Ritz, k: number, bottom: number, tol: number): boolean {
  if (r.top.length < k || r.bottom.length < bottom) return false;
  const topOk = r.top.every((theta, i) => (r.topResiduals[i] as number) <= tol * Math.abs(theta));
  return topOk && r.bottomResiduals.every((res) => res <= tol * r.scale);
}

/** y_i = Q_m s_i for the top-k Ritz pairs, renormalised (they are unit up to rounding). */
function ritzVectors(p: LanczosProcess, k: number): Float64Array[] {
  const { vectors } = tridiagonalEigen(p.alphas, p.betas, true);
  const s = vectors as readonly Float64Array[];
  const m = s.length;
  const dim = (p.vectors[0] as Float64Array).length;
  const out: Float64Array[] = [];
  for (let i = 0; i < Math.min(k, m); i++) {
    const coeffs = s[m - 1 - i] as Float64Array;
    const y = new Float64Array(dim);
    p.vectors.forEach((q, j) => axpy(coeffs[j] as number, q, y));
    scaleInPlace(y, 1 / norm(y));
    out.push(y);
  }
  return out;
}
