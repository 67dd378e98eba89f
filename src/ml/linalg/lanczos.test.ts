import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { lanczos, lanczosProcess, tridiagonalEigen } from './lanczos.js';
import { denseOperator } from './operator.js';
import { matrixWithSpectrum, relErr } from './testing.js';
import { axpy, norm } from './vec.js';

/**
 * Lanczos against matrices with known spectra (Q diag(lambda) Q^T, float64), and the tridiagonal
 * helper against the closed-form eigenpairs of the 1D Laplacian.
 */

/** n values uniform in [lo, hi), seeded. */
function uniform(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

/** Distance from x to the nearest entry of a sorted-or-not list. */
function nearest(x: number, values: readonly number[]): number {
  return Math.min(...values.map((v) => Math.abs(v - x)));
}

/** ||H y - theta y||, the true residual of a Ritz pair. */
async function trueResidual(op: ReturnType<typeof denseOperator>, y: Float64Array, theta: number): Promise<number> {
  const r = await op.apply(y);
  axpy(-theta, y, r);
  return norm(r);
}

test('tridiagonalEigen: the 1D Laplacian tridiag(-1, 2, -1) has eigenvalues 2 - 2cos(k pi/(m+1)) and sine eigenvectors', () => {
  const m = 12;
  const { values, first, last } = tridiagonalEigen(new Float64Array(m).fill(2), new Float64Array(m - 1).fill(-1));
  const c = Math.sqrt(2 / (m + 1));
  for (let k = 1; k <= m; k++) {
    const i = k - 1; // ascending order: k = 1 is the smallest
    assert.ok(Math.abs((values[i] as number) - (2 - 2 * Math.cos((k * Math.PI) / (m + 1)))) < 1e-13);
    assert.ok(Math.abs(Math.abs(first[i] as number) - c * Math.sin((k * Math.PI) / (m + 1))) < 1e-13);
    assert.ok(Math.abs(Math.abs(last[i] as number) - c * Math.abs(Math.sin((m * k * Math.PI) / (m + 1)))) < 1e-13);
  }
  const one = tridiagonalEigen([3.5], []);
  assert.deepEqual([...one.values, ...one.first, ...one.last], [3.5, 1, 1]);
  assert.throws(() => tridiagonalEigen([1, 2], [1, 2]), RangeError);
  assert.throws(() => tridiagonalEigen([], []), RangeError);
});

test('Lanczos: top-5 and bottom-3 of a well-separated spectrum to 1e-8, residuals bound the true errors', async (t) => {
  const rng = new Rng(11);
  const top = [100, 80, 64, 51, 41];
  const low = [-60, -45, -35];
  const lambdas = [...top, ...low, ...uniform(rng.derive('bulk'), 192, -10, 10)];
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), lambdas.length);
  const r = await lanczos(op, rng.derive('start'), { k: 5, bottom: 3, tol: 1e-10, ritzVectors: true });

  t.diagnostic(`${r.steps} steps, top residuals ${[...r.residuals].map((v) => v.toExponential(1)).join(' ')}`);
  assert.equal(r.stopReason, 'converged');
  assert.ok(r.converged);
  assert.ok(r.steps < 100, `${r.steps} steps`);
  assert.equal(r.products, r.steps);
  assert.equal(r.alphas.length, r.steps);
  assert.equal(r.betas.length, r.steps - 1);
  top.forEach((lambda, i) => assert.ok(relErr(r.eigenvalues[i] as number, lambda) <= 1e-8, `top ${i}: ${r.eigenvalues[i]} vs ${lambda}`));
  low.forEach((lambda, i) => {
    assert.ok(relErr(r.bottomEigenvalues[i] as number, lambda) <= 1e-8, `bottom ${i}: ${r.bottomEigenvalues[i]} vs ${lambda}`);
  });
  // Residuals: each bounds the distance to the nearest eigenvalue, and equals the true residual of
  // its Ritz vector (full reorthogonalisation keeps the Lanczos relation exact to rounding).
  const scale = 100;
  for (let i = 0; i < 5; i++) {
    const theta = r.eigenvalues[i] as number;
    const res = r.residuals[i] as number;
    assert.ok(res > 0 && res <= 1e-10 * Math.abs(theta));
    assert.ok(nearest(theta, lambdas) <= res + 1e-12 * scale);
    const y = (r.ritzVectors as readonly Float64Array[])[i] as Float64Array;
    assert.ok(Math.abs(norm(y) - 1) < 1e-12);
    assert.ok(Math.abs((await trueResidual(op, y, theta)) - res) <= 1e-11 * scale);
  }
  r.bottomEigenvalues.forEach((theta, i) => assert.ok(nearest(theta, lambdas) <= (r.bottomResiduals[i] as number) + 1e-12 * scale));
});

