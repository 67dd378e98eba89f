import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { lossFn, LOSS_NAMES } from './loss.js';
import { ACTIVATIONS, initParams, mlpForward, mlpLayout, type InitScheme, type MlpSpec } from './mlp.js';
import { referenceForward, referenceGradient, relativeError, tinyProblem } from './reference.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';

// One backend per process (TF.js has one engine per thread): backends.test.ts reruns this file on wasm.
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

const spec = (hidden: number[], activation: MlpSpec['activation'] = 'relu', init: InitScheme = 'he', initScale?: number): MlpSpec => ({
  inputs: 5,
  hidden,
  outputs: 3,
  activation,
  init,
  ...(initScale === undefined ? {} : { initScale }),
});

test('layout of 784-100-10: W0, b0, W1, b1 back to back', () => {
  const layout = mlpLayout({ inputs: 784, hidden: [100], outputs: 10, activation: 'relu', init: 'he' });
  assert.equal(layout.size, 784 * 100 + 100 + 100 * 10 + 10);
  assert.equal(layout.size, 79510);
  assert.deepEqual(
    layout.layers.map((l) => [l.weight.offset, l.weight.shape, l.bias.offset, l.bias.shape]),
    [
      [0, [784, 100], 78400, [100]],
      [78500, [100, 10], 79500, [10]],
    ],
  );
});

test('layout of deeper and of linear models', () => {
  const deep = mlpLayout({ inputs: 784, hidden: [512, 512], outputs: 10, activation: 'tanh', init: 'glorot' });
  assert.equal(deep.size, 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);
  assert.deepEqual(deep.layers.map((l) => l.weight.offset), [0, 784 * 512 + 512, 784 * 512 + 512 + 512 * 512 + 512]);
  const linear = mlpLayout(spec([]));
  assert.equal(linear.size, 5 * 3 + 3);
  assert.deepEqual(linear.layers, [{ weight: { offset: 0, shape: [5, 3] }, bias: { offset: 15, shape: [3] } }]);
  assert.throws(() => mlpLayout(spec([0])), RangeError);
  assert.throws(() => mlpLayout({ ...spec([4]), inputs: 2.5 }), RangeError);
});

test('init statistics match each scheme on a 784x100 layer; biases are zero', () => {
  const cases: [InitScheme, number | undefined, number][] = [
    ['he', undefined, 2 / 784],
    ['glorot', undefined, 2 / (784 + 100)],
    ['scaled', undefined, 1 / 784],
    ['scaled', 0.5, 0.25 / 784],
  ];
  for (const [init, initScale, variance] of cases) {
    const layout = mlpLayout({ inputs: 784, hidden: [100], outputs: 10, activation: 'relu', init, ...(initScale === undefined ? {} : { initScale }) });
    const p = initParams(layout, new Rng(7));
    const w = p.subarray(0, 78400);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const varianceHat = w.reduce((s, v) => s + (v - mean) ** 2, 0) / (w.length - 1);
    // Standard errors: mean sqrt(var/N), variance ratio sqrt(2/N) = 0.5%; allow ~5 of them.
    assert.ok(Math.abs(mean) < 5 * Math.sqrt(variance / w.length), `${init}: mean ${mean}`);
    assert.ok(Math.abs(varianceHat / variance - 1) < 0.03, `${init}: variance ${varianceHat} vs ${variance}`);
    assert.ok(p.subarray(78400, 78500).every((v) => v === 0), 'first bias is zero');
    assert.ok(p.subarray(79500).every((v) => v === 0), 'last bias is zero');
  }
});

test('init is a deterministic function of the seed', () => {
  const layout = mlpLayout({ inputs: 20, hidden: [10], outputs: 4, activation: 'tanh', init: 'glorot' });
  assert.deepEqual(initParams(layout, new Rng(3)), initParams(layout, new Rng(3)));
  assert.deepEqual(initParams(layout, new Rng('model').derive('init')), initParams(layout, new Rng('model').derive('init')));
  assert.notDeepEqual(initParams(layout, new Rng(3)), initParams(layout, new Rng(4)));
});

