import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { lanczos } from './lanczos.js';
import { denseOperator } from './operator.js';
import { powerIteration } from './power.js';
import { matrixWithSpectrum, relErr } from './testing.js';

/**
 * Power iteration on a spectrum with eigenvalues crowding below lambda_1 (lambda_2 / lambda_1 = 0.99),
 * where the "relative change < 1e-3" rule stops percents short and the residual rule does not.
 */

test('power iteration: converges on the residual rule; the relative-change rule would stop percents off', async (t) => {
  const rng = new Rng(61);
  const bulk = rng.derive('bulk');
  // A continuum of eigenvalues just below the top one, as in trained networks' Hessians.
  const lambdas = [10, 9.9, ...Array.from({ length: 30 }, () => 7 + 2.9 * bulk.uniform()), ...Array.from({ length: 68 }, () => -4 + 8 * bulk.uniform())];
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 100);
  const trail: number[] = [];
  const r = await powerIteration(op, rng.derive('start'), { tol: 1e-6, maxSteps: 5000, onStep: (_, s) => void trail.push(s.eigenvalue) });

  assert.ok(r.converged);
  assert.equal(r.products, r.steps);
  assert.equal(trail.length, r.steps);
  assert.ok(r.residual <= 1e-6 * Math.abs(r.eigenvalue));
  // The residual bounds the error (Rayleigh quotient of a symmetric matrix).
  assert.ok(Math.abs(r.eigenvalue - 10) <= r.residual);
  assert.ok(relErr(r.eigenvalue, 10) < 1e-6);

  const stopAt = trail.findIndex((l, i) => i > 0 && Math.abs(l - (trail[i - 1] as number)) < 1e-3 * Math.abs(l));
  const early = trail[stopAt] as number;
  t.diagnostic(`residual rule: ${r.steps} steps, error ${Math.abs(r.eigenvalue - 10).toExponential(1)}; relative-change rule: step ${stopAt + 1}, error ${relErr(early, 10).toExponential(1)}`);
  assert.ok(stopAt >= 0 && relErr(early, 10) > 5e-3, 'the relative-change rule stops well short');

  // Lanczos reaches the same accuracy in far fewer products.
  const l = await lanczos(op, rng.derive('start'), { tol: 1e-6 });
  assert.ok(l.converged && relErr(l.eigenvalues[0] as number, 10) < 1e-6);
  assert.ok(l.products * 5 < r.products, `Lanczos ${l.products} vs power ${r.products} products`);
});

test('power iteration: finds the largest magnitude (a negative one), respects the cap, checks arguments', async () => {
  const rng = new Rng(62);
  const lambdas = [-6, 3, 2, ...Array.from({ length: 37 }, () => rng.uniform())];
  const op = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 40);
  const r = await powerIteration(op, rng.derive('start'), { tol: 1e-8 });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.eigenvalue + 6) <= r.residual);

  const capped = await powerIteration(op, rng.derive('start'), { tol: 1e-12, maxSteps: 3 });
  assert.deepEqual([capped.converged, capped.steps], [false, 3]);

  const zero = await powerIteration(denseOperator(new Float64Array(9), 3), rng);
  assert.deepEqual([zero.eigenvalue, zero.residual, zero.converged, zero.steps], [0, 0, true, 1]);

  await assert.rejects(powerIteration(op, rng, { tol: -1 }), RangeError);
  await assert.rejects(powerIteration(op, rng, { maxSteps: 0 }), RangeError);
});