test('Lanczos: a Hessian-like spectrum (outliers, bulk near zero, some negative) to 1e-3 in under 40 steps', async (t) => {
  const rng = new Rng(12);
  const outliers = [48, 23, 11, 6.5, 4];
  const bulkRng = rng.derive('bulk');
  const bulk = Array.from({ length: 370 }, () => 0.05 * Math.abs(bulkRng.normal()) ** 2);
  const negative = uniform(rng.derive('negative'), 25, -0.4, 0);
  const lambdas = [...outliers, ...bulk, ...negative, 1.2, 0.9, 0.7];
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), lambdas.length);
  const r = await lanczos(op, rng.derive('start'), { k: 5, bottom: 1, tol: 1e-4, maxSteps: 40 });

  t.diagnostic(`${r.steps} steps, max rel error ${Math.max(...outliers.map((l, i) => relErr(r.eigenvalues[i] as number, l))).toExponential(1)}`);
  assert.ok(r.converged, `stopped by ${r.stopReason} after ${r.steps} steps`);
  assert.ok(r.steps < 40);
  outliers.forEach((lambda, i) => {
    const e = relErr(r.eigenvalues[i] as number, lambda);
    assert.ok(e <= 1e-3, `top ${i}: ${r.eigenvalues[i]} vs ${lambda}`);
    // The residual rule guarantees |theta - lambda| <= residual <= tol |theta|.
    assert.ok(Math.abs((r.eigenvalues[i] as number) - lambda) <= (r.residuals[i] as number) + 1e-12);
  });
  const minimum = Math.min(...lambdas);
  assert.ok(Math.abs((r.bottomEigenvalues[0] as number) - minimum) <= (r.bottomResiduals[0] as number) + 1e-12);
  assert.ok((r.bottomResiduals[0] as number) <= 1e-4 * 48 * 1.01);

  // The same problem with a cap too small for the tolerance reports it instead of pretending.
  const capped = await lanczos(op, rng.derive('start'), { k: 5, tol: 1e-12, maxSteps: 6 });
  assert.equal(capped.stopReason, 'max-steps');
  assert.equal(capped.converged, false);
  assert.equal(capped.steps, 6);
});

test('Lanczos: m = dim reproduces every eigenvalue; a 3-eigenvalue matrix exhausts its Krylov space after 3 steps', async () => {
  const rng = new Rng(13);
  const lambdas = uniform(rng.derive('spectrum'), 40, -3, 5);
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 40);
  const r = await lanczos(op, rng.derive('start'), { k: 40, maxSteps: 500 });
  assert.equal(r.steps, 40);
  assert.ok(r.converged);
  const sorted = [...lambdas].sort((a, b) => b - a);
  sorted.forEach((lambda, i) => assert.ok(Math.abs((r.eigenvalues[i] as number) - lambda) <= 1e-11 * 5, `${i}`));

  // Eigenvalues 5, 1, -2 with multiplicity 20 each: the Krylov space of any start vector has
  // dimension 3, so the fourth beta is rounding noise and the process stops there.
  const triple = [...Array<number>(20).fill(5), ...Array<number>(20).fill(1), ...Array<number>(20).fill(-2)];
  const op3 = denseOperator(matrixWithSpectrum(triple, rng.derive('Q3')), 60);
  const r3 = await lanczos(op3, rng.derive('start3'), { k: 2, bottom: 1, tol: 1e-14 });
  assert.equal(r3.steps, 3);
  assert.ok(r3.converged);
  assert.ok(r3.lastBeta < 1e-12 * 5);
  assert.deepEqual([...r3.eigenvalues, ...r3.bottomEigenvalues].map((v) => Math.round(v * 1e9) / 1e9), [5, 1, -2]);
});

test('Lanczos: progress per step (awaited), abort, reproducibility, argument errors', async () => {
  const rng = new Rng(14);
  const lambdas = [10, ...uniform(rng.derive('bulk'), 59, -1, 1)];
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 60);
  const seen: number[] = [];
  const r = await lanczos(op, rng.derive('start'), {
    onStep: async (step, info) => {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(step);
      assert.equal(info.top.length, 1);
    },
  });
  assert.deepEqual(seen, Array.from({ length: r.steps }, (_, i) => i + 1));
  const again = await lanczos(op, rng.derive('start'));
  assert.deepEqual([...again.alphas], [...r.alphas]);

  let products = 0;
  const counting = { dim: 60, apply: (v: Float64Array) => ((products += 1), op.apply(v)) };
  const controller = new AbortController();
  await assert.rejects(
    lanczos(counting, rng.derive('start'), { tol: 1e-15, signal: controller.signal, onStep: (step) => (step === 3 ? controller.abort() : undefined) }),
    { name: 'AbortError' },
  );
  assert.equal(products, 3);

  await assert.rejects(lanczos(op, rng, { k: 0 }), RangeError);
  await assert.rejects(lanczos(op, rng, { k: 61 }), RangeError);
  await assert.rejects(lanczos(op, rng, { tol: 0 }), RangeError);
  await assert.rejects(lanczos(op, rng, { k: 5, maxSteps: 4 }), RangeError);
  await assert.rejects(lanczosProcess(op, new Float64Array(60), 5), RangeError);
  const broken = { dim: 60, apply: () => Promise.resolve(new Float64Array(60).fill(Number.NaN)) };
  await assert.rejects(lanczos(broken, rng), /returned NaN/);
});
