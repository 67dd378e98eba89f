import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { denseOperator } from './operator.js';
import { matrixWithSpectrum } from './testing.js';
import { hutchinson, hutchPlusPlus } from './trace.js';

/**
 * Trace and Frobenius estimators against matrices with known spectra: trace = sum lambda,
 * ||H||_F^2 = sum lambda^2. Every statistical check is also made sharp: the standard error must be
 * a small fraction of the value, so that a wrong answer (0.9x) is rejected at 3 standard errors.
 */

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** |estimate - exact| <= 3 SE, with an SE small enough that 0.9 * exact would fail the same check. */
function within3Se(estimate: number, se: number, exact: number, what: string): void {
  assert.ok(se > 0, `${what}: standard error ${se}`);
  assert.ok(Math.abs(estimate - exact) <= 3 * se, `${what}: ${estimate} vs exact ${exact}, SE ${se}`);
  assert.ok(Math.abs(estimate - 0.9 * exact) > 3 * se, `${what}: SE ${se} too large to tell ${exact} from 0.9x`);
}

/** A positive spectrum with a few outliers: trace and ||H||_F^2 both far from zero. */
function flatSpectrum(rng: Rng, n: number): number[] {
  return [8, 6, 4, ...Array.from({ length: n - 3 }, () => 0.2 + 1.8 * rng.uniform())];
}

/** Ten large eigenvalues and a small symmetric bulk: the case Hutch++ is built for. */
function lowRankPlusSmall(rng: Rng, n: number): number[] {
  return [1000, 700, 500, 350, 250, 180, 120, 90, 60, 40, ...Array.from({ length: n - 10 }, () => 0.05 * rng.normal())];
}

test('Hutchinson: trace and ||H||_F^2 within 3 standard errors, sharing one product per probe', async () => {
  const rng = new Rng(21);
  const lambdas = flatSpectrum(rng.derive('spectrum'), 200);
  let products = 0;
  const dense = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 200);
  const op = { dim: 200, apply: (v: Float64Array) => ((products += 1), dense.apply(v)) };
  const progress: number[] = [];
  const r = await hutchinson(op, rng.derive('probes'), { probes: 300, onProduct: (done, total) => void progress.push(done / total) });
  assert.equal(r.products, 300);
  assert.equal(products, 300);
  assert.equal(progress.length, 300);
  assert.equal(progress.at(-1), 1);
  within3Se(r.trace, r.traceStdErr, sum(lambdas), 'trace');
  within3Se(r.frobeniusSq, r.frobeniusSqStdErr, sum(lambdas.map((l) => l * l)), 'Frobenius');
  assert.ok(Math.abs(r.trace - r.traceSamples.reduce((a, b) => a + b, 0) / 300) < 1e-9);
});

test('Hutchinson: Rademacher probes are exact on a diagonal matrix (zero variance)', async () => {
  const d = [3, -1, 0.5, 7, 2];
  const M = new Float64Array(25);
  d.forEach((v, i) => (M[i * 5 + i] = v));
  const r = await hutchinson(denseOperator(M, 5), new Rng(22), { probes: 10 });
  assert.equal(r.trace, sum(d));
  assert.equal(r.traceStdErr, 0);
  assert.equal(r.frobeniusSq, sum(d.map((v) => v * v)));
  await assert.rejects(hutchinson(denseOperator(M, 5), new Rng(22), { probes: 1 }), RangeError);
});

test('Hutch++: within 3 standard errors on a flat spectrum; exact when the sketch spans the space', async () => {
  const rng = new Rng(23);
  const lambdas = flatSpectrum(rng.derive('spectrum'), 200);
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 200);
  const r = await hutchPlusPlus(op, rng.derive('probes'), { products: 301 });
  assert.deepEqual([r.sketchSize, r.residualProbes, r.products], [100, 101, 301]);
  assert.ok(Math.abs(r.trace - (r.lowRankTrace + r.residualTrace)) < 1e-9);
  within3Se(r.trace, r.stdErr, sum(lambdas), 'Hutch++ trace');

  const small = [4, -2, 1, 0.5, 3];
  const exact = await hutchPlusPlus(denseOperator(matrixWithSpectrum(small, rng.derive('Q5')), 5), rng.derive('p5'), { products: 30 });
  assert.deepEqual([exact.sketchSize, exact.residualProbes, exact.products], [5, 20, 30]);
  assert.ok(Math.abs(exact.trace - sum(small)) < 1e-12);
  assert.ok(exact.stdErr < 1e-12);
  await assert.rejects(hutchPlusPlus(op, rng, { products: 3 }), RangeError);
});

test('Hutch++: far lower error than Hutchinson at equal products on a low-rank-plus-small matrix', async (t) => {
  const rng = new Rng(24);
  const lambdas = lowRankPlusSmall(rng.derive('spectrum'), 300);
  const exact = sum(lambdas);
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 300);
  let sqHutchinson = 0;
  let sqHutchPP = 0;
  const seeds = 5;
  for (let k = 0; k < seeds; k++) {
    const h = await hutchinson(op, rng.derive(`hutchinson-${k}`), { probes: 60 });
    const p = await hutchPlusPlus(op, rng.derive(`hutch++-${k}`), { products: 60 });
    assert.equal(p.products, 60);
    within3Se(p.trace, p.stdErr, exact, `Hutch++ run ${k}`);
    assert.ok(p.stdErr < 0.01 * h.traceStdErr, `SE ${p.stdErr} vs Hutchinson ${h.traceStdErr}`);
    sqHutchinson += (h.trace - exact) ** 2;
    sqHutchPP += (p.trace - exact) ** 2;
  }
  const rmsH = Math.sqrt(sqHutchinson / seeds);
  const rmsP = Math.sqrt(sqHutchPP / seeds);
  t.diagnostic(`trace ${exact.toFixed(2)}: RMS error Hutchinson ${rmsH.toExponential(2)}, Hutch++ ${rmsP.toExponential(2)}`);
  assert.ok(rmsP < 0.01 * rmsH);
});

test('Hutchinson: the reported standard error matches the exact Rademacher variance 2 sum_{i != j} H_ij^2 / n', async () => {
  const rng = new Rng(25);
  const n = 50;
  const M = matrixWithSpectrum(flatSpectrum(rng.derive('spectrum'), n), rng.derive('Q'));
  let offDiagonal = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) offDiagonal += (M[i * n + j] as number) ** 2;
  const probes = 20;
  const exactVariance = (2 * offDiagonal) / probes;
  let reported = 0;
  const repeats = 40;
  for (let k = 0; k < repeats; k++) {
    const r = await hutchinson(denseOperator(M, n), rng.derive(`run-${k}`), { probes });
    reported += r.traceStdErr ** 2 / repeats;
  }
  assert.ok(Math.abs(reported / exactVariance - 1) < 0.2, `mean SE^2 ${reported} vs exact variance of the mean ${exactVariance}`);
});
