import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matrixWithSpectrum } from '../linalg/testing.js';
import { Rng } from '../rng.js';
import { normalise } from './directions.js';
import { findRadius, type LineLoss } from './radius.js';
import { estimateVolume, logMeanExp, logUnitBallVolume, quadraticLogVolume, radiusStatistics } from './volume.js';

test('log omega_d: exact for small d, and equal to sums of logs for large d', () => {
  assert.ok(Math.abs(logUnitBallVolume(1) - Math.log(2)) < 1e-15);
  assert.ok(Math.abs(logUnitBallVolume(2) - Math.log(Math.PI)) < 1e-15);
  assert.ok(Math.abs(logUnitBallVolume(3) - Math.log((4 * Math.PI) / 3)) < 1e-15);
  assert.ok(Math.abs(logUnitBallVolume(4) - Math.log((Math.PI * Math.PI) / 2)) < 1e-14);
  // d = 2n: log omega = n log pi - log n!; d = 2n + 1: Gamma(n + 3/2) = sqrt(pi) prod_{k=1..n+1} (k - 1/2).
  for (const n of [10, 1000, 39755]) {
    let logFact = 0;
    let logHalf = 0.5 * Math.log(Math.PI);
    for (let k = 1; k <= n; k++) logFact += Math.log(k);
    for (let k = 1; k <= n + 1; k++) logHalf += Math.log(k - 0.5);
    const even = n * Math.log(Math.PI) - logFact;
    const odd = ((2 * n + 1) / 2) * Math.log(Math.PI) - logHalf;
    assert.ok(Math.abs(logUnitBallVolume(2 * n) - even) <= 1e-13 * Math.max(1, Math.abs(even)), `d = ${2 * n}`);
    assert.ok(Math.abs(logUnitBallVolume(2 * n + 1) - odd) <= 1e-13 * Math.max(1, Math.abs(odd)), `d = ${2 * n + 1}`);
  }
  assert.throws(() => logUnitBallVolume(0), /integer >= 1/);
});

test('logmeanexp is stable at any magnitude', () => {
  assert.equal(logMeanExp([1e5, 1e5]), 1e5);
  assert.ok(Math.abs(logMeanExp([-2e5, -2e5 + Math.log(3)]) - (-2e5 + Math.log(2))) < 1e-9);
  assert.ok(Math.abs(logMeanExp([0, -Infinity]) - Math.log(0.5)) < 1e-15);
  assert.equal(logMeanExp([-Infinity]), -Infinity);
  assert.throws(() => logMeanExp([]), /no values/);
});

/**
 * A positive-definite quadratic L(x) = l0 + 1/2 x^T H x with a known spectrum: the sublevel set
 * {L <= l0 + c} is an ellipsoid of log volume log omega_d + (d/2) log 2c - 1/2 sum log lambda.
 */
function quadratic(lambdas: number[], seed: string) {
  const d = lambdas.length;
  const H = matrixWithSpectrum(lambdas, new Rng(seed).derive('Q'));
  const loss = (x: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < d; i++) {
      let hx = 0;
      for (let j = 0; j < d; j++) hx += (H[i * d + j] as number) * (x[j] as number);
      s += (x[i] as number) * hx;
    }
    return 0.3 + 0.5 * s;
  };
  // The line through 0 along u, evaluated point by point as a black box.
  const line = (u: Float64Array): LineLoss => (ts) => ts.map((t) => loss(u.map((v) => t * v)));
  const sphere = (rng: Rng) => normalise(Float64Array.from({ length: d }, () => rng.normal()));
  return { d, line, sphere, exact: (c: number) => quadraticLogVolume(d, c, -0.5 * lambdas.reduce((s, l) => s + Math.log(l), 0)) };
}

function sampleRadii(q: ReturnType<typeof quadratic>, k: number, c: number, seed: string) {
  const rng = new Rng(seed).derive('directions');
  return Float64Array.from({ length: k }, () => findRadius(q.line(q.sphere(rng)), { level: 0.3 + c, lossAtZero: 0.3, span: 100, grid: { points: 16, power: 2 }, tol: 1e-3, sectionPoints: 7 }).radius);
}

test('a positive-definite quadratic: the sampled log V matches log omega_d + (d/2) log 2c - 1/2 sum log lambda within its bootstrap interval', (t) => {
  for (const [lambdas, c] of [[[1, 2, 3, 5], 0.1], [[0.5, 0.8, 1, 1.5, 2, 3, 4, 5], 0.05], [[0.2, 0.3, 0.5, 0.7, 1, 2], 1]] as const) {
    const q = quadratic([...lambdas], `quad-${lambdas.length}`);
    const radii = sampleRadii(q, 1000, c, `quad-${lambdas.length}`);
    const est = estimateVolume(radii, q.d, { resamples: 2000, level: 0.95, rng: new Rng('boot').derive('bootstrap') });
    const exact = q.exact(c);
    const [lo, hi] = est.ci.logVolume;
    t.diagnostic(`d=${q.d}, cond ${Math.max(...lambdas) / Math.min(...lambdas)}: log V ${est.logVolume.toFixed(4)} [${lo.toFixed(4)}, ${hi.toFixed(4)}], exact ${exact.toFixed(4)}, ${est.effectiveDirections.toFixed(0)} effective directions`);
    assert.ok(lo <= exact && exact <= hi, `d=${q.d}: exact ${exact} outside [${lo}, ${hi}]`);
    assert.ok(Math.abs(est.logVolume - exact) < 0.1, `d=${q.d}: ${est.logVolume} vs ${exact}`);
    assert.ok(lo <= est.logVolume && est.logVolume <= hi);
    // The companions: every radius lies between the ellipsoid's shortest and longest semi-axes.
    const rMin = Math.sqrt((2 * c) / Math.max(...lambdas));
    const rMax = Math.sqrt((2 * c) / Math.min(...lambdas));
    assert.ok(radii.every((r) => r >= rMin * (1 - 1e-6) && r <= rMax * (1 + 1e-6)));
    assert.ok(est.ci.meanLogRadius[0] <= est.meanLogRadius && est.meanLogRadius <= est.ci.meanLogRadius[1]);
    assert.ok(est.ci.medianLogRadius[0] <= est.medianLogRadius && est.medianLogRadius <= est.ci.medianLogRadius[1]);
  }
});

