import type { Rng } from '../rng.js';
import type { SymOperator } from './operator.js';

/**
 * Float64 vector helpers shared by the estimators in this folder. Plain loops: the vectors are long
 * (one entry per parameter), the operations are memory-bound, and every accumulation is in float64.
 */

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** y += alpha * x, in place. */
export function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + alpha * (x[i] as number);
}

/** x *= s, in place. */
export function scaleInPlace(x: Float64Array, s: number): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * s;
}

/** Progress after each product: `done` of `total` products. Awaited, so it may be async. */
export type ProductProgress = (done: number, total: number) => void | Promise<void>;

/** A Rademacher vector: entries +1 or -1 with equal probability, one `rng.int(2)` each. */
export function rademacher(rng: Rng, dim: number): Float64Array {
  const v = new Float64Array(dim);
  for (let i = 0; i < dim; i++) v[i] = rng.int(2) === 0 ? -1 : 1;
  return v;
}

/** A Gaussian vector normalised to unit length: a uniformly random direction on the sphere. */
export function gaussianUnit(rng: Rng, dim: number): Float64Array {
  for (;;) {
    const v = new Float64Array(dim);
    for (let i = 0; i < dim; i++) v[i] = rng.normal();
    const n = norm(v);
    // n = 0 has probability zero; redraw rather than return a non-unit vector.
    if (n > 0) {
      scaleInPlace(v, 1 / n);
      return v;
    }
  }
}

/** Sample mean and standard error of the mean (sample sd with n - 1, divided by sqrt(n)). */
export function meanAndStdErr(samples: ArrayLike<number>): { readonly mean: number; readonly stdErr: number } {
  const n = samples.length;
  if (n < 2) throw new RangeError(`a standard error needs at least 2 samples, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += samples[i] as number;
  mean /= n;
  // Two passes: the samples are kept anyway, and this avoids the cancellation of sum(x^2) - n mean^2.
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (samples[i] as number) - mean;
    ss += d * d;
  }
  return { mean, stdErr: Math.sqrt(ss / (n - 1) / n) };
}

/**
 * One product through the operator, checked: a wrong length or a NaN/Infinity (a diverged model, a
 * broken HVP) would otherwise spread silently through every later vector. `index` (1-based) names
 * the product in the message.
 */
export async function applyChecked(op: SymOperator, v: Float64Array, index: number): Promise<Float64Array> {
  const y = await op.apply(v);
  if (y.length !== op.dim) throw new Error(`operator product ${index} returned ${y.length} entries, expected dim = ${op.dim}`);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i] as number)) throw new Error(`operator product ${index} returned ${String(y[i])} at entry ${i}`);
  }
  return y;
}

/** Throws a RangeError unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
}

/** Throws a RangeError unless `value` is a finite number > 0. */
export function checkPositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${String(value)}`);
}

/** Throws a RangeError unless the operator's dim is a positive integer. */
export function checkOperator(op: SymOperator): void {
  checkInt('operator dim', op.dim, 1);
}
