import type { Rng } from '../rng.js';
import type { ClassificationPool, RegressionPool } from './pool.js';

/**
 * Small synthetic sets where the whole landscape can be afforded (exact Hessians, dense basin
 * sampling). Classification sets give example i class `i mod classes`, so the pool's classes are
 * balanced to within one example; the split then draws from the pool like from any other source.
 */

export interface GaussianMixtureOptions {
  readonly classes: number;
  readonly dims: number;
  /** Distance between neighbouring class means. */
  readonly separation: number;
  /** Standard deviation of each coordinate around its class mean. */
  readonly std: number;
}

/**
 * Isotropic Gaussians around fixed means. With dims >= classes the means are separation/sqrt(2)
 * times the unit vectors e_c (every pair exactly `separation` apart); in 1-D they lie on a line,
 * `separation` apart; otherwise on a circle in the first two coordinates with neighbours
 * `separation` apart. Fixed means keep the set's difficulty a function of its parameters alone.
 */
export function gaussianMixture(n: number, o: GaussianMixtureOptions, rng: Rng): ClassificationPool {
  const means = classMeans(o);
  const x = new Float32Array(n * o.dims);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % o.classes;
    labels[i] = c;
    for (let j = 0; j < o.dims; j++) x[i * o.dims + j] = means[c]![j]! + o.std * rng.normal();
  }
  return { task: 'classification', n, inputShape: [o.dims], x, labels, classes: o.classes };
}

export function classMeans(o: Pick<GaussianMixtureOptions, 'classes' | 'dims' | 'separation'>): number[][] {
  const { classes, dims, separation } = o;
  return Array.from({ length: classes }, (_, c) => {
    const m = new Array<number>(dims).fill(0);
    if (dims >= classes) m[c] = separation / Math.SQRT2;
    else if (dims === 1) m[0] = (c - (classes - 1) / 2) * separation;
    else {
      const radius = separation / (2 * Math.sin(Math.PI / classes));
      m[0] = radius * Math.cos((2 * Math.PI * c) / classes);
      m[1] = radius * Math.sin((2 * Math.PI * c) / classes);
    }
    return m;
  });
}

export interface SpiralsOptions {
  readonly classes: number;
  /** Standard deviation of the Gaussian noise added to both coordinates. */
  readonly noise: number;
  /** How many times each arm winds around the centre. */
  readonly turns: number;
}

/**
 * Interleaved spiral arms in the plane (two by default), arm c rotated by 2*pi*c/classes, radius
 * from 0 to 1. The position along the arm is sqrt(uniform), so points are spread evenly along its
 * length rather than crowded at the centre.
 */
export function spirals(n: number, o: SpiralsOptions, rng: Rng): ClassificationPool {
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % o.classes;
    const t = Math.sqrt(rng.uniform());
    const angle = 2 * Math.PI * (o.turns * t + c / o.classes);
    labels[i] = c;
    x[2 * i] = t * Math.cos(angle) + o.noise * rng.normal();
    x[2 * i + 1] = t * Math.sin(angle) + o.noise * rng.normal();
  }
  return { task: 'classification', n, inputShape: [2], x, labels, classes: o.classes };
}

export interface SwissRollOptions {
  readonly classes: number;
  readonly noise: number;
}

/**
 * A 2-D swiss roll (scikit-learn's parametrisation, t = 1.5*pi*(1 + 2u)), scaled into [-1, 1].
 * Classes are consecutive bands of equal parameter length along the arc: class c has u in
 * [c/classes, (c+1)/classes).
 */
export function swissRoll(n: number, o: SwissRollOptions, rng: Rng): ClassificationPool {
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  const scale = 1 / (4.5 * Math.PI);
  for (let i = 0; i < n; i++) {
    const c = i % o.classes;
    const u = (c + rng.uniform()) / o.classes;
    const t = 1.5 * Math.PI * (1 + 2 * u);
    labels[i] = c;
    x[2 * i] = t * Math.cos(t) * scale + o.noise * rng.normal();
    x[2 * i + 1] = t * Math.sin(t) * scale + o.noise * rng.normal();
  }
  return { task: 'classification', n, inputShape: [2], x, labels, classes: o.classes };
}

export interface Regression1dOptions {
  /** Standard deviation of the Gaussian noise on the target. */
  readonly noise: number;
  /** y = sin(2*pi*frequency*x). */
  readonly frequency: number;
}

/** A 1-D regression target, y = sin(2*pi*f*x) + noise, x uniform in [-1, 1] (the paper's first figure fits such a curve through a few points). */
export function regression1d(n: number, o: Regression1dOptions, rng: Rng): RegressionPool {
  const x = new Float32Array(n);
  const targets = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // The target is computed from the stored float32 x, so (x, y) pairs agree exactly.
    const xi = Math.fround(2 * rng.uniform() - 1);
    x[i] = xi;
    targets[i] = Math.sin(2 * Math.PI * o.frequency * xi) + o.noise * rng.normal();
  }
  return { task: 'regression', n, inputShape: [1], x, targets, targetDim: 1 };
}
