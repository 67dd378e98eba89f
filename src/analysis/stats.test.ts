import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../ml/rng.js';
import { bootstrapInterval, kendallTauB, pairedWilcoxon, pearson, pearsonLog, quantileSorted, spearman } from './stats.js';

/** Values from SciPy's documentation examples (scipy.stats.kendalltau, spearmanr, pearsonr, wilcoxon). */
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("Kendall's tau-b with ties: scipy.stats.kendalltau's example", () => {
  // x = [12, 2, 1, 12, 2], y = [1, 4, 7, 1, 0] -> tau = -0.47140452079103173 (ties in both).
  close(kendallTauB([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]), -0.47140452079103173);
  // Without ties tau-b is tau-a: a textbook permutation, (C - D) / (n(n-1)/2) = (8 - 2) / 10.
  close(kendallTauB([1, 2, 3, 4, 5], [3, 1, 2, 4, 5]), 0.6);
  assert.equal(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Number.isNaN(kendallTauB([1, 1, 1], [1, 2, 3])), 'undefined for a constant sample');
});

test("Spearman's rho with ties and Pearson's r: scipy's examples", () => {
  close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233);
  close(pearson([1, 2, 3, 4, 5, 6, 7], [10, 9, 2.5, 6, 4, 3, 2]), -0.828503883588428);
  close(pearsonLog([1, Math.E, Math.E ** 2], [0, 1, 2]), 1);
  assert.ok(Number.isNaN(pearsonLog([1, 0, 2], [0, 1, 2])), 'log needs positive metrics');
  assert.ok(Number.isNaN(spearman([2, 2, 2], [1, 2, 3])));
});

test('paired Wilcoxon signed-rank: scipy.stats.wilcoxon example (exact two-sided p)', () => {
  const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
  const r = pairedWilcoxon(new Array(d.length).fill(0), d);
  close(r.pValue as number, 0.041259765625, 1e-9);
  // W+ = 96 here; scipy reports min(W+, W-) = 24: the same test (W+ + W- = n(n+1)/2 = 120).
  assert.equal(r.statistic, 96);
  assert.equal(r.n, 15);
  assert.equal(pairedWilcoxon([1, 2], [1, 2]).pValue, null);
});

test('bootstrap percentile interval: seeded, covers the statistic, narrows with n', () => {
  const rng = new Rng(0);
  const x = Array.from({ length: 60 }, () => rng.normal());
  const y = x.map((v) => v + 0.5 * rng.normal());
  const a = bootstrapInterval(x, y, spearman, 500, new Rng('b'));
  const b = bootstrapInterval(x, y, spearman, 500, new Rng('b'));
  assert.deepEqual(a, b);
  const rho = spearman(x, y);
  assert.ok(a.interval && a.interval.low < rho && rho < a.interval.high && a.interval.high - a.interval.low < 0.4);
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  const constant = bootstrapInterval([1, 1, 1], [1, 2, 3], spearman, 100, new Rng(1));
  assert.equal(constant.interval, null);
  assert.equal(constant.undefinedResamples, 100);
});
