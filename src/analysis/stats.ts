import wilcoxonTest from '@stdlib/stats-wilcoxon';
import { sampleCorrelation, sampleRankCorrelation } from 'simple-statistics';
import { Rng } from '../ml/rng.js';

/**
 * The statistics of the `correlate` stage. Libraries where they fit: simple-statistics for Pearson
 * (`sampleCorrelation`) and Spearman (`sampleRankCorrelation`, average ranks for ties, i.e. Pearson on
 * ranks as scipy.stats.spearmanr), @stdlib/stats-wilcoxon for the paired signed-rank test (exact
 * p-values for small n, as scipy's default). Kendall's tau-b is written here: no well-kept JS package
 * implements the tie-corrected tau-b (O(n^2) pair counting; n is the number of models, hundreds at
 * most). Each function is tested against scipy's documented examples (stats.test.ts).
 */

export type CorrelationMethod = 'spearman' | 'kendall' | 'pearson-log';

/** Kendall's tau-b: (concordant - discordant) / sqrt((n0 - n1)(n0 - n2)), ties in x and y corrected. */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  checkPaired(x, y);
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0; // pairs tied in x only
  let tiesY = 0; // pairs tied in y only
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign((x[i] as number) - (x[j] as number));
      const dy = Math.sign((y[i] as number) - (y[j] as number));
      if (dx === 0 && dy === 0) continue; // tied in both: in neither denominator term's count
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return denom > 0 ? (concordant - discordant) / denom : Number.NaN;
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  checkPaired(x, y);
  if (constant(x) || constant(y)) return Number.NaN;
  return sampleRankCorrelation([...x], [...y]);
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  checkPaired(x, y);
  if (constant(x) || constant(y)) return Number.NaN;
  return sampleCorrelation([...x], [...y]);
}

/**
 * Pearson r of log(metric) against the target, as docs/science.md asks ("Pearson r on log
 * metrics"); NaN unless every metric value is positive.
 */
export function pearsonLog(metric: readonly number[], target: readonly number[]): number {
  if (metric.some((v) => !(v > 0))) return Number.NaN;
  return pearson(metric.map(Math.log), target);
}

export function correlation(method: CorrelationMethod, metric: readonly number[], target: readonly number[]): number {
  switch (method) {
    case 'spearman':
      return spearman(metric, target);
    case 'kendall':
      return kendallTauB(metric, target);
    case 'pearson-log':
      return pearsonLog(metric, target);
  }
}

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/**
 * Percentile bootstrap 95% interval of `stat` over paired samples: `resamples` draws of n indices
 * with replacement (seeded). Resamples where the statistic is undefined (e.g. all values equal) are
 * left out and counted; the interval is null when fewer than half remain.
 */
export function bootstrapInterval(
  x: readonly number[],
  y: readonly number[],
  stat: (x: readonly number[], y: readonly number[]) => number,
  resamples: number,
  rng: Rng,
  level = 0.95,
): { interval: Interval | null; undefinedResamples: number } {
  checkPaired(x, y);
  const n = x.length;
  const values: number[] = [];
  let undef = 0;
  const bx = new Array<number>(n);
  const by = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = rng.int(n);
      bx[i] = x[k] as number;
      by[i] = y[k] as number;
    }
    const v = stat(bx, by);
    if (Number.isFinite(v)) values.push(v);
    else undef++;
  }
  if (values.length < resamples / 2) return { interval: null, undefinedResamples: undef };
  values.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { interval: { low: quantileSorted(values, alpha), high: quantileSorted(values, 1 - alpha) }, undefinedResamples: undef };
}

/** Linear-interpolation quantile of sorted values (numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + (pos - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

export interface PairedTest {
  readonly n: number;
  /** Mean and median of the differences (b - a). */
  readonly meanDifference: number;
  readonly medianDifference: number;
  /** Wilcoxon signed-rank: W+ (sum of the ranks of positive differences) and the two-sided p-value. */
  readonly statistic: number | null;
  readonly pValue: number | null;
}

/**
 * The paired Wilcoxon signed-rank test of b against a (differences b - a), two-sided; exact for
 * small n without ties (as scipy's default), else the normal approximation with the tie correction
 * (@stdlib's rules). Zero differences are dropped (Wilcoxon's convention). Needs >= 2 non-zero
 * differences for a p-value.
 */
export function pairedWilcoxon(a: readonly number[], b: readonly number[]): PairedTest {
  checkPaired(a, b);
  const d = b.map((v, i) => v - (a[i] as number));
  const sorted = [...d].sort((p, q) => p - q);
  const base = { n: d.length, meanDifference: d.reduce((s, v) => s + v, 0) / d.length, medianDifference: quantileSorted(sorted, 0.5) };
  if (d.filter((v) => v !== 0).length < 2) return { ...base, statistic: null, pValue: null };
  const r = wilcoxonTest(d, { zeroMethod: 'wilcox' });
  return { ...base, statistic: r.statistic, pValue: r.pValue };
}

function checkPaired(x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) throw new RangeError(`paired samples must have equal lengths, got ${x.length} and ${y.length}`);
}

function constant(x: readonly number[]): boolean {
  return x.every((v) => v === x[0]);
}
