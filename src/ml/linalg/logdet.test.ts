import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { Rng } from '../rng.js';
import { lanczos } from './lanczos.js';
import { logDetProxySlq, logDetProxyTopK } from './logdet.js';
import { denseOperator } from './operator.js';
import { slq } from './slq.js';
import { matrixWithSpectrum, relErr } from './testing.js';

/**
 * Log-det proxies on a positive-definite quadratic L(theta) = 1/2 theta^T A theta, whose Hessian is A:
 * the reference -1/2 log det(A + delta I) comes from a Cholesky factorisation of the dense matrix
 * (2 sum log L_ii), independent of any eigenvalue.
 */

const DELTAS = [1e-3, 0.1, 1];

/** -1/2 log det(A + delta I) by Cholesky. */
function choleskyProxy(A: Float64Array, dim: number, delta: number): number {
  const M = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) M.set(i, j, (A[i * dim + j] as number) + (i === j ? delta : 0));
  const chol = new CholeskyDecomposition(M);
  assert.ok(chol.isPositiveDefinite());
  const L = chol.lowerTriangularMatrix;
  let s = 0;
  for (let i = 0; i < dim; i++) s += Math.log(L.get(i, i));
  return -s; // -1/2 * 2 sum log L_ii
}

/** n eigenvalues log-uniform in [lo, hi]. */
function logUniform(rng: Rng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo * (hi / lo) ** rng.uniform());
}

test('log-det proxy of a quadratic: all eigenvalues match Cholesky; Lanczos top-k matches the exact top-k sum', async () => {
  const rng = new Rng(41);
  const lambdas = logUniform(rng.derive('spectrum'), 120, 0.5, 20);
  const A = matrixWithSpectrum(lambdas, rng.derive('Q'));
  logDetProxyTopK(lambdas, DELTAS).forEach((p, i) => {
    assert.equal(p.delta, DELTAS[i]);
    assert.equal(p.clipped, 0);
    assert.ok(relErr(p.value, choleskyProxy(A, 120, p.delta)) < 1e-12);
  });

  const top = await lanczos(denseOperator(A, 120), rng.derive('start'), { k: 8, tol: 1e-10 });
  const exactTop = [...lambdas].sort((a, b) => b - a).slice(0, 8);
  logDetProxyTopK(top.eigenvalues, DELTAS).forEach((p) => {
    const exact = -0.5 * exactTop.reduce((s, l) => s + Math.log(l + p.delta), 0);
    assert.ok(relErr(p.value, exact) < 1e-10, `${p.value} vs ${exact}`);
  });
});

test('log-det proxy of a quadratic by SLQ: within 3 standard errors of Cholesky for every delta', async (t) => {
  const rng = new Rng(42);
  const lambdas = logUniform(rng.derive('spectrum'), 200, 0.5, 20);
  const A = matrixWithSpectrum(lambdas, rng.derive('Q'));
  const r = await slq(denseOperator(A, 200), rng.derive('probes'), { runs: 20, steps: 25 });
  for (const p of logDetProxySlq(r, 200, DELTAS)) {
    const exact = choleskyProxy(A, 200, p.delta);
    t.diagnostic(`delta ${p.delta}: ${p.value.toFixed(3)} +- ${p.stdErr.toFixed(3)} (exact ${exact.toFixed(3)})`);
    assert.equal(p.clippedNodes, 0);
    assert.ok(p.stdErr > 0 && Math.abs(p.value - exact) <= 3 * p.stdErr);
    assert.ok(Math.abs(p.value - 0.9 * exact) > 3 * p.stdErr, 'SE too large to be a test');
  }
});

test('log-det proxy: negative eigenvalues are clipped to 0 and counted, for top-k and SLQ', async (t) => {
  const clippedTop = logDetProxyTopK([3, 1, -0.5, -2], [0.01]);
  assert.equal(clippedTop[0]?.clipped, 2);
  assert.ok(Math.abs((clippedTop[0]?.value as number) - -0.5 * (Math.log(3.01) + Math.log(1.01) + 2 * Math.log(0.01))) < 1e-14);

  const rng = new Rng(43);
  const negativeRng = rng.derive('negative');
  const lambdas = [...logUniform(rng.derive('spectrum'), 160, 0.5, 20), ...Array.from({ length: 40 }, () => -1 - 0.1 * negativeRng.uniform())];
  const r = await slq(denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 200), rng.derive('probes'), { runs: 20, steps: 25 });
  const [p] = logDetProxySlq(r, 200, [0.1]);
  const exact = -0.5 * lambdas.reduce((s, l) => s + Math.log(Math.max(l, 0) + 0.1), 0);
  assert.ok(p !== undefined);
  t.diagnostic(`${p.value.toFixed(3)} +- ${p.stdErr.toFixed(3)} (exact ${exact.toFixed(3)}), clipped fraction ${p.clippedFraction.toFixed(3)} (exact 0.2)`);
  assert.ok(p.clippedNodes > 0);
  assert.ok(Math.abs(p.clippedFraction - 0.2) < 0.05);
  assert.ok(Math.abs(p.value - exact) <= 3 * p.stdErr);
});

test('log-det proxy: deltas must be positive, eigenvalues finite', () => {
  assert.throws(() => logDetProxyTopK([1, 2], []), RangeError);
  assert.throws(() => logDetProxyTopK([1, 2], [0]), RangeError);
  assert.throws(() => logDetProxyTopK([1, 2], [-1e-3]), RangeError);
  assert.throws(() => logDetProxyTopK([1, Number.NaN], [1]), RangeError);
  assert.throws(() => logDetProxyTopK([], [1]), RangeError);
});
