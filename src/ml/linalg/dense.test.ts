import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { denseFromOperator, symmetricEigen } from './dense.js';
import { denseOperator, type SymOperator } from './operator.js';
import { matrixWithSpectrum } from './testing.js';
import { dot } from './vec.js';

/** The dense ground truth: columns from products, symmetrisation, and the full float64 eigendecomposition. */

test('denseFromOperator + symmetricEigen recover a known spectrum and orthonormal eigenvectors', async () => {
  const rng = new Rng(51);
  const lambdas = Array.from({ length: 80 }, () => -5 + 15 * rng.uniform());
  const M = matrixWithSpectrum(lambdas, rng.derive('Q'));
  let calls = 0;
  const d = await denseFromOperator(denseOperator(M, 80), (done, total) => {
    calls += 1;
    assert.equal(total, 80);
    assert.equal(done, calls);
  });
  assert.equal(d.products, 80);
  assert.equal(calls, 80);
  assert.equal(d.asymmetry, 0);
  assert.deepEqual(d.matrix, M);

  const { values, vectors } = symmetricEigen(d.matrix, 80, { vectors: true });
  const sorted = [...lambdas].sort((a, b) => a - b);
  sorted.forEach((l, i) => assert.ok(Math.abs((values[i] as number) - l) < 1e-12 * 10, `${i}: ${values[i]} vs ${l}`));
  const op = denseOperator(d.matrix, 80);
  const vs = vectors as readonly Float64Array[];
  for (let i = 0; i < 80; i += 7) {
    const v = vs[i] as Float64Array;
    const Hv = await op.apply(v);
    let r = 0;
    for (let k = 0; k < 80; k++) r = Math.max(r, Math.abs((Hv[k] as number) - (values[i] as number) * (v[k] as number)));
    assert.ok(r < 1e-12 * 10);
    for (let j = 0; j < 80; j += 11) assert.ok(Math.abs(dot(v, vs[j] as Float64Array) - (i === j ? 1 : 0)) < 1e-12);
  }
  assert.equal(symmetricEigen(d.matrix, 80).vectors, undefined);
});

test('denseFromOperator measures the asymmetry of float32 products and symmetrises it away', async () => {
  const rng = new Rng(52);
  const lambdas = Array.from({ length: 60 }, () => 0.1 + rng.uniform());
  const exact = denseOperator(matrixWithSpectrum(lambdas, rng.derive('Q')), 60);
  // A float32 HVP's error depends on its computation path, so H e_j and H e_i disagree at H_ij
  // and H_ji: modelled as a relative error of 1e-7 per entry, drawn independently for each product.
  const noise = rng.derive('noise');
  const float32: SymOperator = { dim: 60, apply: async (v) => (await exact.apply(v)).map((y) => y * (1 + 1e-7 * noise.normal())) };
  const d = await denseFromOperator(float32);
  assert.ok(d.asymmetry > 1e-9 && d.asymmetry < 1e-6, `asymmetry ${d.asymmetry}`);
  for (let i = 0; i < 60; i++) for (let j = 0; j < i; j++) assert.equal(d.matrix[i * 60 + j], d.matrix[j * 60 + i]);
  const { values } = symmetricEigen(d.matrix, 60);
  [...lambdas].sort((a, b) => a - b).forEach((l, i) => assert.ok(Math.abs((values[i] as number) - l) < 1e-6));
});

test('dense: argument checks', async () => {
  assert.throws(() => symmetricEigen([1, 2, 3], 2), RangeError);
  assert.throws(() => symmetricEigen([], 0), RangeError);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(denseFromOperator(denseOperator([1], 1), undefined, controller.signal), { name: 'AbortError' });
});
