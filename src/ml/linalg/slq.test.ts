import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { denseOperator } from './operator.js';
import { density, slq, slqEstimate, type SlqResult } from './slq.js';
import { matrixWithSpectrum } from './testing.js';
import { hutchinson } from './trace.js';

/**
 * SLQ against matrices with known spectra: quadrature weights, trace estimates within 3 standard
 * errors, the smoothed density's mass per cluster, and exactness where Gauss quadrature is exact.
 */

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Three clusters: 60 eigenvalues near -1, 160 near 2, 80 near 6 (uniform within +-0.05, +-0.05, +-0.2). */
function clusters(rng: Rng): number[] {
  const near = (c: number, h: number, n: number): number[] => Array.from({ length: n }, () => c - h + 2 * h * rng.uniform());
  return [...near(-1, 0.05, 60), ...near(2, 0.05, 160), ...near(6, 0.2, 80)];
}

/** Integral of the density over [a, b] by the trapezoid rule on a fine grid. */
function mass(result: SlqResult, a: number, b: number, sigma: number): number {
  const n = 400;
  const grid = Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
  const phi = density(result, grid, sigma);
  let s = 0;
  for (let i = 0; i < n; i++) s += (((phi[i] as number) + (phi[i + 1] as number)) / 2) * ((b - a) / n);
  return s;
}

test('SLQ: weights sum to 1 per run; trace and ||H||_F^2 within 3 SE; the density puts the right mass on each cluster', async (t) => {
  const rng = new Rng(31);
  const lambdas = clusters(rng.derive('spectrum'));
  const dim = lambdas.length;
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), dim);
  let last = 0;
  const r = await slq(op, rng.derive('probes'), { runs: 30, steps: 30, onProduct: (done) => void (last = done) });
  assert.equal(r.runs.length, 30);
  assert.equal(r.products, 900);
  assert.equal(last, 900);
  for (const run of r.runs) {
    assert.equal(run.nodes.length, 30);
    assert.equal(run.exhausted, false);
    assert.ok(Math.abs(run.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(run.weights.every((w) => w >= 0));
    assert.ok(run.nodes.every((x, i) => i === 0 || x >= (run.nodes[i - 1] as number)));
    // Ritz values lie inside the spectrum's range.
    assert.ok((run.nodes[0] as number) >= Math.min(...lambdas) - 1e-9 && (run.nodes.at(-1) as number) <= Math.max(...lambdas) + 1e-9);
  }

  for (const [name, f, exact] of [
    ['trace', (x: number) => x, sum(lambdas)],
    ['Frobenius', (x: number) => x * x, sum(lambdas.map((l) => l * l))],
  ] as const) {
    const e = slqEstimate(r, dim, f);
    t.diagnostic(`${name}: ${e.value.toFixed(2)} +- ${e.stdErr.toFixed(2)} (exact ${exact.toFixed(2)})`);
    assert.ok(e.stdErr > 0 && Math.abs(e.value - exact) <= 3 * e.stdErr, `${name}: ${e.value} +- ${e.stdErr} vs ${exact}`);
    assert.ok(Math.abs(e.value - 0.9 * exact) > 3 * e.stdErr, `${name}: SE ${e.stdErr} too large to be a test`);
  }

  const sigma = 0.1;
  const masses = [mass(r, -1.6, -0.4, sigma), mass(r, 1.4, 2.6, sigma), mass(r, 5.2, 6.8, sigma)];
  t.diagnostic(`cluster masses ${masses.map((m) => m.toFixed(3)).join(' ')} (exact 0.200 0.533 0.267)`);
  [60, 160, 80].forEach((count, i) => assert.ok(Math.abs((masses[i] as number) - count / dim) < 0.05, `cluster ${i}: ${masses[i]}`));
  assert.ok(Math.abs(mass(r, -3, 9, sigma) - 1) < 1e-6);
  assert.ok(mass(r, 2.6, 5.2, sigma) < 0.01, 'no mass between clusters');
});

test('SLQ: f(x) = x and x^2 reproduce the Hutchinson samples of the same start vectors exactly (Gauss rule degree 2m - 1)', async () => {
  const rng = new Rng(32);
  const lambdas = clusters(rng.derive('spectrum')).slice(0, 120);
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 120);
  const r = await slq(op, rng.derive('probes'), { runs: 8, steps: 3 });
  const h = await hutchinson(op, rng.derive('probes'), { probes: 8 });
  const trace = slqEstimate(r, 120, (x) => x);
  const frobenius = slqEstimate(r, 120, (x) => x * x);
  assert.ok(Math.abs(trace.value - h.trace) < 1e-10 * Math.abs(h.trace));
  assert.ok(Math.abs(trace.stdErr - h.traceStdErr) < 1e-9 * h.traceStdErr);
  assert.ok(Math.abs(frobenius.value - h.frobeniusSq) < 1e-10 * h.frobeniusSq);
});

test('SLQ: a run whose Krylov space is exhausted early has fewer nodes, at the exact eigenvalues', async () => {
  const rng = new Rng(33);
  const distinct = [-1, 0.5, 2, 4];
  const lambdas = distinct.flatMap((l) => Array<number>(15).fill(l));
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 60);
  const r = await slq(op, rng.derive('probes'), { runs: 5, steps: 20 });
  assert.equal(r.products, 20);
  for (const run of r.runs) {
    assert.equal(run.steps, 4);
    assert.ok(run.exhausted);
    run.nodes.forEach((node, i) => assert.ok(Math.abs(node - (distinct[i] as number)) < 1e-10));
    assert.ok(Math.abs(run.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  }
  // Exact rule: trace exp(H) from each run is v^T exp(H) v; its mean is near 15 * sum exp(lambda).
  const e = slqEstimate(r, 60, Math.exp);
  const exact = 15 * sum(distinct.map(Math.exp));
  assert.ok(Math.abs(e.value - exact) <= 3 * e.stdErr && e.stdErr < 0.1 * exact);

  // steps = dim: every run is the whole space; nodes are all eigenvalues.
  const small = [3, 1, -2, 0.25, 5];
  const r5 = await slq(denseOperator(matrixWithSpectrum(small, rng.derive('Q5')), 5), rng.derive('p5'), { runs: 2, steps: 50 });
  assert.equal(r5.steps, 5);
  for (const run of r5.runs) {
    assert.ok(run.exhausted);
    assert.deepEqual([...run.nodes].map((x) => Math.round(x * 1e10) / 1e10), [...small].sort((a, b) => a - b));
  }
});

test('density: a single unit node is the Gaussian pdf; arguments are checked', async () => {
  const r: SlqResult = {
    runs: [
      { nodes: Float64Array.of(0), weights: Float64Array.of(1), steps: 1, exhausted: false },
      { nodes: Float64Array.of(0), weights: Float64Array.of(1), steps: 1, exhausted: false },
    ],
    steps: 1,
    products: 2,
  };
  const phi = density(r, [0, 0.5, -1], 0.5);
  [0, 0.5, -1].forEach((x, i) => {
    const pdf = Math.exp(-0.5 * (x / 0.5) ** 2) / (0.5 * Math.sqrt(2 * Math.PI));
    assert.ok(Math.abs((phi[i] as number) - pdf) < 1e-15);
  });
  assert.throws(() => density(r, [0], 0), RangeError);
  const op = denseOperator(Float64Array.of(1, 0, 0, 1), 2);
  await assert.rejects(slq(op, new Rng(1), { runs: 1, steps: 2 }), RangeError);
  await assert.rejects(slq(op, new Rng(1), { runs: 2, steps: 0 }), RangeError);
});
