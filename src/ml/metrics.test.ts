import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendName } from './backend.js';
import { disposeEvalSet, evaluateSet, inputGradEnergy, lossGradNorm, uploadEvalSet, vectorNorm } from './metrics.js';
import { initParams, mlpLayout, type MlpLayout } from './mlp.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';
import { oneHot } from './train-loop.js';

/**
 * Fit metrics against an independent float64 reference: the MLP written out in plain JS (tanh, a
 * smooth net, so central differences are accurate), its loss, and derivatives by central
 * differences in float64.
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const N = 23;
const D = 3;
const K = 4;

function reference(layout: MlpLayout, theta: ArrayLike<number>, x: ArrayLike<number>): number[] {
  let h = Array.from(x);
  layout.layers.forEach(({ weight, bias }, l) => {
    const [fanIn, fanOut] = weight.shape as [number, number];
    const z = Array.from({ length: fanOut }, (_, j) => {
      let s = theta[bias.offset + j] as number;
      for (let i = 0; i < fanIn; i++) s += (h[i] as number) * (theta[weight.offset + i * fanOut + j] as number);
      return s;
    });
    h = l === layout.layers.length - 1 ? z : z.map(Math.tanh);
  });
  return h;
}

/** Mean softmax cross-entropy over the set, float64. */
function referenceLoss(layout: MlpLayout, theta: ArrayLike<number>, xs: Float32Array, labels: Int32Array): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const o = reference(layout, theta, xs.subarray(i * D, (i + 1) * D));
    const m = Math.max(...o);
    const lse = m + Math.log(o.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - (o[labels[i] as number] as number);
  }
  return total / labels.length;
}

function fixture() {
  const rng = new Rng('metrics');
  const layout = mlpLayout({ inputs: D, hidden: [5], outputs: K, activation: 'tanh', init: 'glorot' });
  const theta = initParams(layout, rng.derive('init'));
  for (const { bias } of layout.layers) for (let j = 0; j < bias.shape[0]!; j++) theta[bias.offset + j] = 0.3 * rng.normal();
  const x = Float32Array.from({ length: N * D }, () => rng.normal());
  const labels = Int32Array.from({ length: N }, () => rng.int(K));
  return { layout, theta, x, labels };
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

test(`fit metrics against a float64 reference (${backend})`, async (t) => {
  const tf = await loadTf(backend);
  const before = tf.memory().numTensors;
  const { layout, theta, x, labels } = fixture();
  const params = tf.tensor1d(theta);
  const targets = oneHot(labels, K);
  const whole = uploadEvalSet(tf, x, targets, labels, D, K);
  const chunked = uploadEvalSet(tf, x, targets, labels, D, K, 7);
  assert.equal(chunked.chunks.length, 4);

  await t.test('loss and accuracy match the reference, whatever the chunking', () => {
    const expectedLoss = referenceLoss(layout, theta, x, labels);
    let correct = 0;
    for (let i = 0; i < N; i++) {
      const o = reference(layout, theta, x.subarray(i * D, (i + 1) * D));
      if (o.indexOf(Math.max(...o)) === labels[i]) correct++;
    }
    for (const set of [whole, chunked]) {
      const fit = evaluateSet(tf, layout, params, 'cross-entropy', set);
      assert.equal(fit.n, N);
      assert.ok(rel(fit.loss, expectedLoss) < 1e-5, `${fit.loss} vs ${expectedLoss}`);
      assert.equal(fit.correct, correct);
      assert.equal(fit.acc, correct / N);
    }
  });

  await t.test('gradient norm of the mean loss matches central differences', () => {
    const h = 1e-5;
    const probe = Float64Array.from(theta);
    let sq = 0;
    for (let i = 0; i < probe.length; i++) {
      const v = probe[i] as number;
      probe[i] = v + h;
      const up = referenceLoss(layout, probe, x, labels);
      probe[i] = v - h;
      const down = referenceLoss(layout, probe, x, labels);
      probe[i] = v;
      sq += ((up - down) / (2 * h)) ** 2;
    }
    const expected = Math.sqrt(sq);
    for (const set of [whole, chunked]) {
      const got = lossGradNorm(tf, layout, params, 'cross-entropy', set);
      assert.ok(rel(got, expected) < 1e-4, `${got} vs ${expected}`);
    }
  });

  await t.test('input-gradient energy is (1/n) sum_i ||J_f(x_i)||_F^2 (central differences)', () => {
    const h = 1e-5;
    let total = 0;
    for (let i = 0; i < N; i++) {
      const xi = Array.from(x.subarray(i * D, (i + 1) * D));
      for (let j = 0; j < D; j++) {
        const v = xi[j] as number;
        xi[j] = v + h;
        const up = reference(layout, theta, xi);
        xi[j] = v - h;
        const down = reference(layout, theta, xi);
        xi[j] = v;
        for (let c = 0; c < K; c++) total += (((up[c] as number) - (down[c] as number)) / (2 * h)) ** 2;
      }
    }
    const expected = total / N;
    for (const set of [whole, chunked]) {
      const got = inputGradEnergy(tf, layout, params, set);
      assert.ok(rel(got, expected) < 1e-4, `${got} vs ${expected}`);
    }
  });

  await t.test('input-gradient energy of a linear model is ||W||_F^2', () => {
    const linear = mlpLayout({ inputs: D, hidden: [], outputs: K, activation: 'relu', init: 'he' });
    const w = initParams(linear, new Rng('linear'));
    const p = tf.tensor1d(w);
    const expected = vectorNorm(w.subarray(0, D * K)) ** 2;
    assert.ok(rel(inputGradEnergy(tf, linear, p, chunked), expected) < 1e-5);
    p.dispose();
  });

  await t.test('mse on real targets: no accuracy', () => {
    const real = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i));
    const set = uploadEvalSet(tf, x, real, undefined, D, K, 10);
    const fit = evaluateSet(tf, layout, params, 'mse', set);
    let expected = 0;
    for (let i = 0; i < N; i++) {
      const o = reference(layout, theta, x.subarray(i * D, (i + 1) * D));
      o.forEach((v, c) => (expected += 0.5 * (v - (real[i * K + c] as number)) ** 2));
    }
    expected /= N;
    assert.ok(rel(fit.loss, expected) < 1e-5, `${fit.loss} vs ${expected}`);
    assert.equal(fit.acc, null);
    assert.equal(fit.correct, null);
    disposeEvalSet(set);
  });

  params.dispose();
  disposeEvalSet(whole);
  disposeEvalSet(chunked);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
