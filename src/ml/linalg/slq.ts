import type { Rng } from '../rng.js';
import { lanczosProcess, tridiagonalEigen } from './lanczos.js';
import type { SymOperator } from './operator.js';
import { checkInt, checkOperator, checkPositive, meanAndStdErr, rademacher, scaleInPlace, type ProductProgress } from './vec.js';

export interface SlqOptions {
  /** n_v: independent Lanczos runs, each from its own Rademacher start; at least 2, for a standard error. */
  readonly runs: number;
  /** m: Lanczos steps per run (capped at dim). Gauss quadrature with m nodes is exact for polynomials of degree <= 2m - 1. */
  readonly steps: number;
  /** After each product; `total` is the planned runs * steps (a run that exhausts early uses fewer). */
  readonly onProduct?: ProductProgress;
  readonly signal?: AbortSignal;
}

/** One SLQ run: a Gauss quadrature rule for the spectral measure seen from its start vector. */
export interface SlqRun {
  /** Ritz values of T_m, ascending (the quadrature nodes). */
  readonly nodes: Float64Array;
  /** Squared first components of T_m's unit eigenvectors; they sum to 1. */
  readonly weights: Float64Array;
  /** Lanczos steps taken = products used = nodes.length. */
  readonly steps: number;
  /**
   * The run's Krylov space was exhausted: invariant under H (then the run stopped early, with fewer
   * nodes) or the whole space (steps = dim). Either way the rule is exact for every f.
   */
  readonly exhausted: boolean;
}

/** The raw output of SLQ: everything densities and trace estimates are computed from, later, without products. */
export interface SlqResult {
  readonly runs: readonly SlqRun[];
  /** Steps asked per run (after the cap at dim). */
  readonly steps: number;
  /** Operator products used over all runs. */
  readonly products: number;
}

/**
 * Stochastic Lanczos quadrature (Golub and Meurant; Ubaru, Chen, Saad 2017; Ghorbani et al. 2019):
 * for a unit start vector q, q^T f(H) q = sum_k (q . u_k)^2 f(lambda_k) is an integral against the
 * spectral measure seen from q, and m Lanczos steps from q give its m-node Gauss rule: nodes = Ritz
 * values theta_j, weights = (first component of T_m's j-th eigenvector)^2. With q = v / sqrt(dim),
 * v Rademacher, dim * q^T f(H) q is a Hutchinson sample of trace f(H).
 *
 * Each run keeps full reorthogonalisation: without it, ghost copies of converged Ritz values split
 * their weight and the density shows spurious peaks.
 */
export async function slq(op: SymOperator, rng: Rng, options: SlqOptions): Promise<SlqResult> {
  checkOperator(op);
  checkInt('SLQ runs', options.runs, 2);
  checkInt('SLQ steps', options.steps, 1);
  const dim = op.dim;
  const steps = Math.min(options.steps, dim);
  const total = options.runs * steps;
  const runs: SlqRun[] = [];
  let products = 0;
  for (let r = 0; r < options.runs; r++) {
    const start = rademacher(rng, dim);
    scaleInPlace(start, 1 / Math.sqrt(dim));
    const p = await lanczosProcess(op, start, steps, {
      ...(options.signal ? { signal: options.signal } : {}),
      afterStep: async () => {
        products += 1;
        await options.onProduct?.(products, total);
        return false;
      },
    });
    const { values, first } = tridiagonalEigen(p.alphas, p.betas);
    runs.push({ nodes: values, weights: first.map((s) => s * s), steps: values.length, exhausted: p.exhausted });
  }
  return { runs, steps, products };
}

/**
 * The SLQ spectral density smoothed by a Gaussian of width `sigma`, at each grid point:
 * phi(t) = (1/n_v) sum_runs sum_j w_j N(t; theta_j, sigma^2). It integrates to 1 over the real line
 * (a density of eigenvalues per dimension, as in Ghorbani et al.), not to dim; no renormalisation
 * over the grid, so mass outside the grid stays visibly missing.
 */
export function density(result: SlqResult, grid: ArrayLike<number>, sigma: number): Float64Array {
  checkPositive('density sigma', sigma);
  if (result.runs.length === 0) throw new RangeError('density needs at least one SLQ run, got none');
  const out = new Float64Array(grid.length);
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI) * result.runs.length);
  for (const run of result.runs) {
    run.nodes.forEach((node, j) => {
      const w = (run.weights[j] as number) * c;
      for (let g = 0; g < grid.length; g++) {
        const z = ((grid[g] as number) - node) / sigma;
        out[g] = (out[g] as number) + w * Math.exp(-0.5 * z * z);
      }
    });
  }
  return out;
}

/**
 * trace f(H) ~ dim * mean over runs of sum_j w_j f(theta_j). `stdErr` is the standard error over
 * runs (sample sd / sqrt(n_v)): the probe noise, as for Hutchinson. It does not include the Gauss
 * rule's own bias, which is zero for polynomials of degree <= 2m - 1 (so f(x) = x gives exactly the
 * Hutchinson samples of the start vectors) and small for f smooth on the spectrum, but not for f with
 * a singularity near it (log(x + delta) with small delta and eigenvalues near zero).
 */
export function slqEstimate(result: SlqResult, dim: number, f: (x: number) => number): { readonly value: number; readonly stdErr: number } {
  checkInt('SLQ dim', dim, 1);
  const perRun = result.runs.map((run) => {
    let s = 0;
    run.nodes.forEach((node, j) => (s += (run.weights[j] as number) * f(node)));
    return dim * s;
  });
  const { mean, stdErr } = meanAndStdErr(perRun);
  return { value: mean, stdErr };
}