test('the volume scales as c^(d/2) and as det(H)^(-1/2): doubling every eigenvalue lowers log V by (d/2) log 2', () => {
  const lambdas = [1, 2, 3, 5, 8];
  const a = quadratic(lambdas, 'scale');
  const b = quadratic(lambdas.map((l) => 2 * l), 'scale');
  const va = estimateVolume(sampleRadii(a, 200, 0.1, 's'), 5, { resamples: 0, level: 0.95, rng: new Rng(0) });
  const vb = estimateVolume(sampleRadii(b, 200, 0.1, 's'), 5, { resamples: 0, level: 0.95, rng: new Rng(0) });
  // Same directions, radii exactly 1/sqrt(2) apart (up to the interpolation): the difference is exact.
  assert.ok(Math.abs(va.logVolume - vb.logVolume - 2.5 * Math.log(2)) < 1e-6, `${va.logVolume - vb.logVolume}`);
  assert.deepEqual(va.ci.logVolume, [Number.NaN, Number.NaN], 'no resamples, no interval');
});

test('a zero-curvature direction is censored at the span and counted, never dropped', () => {
  // H = diag(0, 1, 2, 4): e_1 has zero curvature; a random direction crosses (e_1 has measure zero).
  const lambdas = [0, 1, 2, 4];
  const line = (u: Float64Array): LineLoss => (ts) => ts.map((t) => 0.3 + 0.5 * lambdas.reduce((s, l, i) => s + l * (t * (u[i] as number)) ** 2, 0));
  const o = { level: 0.4, lossAtZero: 0.3, span: 100, grid: { points: 16, power: 2 }, tol: 1e-3, sectionPoints: 7 };
  const rng = new Rng('flat').derive('directions');
  const dirs = [Float64Array.of(1, 0, 0, 0), ...Array.from({ length: 9 }, () => normalise(Float64Array.from({ length: 4 }, () => rng.normal()))), Float64Array.of(-1, 0, 0, 0)];
  const results = dirs.map((u) => findRadius(line(u), o));
  assert.deepEqual(results.map((r) => r.censored), [true, ...Array<boolean>(9).fill(false), true]);
  assert.deepEqual([results[0]!.radius, results[10]!.radius], [100, 100]);
  // Censored radii enter at the span: the estimate is a lower bound, and grows with the span.
  const radii = results.map((r) => r.radius);
  const wider = dirs.map((u) => findRadius(line(u), { ...o, span: 1000 }).radius);
  const v = (rs: number[]) => estimateVolume(rs, 4, { resamples: 0, level: 0.95, rng: new Rng(0) }).logVolume;
  assert.ok(v(wider) > v(radii) + 4 * Math.log(9));
});

test('same seed, same radii and the same intervals; statistics of constant radii are exact', () => {
  const q = quadratic([1, 3, 9], 'seed');
  assert.deepEqual(sampleRadii(q, 30, 0.1, 'a'), sampleRadii(q, 30, 0.1, 'a'));
  assert.notDeepEqual(sampleRadii(q, 30, 0.1, 'a'), sampleRadii(q, 30, 0.1, 'b'));
  const radii = sampleRadii(q, 30, 0.1, 'a');
  const run = () => estimateVolume(radii, 3, { resamples: 500, level: 0.9, rng: new Rng(7).derive('bootstrap') });
  assert.deepEqual(run(), run());

  const constant = estimateVolume([2, 2, 2, 2], 10, { resamples: 100, level: 0.95, rng: new Rng(1) });
  assert.ok(Math.abs(constant.logVolume - (logUnitBallVolume(10) + 10 * Math.log(2))) < 1e-12);
  assert.ok(Math.abs(constant.effectiveDirections - 4) < 1e-12);
  assert.deepEqual(constant.ci.meanLogRadius, [Math.log(2), Math.log(2)]);
  // One radius far larger than the rest decides the volume: one effective direction.
  const dominated = estimateVolume([1, 1, 1, 3], 100, { resamples: 0, level: 0.95, rng: new Rng(1) });
  assert.ok(Math.abs(dominated.effectiveDirections - 1) < 1e-12);
  assert.ok(Math.abs(dominated.logVolume - (logUnitBallVolume(100) + 100 * Math.log(3) - Math.log(4))) < 1e-9);
  assert.equal(radiusStatistics([0, 0, Math.log(3)], 1).medianLogRadius, 0);
  assert.throws(() => estimateVolume([1, 0], 3, { resamples: 0, level: 0.95, rng: new Rng(1) }), /radius 1 must be finite and > 0/);
});