test('forward pass matches the float64 reference for every activation', () => {
  for (const activation of ACTIVATIONS) {
    for (const hidden of [[4], [4, 4]]) {
      const p = tinyProblem(spec(hidden, activation), 'mse', 7, `forward-${activation}`);
      const out = tf.tidy(() => mlpForward(tf, p.layout, tf.tensor1d(p.params), tf.tensor2d(p.x, [p.n, 5])).dataSync());
      const expected = referenceForward(p.layout, p.params, p.x, p.n);
      const err = relativeError(out, expected);
      assert.ok(err <= 1e-5, `${activation} [${hidden}]: relative error ${err}`);
    }
  }
});

test('first-order gradient w.r.t. the flat vector matches the reference (all activations, both losses)', (t) => {
  for (const activation of ACTIVATIONS) {
    for (const loss of LOSS_NAMES) {
      const p = tinyProblem(spec([4], activation), loss, 8, `grad-${activation}-${loss}`);
      const [value, grad] = tf.tidy(() => {
        const x = tf.tensor2d(p.x, [p.n, 5]);
        const y = tf.tensor2d(p.targets, [p.n, 3]);
        const { value, grad } = tf.valueAndGrad((q: Tensor1D) => lossFn(tf, loss, mlpForward(tf, p.layout, q, x), y))(tf.tensor1d(p.params));
        return [value.dataSync()[0] as number, grad.dataSync()];
      });
      const expected = referenceGradient(p.layout, loss, p.params, p);
      const err = relativeError(grad, expected);
      t.diagnostic(`${backend} ${activation} ${loss}: gradient relative error ${err.toExponential(2)}, loss ${value}`);
      assert.ok(err <= 1e-5, `${activation} ${loss}: gradient relative error ${err}`);
    }
  }
});

test('forward and gradient leak no tensors', () => {
  const p = tinyProblem(spec([4], 'tanh'), 'cross-entropy', 8, 'leak');
  const params = tf.tensor1d(p.params);
  const x = tf.tensor2d(p.x, [p.n, 5]);
  const y = tf.tensor2d(p.targets, [p.n, 3]);
  const f = (q: Tensor) => lossFn(tf, 'cross-entropy', mlpForward(tf, p.layout, q as Tensor1D, x), y);
  const step = () => {
    mlpForward(tf, p.layout, params, x).dispose();
    tf.tidy(() => tf.grad(f)(params)).dispose();
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([params, x, y]);
});

test('mlpForward rejects a parameter vector of the wrong length', () => {
  const layout = mlpLayout(spec([4]));
  tf.tidy(() => assert.throws(() => mlpForward(tf, layout, tf.zeros([layout.size + 1]) as Tensor1D, tf.zeros([2, 5])), /expects 39 parameters/));
});

test('biasScale: biases uniform in [-s, s] drawn after the weights, which stay as they were', () => {
  const spec: MlpSpec = { inputs: 2, hidden: [64, 64], outputs: 2, activation: 'relu', init: 'he' };
  const plain = initParams(mlpLayout(spec), new Rng(5));
  const layout = mlpLayout({ ...spec, biasScale: 0.5 });
  const biased = initParams(layout, new Rng(5));
  for (const { weight, bias } of layout.layers) {
    const [fanIn, fanOut] = weight.shape as [number, number];
    assert.deepEqual(biased.subarray(weight.offset, weight.offset + fanIn * fanOut), plain.subarray(weight.offset, weight.offset + fanIn * fanOut));
    const b = biased.subarray(bias.offset, bias.offset + fanOut);
    assert.ok(b.every((v) => Math.abs(v) <= 0.5));
    // 64 draws: the range is nearly covered and the mean is near 0 (sd of the mean 0.036).
    if (fanOut === 64) assert.ok(Math.max(...b) > 0.4 && Math.min(...b) < -0.4 && Math.abs(b.reduce((s, v) => s + v, 0) / 64) < 0.15);
  }
  assert.deepEqual(initParams(mlpLayout({ ...spec, biasScale: 0 }), new Rng(5)), plain);
});
