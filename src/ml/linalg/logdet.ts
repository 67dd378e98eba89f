import { slqEstimate, type SlqResult } from './slq.js';
import { checkInt, checkPositive } from './vec.js';

/**
 * Log-determinant proxies -1/2 log det(H + delta I) = -1/2 sum_i log(lambda_i + delta): the
 * Laplace / quadratic-basin volume term, up to a constant (science.md: the sampled log V of a
 * positive-definite quadratic must match -1/2 sum log lambda_i + const).
 *
 * Negative and near-zero eigenvalues: a Hessian at a trained minimum has a bulk near zero and some
 * negative eigenvalues (saddle directions, float32 noise). log(lambda + delta) is undefined for
 * lambda <= -delta, and a negative-curvature direction bounds no basin. Every eigenvalue (or SLQ node)
 * below 0 is therefore clipped to 0 before adding delta: such a direction counts as flat, contributing
 * -1/2 log delta, exactly like a zero eigenvalue. How much was clipped is reported with every value,
 * so a proxy dominated by clipping is visible. delta must be > 0: it is the curvature scale below
 * which directions count as flat, and is reported with each value.
 */

export interface LogDetProxy {
  readonly delta: number;
  /** -1/2 sum_i log(max(lambda_i, 0) + delta). */
  readonly value: number;
  /** How many eigenvalues were below 0 and clipped to 0. */
  readonly clipped: number;
}

/**
 * The proxy over given eigenvalues (typically Lanczos top-k, so it covers only the k stiffest
 * directions: compare values only at equal k), one entry per delta.
 */
export function logDetProxyTopK(eigenvalues: ArrayLike<number>, deltas: readonly number[]): LogDetProxy[] {
  checkDeltas(deltas);
  if (eigenvalues.length === 0) throw new RangeError('a log-det proxy needs at least one eigenvalue, got none');
  let clipped = 0;
  const lambdas = Array.from(eigenvalues, (l, i) => {
    if (!Number.isFinite(l)) throw new RangeError(`eigenvalue ${i} must be finite, got ${l}`);
    if (l < 0) clipped += 1;
    return Math.max(l, 0);
  });
  return deltas.map((delta) => ({
    delta,
    value: -0.5 * lambdas.reduce((s, l) => s + Math.log(l + delta), 0),
    clipped,
  }));
}

export interface SlqLogDetProxy {
  readonly delta: number;
  /** -1/2 times the SLQ estimate of trace log(max(H, 0) + delta I) over all dim eigenvalues. */
  readonly value: number;
  /** Standard error over SLQ runs (1/2 that of the trace estimate); the quadrature bias is not included. */
  readonly stdErr: number;
  /** SLQ nodes below 0 (over all runs), clipped to 0. */
  readonly clippedNodes: number;
  /**
   * Estimated fraction of the spectrum below 0: mean over runs of the quadrature weight on negative
   * nodes. Times dim, an estimate of the number of clipped eigenvalues.
   */
  readonly clippedFraction: number;
}

/**
 * The proxy over the whole spectrum by SLQ, with f(x) = log(max(x, 0) + delta). The kink at 0 and
 * the singularity at -delta make the Gauss rule's bias grow as delta shrinks while spectral mass sits
 * near zero: prefer deltas well above the bulk's width, or more steps per run, and compare deltas.
 */
export function logDetProxySlq(result: SlqResult, dim: number, deltas: readonly number[]): SlqLogDetProxy[] {
  checkDeltas(deltas);
  checkInt('log-det dim', dim, 1);
  let clippedNodes = 0;
  let negativeMass = 0;
  for (const run of result.runs) {
    run.nodes.forEach((node, j) => {
      if (node < 0) {
        clippedNodes += 1;
        negativeMass += run.weights[j] as number;
      }
    });
  }
  const clippedFraction = result.runs.length > 0 ? negativeMass / result.runs.length : 0;
  return deltas.map((delta) => {
    const e = slqEstimate(result, dim, (x) => Math.log(Math.max(x, 0) + delta));
    return { delta, value: -0.5 * e.value, stdErr: 0.5 * e.stdErr, clippedNodes, clippedFraction };
  });
}

function checkDeltas(deltas: readonly number[]): void {
  if (deltas.length === 0) throw new RangeError('log-det proxies need at least one delta, got none');
  deltas.forEach((d, i) => checkPositive(`delta ${i}`, d));
}
