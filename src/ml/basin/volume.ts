import { gammaln, quantileSorted } from 'simple-statistics';
import type { Rng } from '../rng.js';

/**
 * Basin volume from radii along random directions (docs/science.md "Basin volume by sampling"),
 * pure JS, float64.
 *
 * The identity: for a star-shaped set around theta with radius r(u) along each unit direction u,
 * V = omega_d E_u[r(u)^d], u uniform on the unit sphere, omega_d = pi^(d/2) / Gamma(d/2 + 1) the
 * volume of the unit d-ball. From K directions:
 *   log V = log omega_d + logmeanexp_k(d log r_k).
 * It holds for unit-sphere directions only (filter-normalised ones give a number in their own units).
 *
 * Conventions:
 * - Everything is in logs: d log r is hundreds of thousands for an MNIST MLP.
 * - The estimate is dominated by the largest radii (the mean of exp(d log r_k)), so the mean and the
 *   median of log r are reported beside it, and `effectiveDirections` = (sum w)^2 / sum w^2 with
 *   w_k = r_k^d says how many directions it effectively rests on (1: one direction decides it).
 * - Censored radii (no crossing within the span) enter at the span: every statistic is then a lower
 *   bound, which is why callers count and report them.
 * - Confidence intervals: percentile bootstrap over directions (resample the K radii with
 *   replacement, recompute each statistic), quantiles by linear interpolation (type 7, numpy's
 *   default), random indices from the Rng given (one `rng.int(K)` per draw, resample by resample).
 * - lgamma is simple-statistics' `gammaln` (Lanczos approximation; we need it at d/2 + 1 only, an
 *   integer or half-integer, where it agrees with sums of logs to 1e-13 relative: tested).
 */

/** log omega_d, the log volume of the unit ball in R^d. */
export function logUnitBallVolume(d: number): number {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`the dimension must be an integer >= 1, got ${d}`);
  return (d / 2) * Math.log(Math.PI) - gammaln(d / 2 + 1);
}

/** log((1/n) sum exp(x_i)), stable for any magnitudes; -Infinity entries contribute 0. */
export function logMeanExp(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n === 0) throw new RangeError('logmeanexp of no values is undefined');
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, xs[i] as number);
  if (max === -Infinity) return -Infinity;
  if (!Number.isFinite(max)) throw new RangeError(`logmeanexp needs finite values or -Infinity, got ${max}`);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp((xs[i] as number) - max);
  return max + Math.log(s / n);
}

/**
 * log V_quad of the sublevel set {x : 1/2 x^T H x <= offset} of a positive-definite quadratic, an
 * ellipsoid: log omega_d + (d/2) log(2 offset) - 1/2 sum log lambda_i. `negHalfLogDet` is
 * -1/2 sum log lambda_i (the hessian stage's log-det proxy -1/2 sum log(max(lambda_i, 0) + delta)).
 */
export function quadraticLogVolume(d: number, offset: number, negHalfLogDet: number): number {
  if (!(offset > 0)) throw new RangeError(`the level's offset above the minimum must be > 0, got ${offset}`);
  return logUnitBallVolume(d) + (d / 2) * Math.log(2 * offset) + negHalfLogDet;
}

/** The point statistics of one sample of radii. */
export interface RadiusStatistics {
  /** log omega_d + logmeanexp(d log r). */
  readonly logVolume: number;
  readonly meanLogRadius: number;
  readonly medianLogRadius: number;
}

export interface VolumeEstimate extends RadiusStatistics {
  readonly d: number;
  readonly directions: number;
  readonly logUnitBall: number;
  /** (sum w)^2 / sum w^2, w_k = r_k^d: how many directions the volume effectively rests on. */
  readonly effectiveDirections: number;
  /** Percentile bootstrap intervals over directions at `level`. */
  readonly ci: {
    readonly level: number;
    readonly resamples: number;
    readonly logVolume: readonly [number, number];
    readonly meanLogRadius: readonly [number, number];
    readonly medianLogRadius: readonly [number, number];
  };
}

export interface VolumeOptions {
  /** Bootstrap resamples (>= 1; 0 gives no interval: NaN ends). */
  readonly resamples: number;
  /** Two-sided coverage of the intervals, e.g. 0.95. */
  readonly level: number;
  /** Bootstrap index stream (give it its own `derive` label). */
  readonly rng: Rng;
}

/** Statistics of log radii (natural logs) in dimension d. */
export function radiusStatistics(logRadii: ArrayLike<number>, d: number): RadiusStatistics {
  const n = logRadii.length;
  if (n === 0) throw new RangeError('no radii');
  const scaled = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = logRadii[i] as number;
    if (!Number.isFinite(v)) throw new RangeError(`radius ${i} has log ${v}: radii must be finite and > 0`);
    scaled[i] = d * v;
    sum += v;
  }
  const sorted = Float64Array.from(logRadii).sort();
  return { logVolume: logUnitBallVolume(d) + logMeanExp(scaled), meanLogRadius: sum / n, medianLogRadius: quantileSorted(Array.from(sorted), 0.5) };
}

/** The volume estimate, its companions and their bootstrap intervals, from radii r_k > 0. */
export function estimateVolume(radii: ArrayLike<number>, d: number, o: VolumeOptions): VolumeEstimate {
  const k = radii.length;
  if (k === 0) throw new RangeError('a volume estimate needs at least one radius');
  if (!(o.level > 0 && o.level < 1)) throw new RangeError(`the interval level must be in (0, 1), got ${o.level}`);
  if (!Number.isInteger(o.resamples) || o.resamples < 0) throw new RangeError(`resamples must be an integer >= 0, got ${o.resamples}`);
  const logR = Float64Array.from(radii, (r, i) => {
    if (!(r > 0) || !Number.isFinite(r)) throw new RangeError(`radius ${i} must be finite and > 0, got ${r}`);
    return Math.log(r);
  });
  const point = radiusStatistics(logR, d);

  // Effective sample size of the weights r_k^d, in logs: (sum w)^2 / sum w^2.
  const scaled = logR.map((v) => d * v);
  const ess = Math.exp(2 * logSumExp(scaled) - logSumExp(scaled.map((v) => 2 * v)));

  const boot = { logVolume: new Float64Array(o.resamples), meanLogRadius: new Float64Array(o.resamples), medianLogRadius: new Float64Array(o.resamples) };
  const sample = new Float64Array(k);
  for (let b = 0; b < o.resamples; b++) {
    for (let i = 0; i < k; i++) sample[i] = logR[o.rng.int(k)] as number;
    const s = radiusStatistics(sample, d);
    boot.logVolume[b] = s.logVolume;
    boot.meanLogRadius[b] = s.meanLogRadius;
    boot.medianLogRadius[b] = s.medianLogRadius;
  }
  const interval = (values: Float64Array): readonly [number, number] => {
    if (values.length === 0) return [Number.NaN, Number.NaN];
    const sorted = Array.from(values.sort());
    const tail = (1 - o.level) / 2;
    return [quantileSorted(sorted, tail), quantileSorted(sorted, 1 - tail)];
  };
  return {
    ...point,
    d,
    directions: k,
    logUnitBall: logUnitBallVolume(d),
    effectiveDirections: Number.isFinite(ess) ? ess : Number.NaN,
    ci: {
      level: o.level,
      resamples: o.resamples,
      logVolume: interval(boot.logVolume),
      meanLogRadius: interval(boot.meanLogRadius),
      medianLogRadius: interval(boot.medianLogRadius),
    },
  };
}

function logSumExp(xs: Float64Array): number {
  return logMeanExp(xs) + Math.log(xs.length);
}
