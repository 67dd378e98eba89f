import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { accuracy, lossFn, LOSS_NAMES, type LossName } from './loss.js';
import { referenceOutputLoss, relativeError } from './reference.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

const n = 6;
const k = 4;

/** Random outputs (scale 3, so softmax is far from uniform) and targets for each loss. */
function problem(loss: LossName, seed: number): { out: Float32Array; targets: Float32Array } {
  const rng = new Rng(seed);
  const out = Float32Array.from({ length: n * k }, () => 3 * rng.normal());
  const targets = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    if (loss === 'cross-entropy') targets[i * k + rng.int(k)] = 1;
    else for (let j = 0; j < k; j++) targets[i * k + j] = rng.normal();
  }
  return { out, targets };
}

function lossOf(loss: LossName, out: ArrayLike<number>, targets: ArrayLike<number>, rows: number, cols: number): number {
  return tf.tidy(() => lossFn(tf, loss, tf.tensor2d(Float32Array.from(out), [rows, cols]), tf.tensor2d(Float32Array.from(targets), [rows, cols])).dataSync()[0] as number);
}

test('loss values match the float64 reference', () => {
  for (const loss of LOSS_NAMES) {
    const { out, targets } = problem(loss, 1);
    const got = lossOf(loss, out, targets, n, k);
    const expected = referenceOutputLoss(loss, out, targets, n, k).value;
    assert.ok(Math.abs(got - expected) <= 1e-6 * Math.abs(expected), `${loss}: ${got} vs ${expected}`);
  }
});

test('mse is the batch mean of 0.5 * sum_k (out - target)^2', () => {
  // Rows: 0.5 * (1 + 4) = 2.5 and 0.5 * (0 + 9) = 4.5; mean 3.5.
  assert.equal(lossOf('mse', [1, 2, 0, 3], [0, 0, 0, 0], 2, 2), 3.5);
});

test('cross-entropy is stable for huge logits', () => {
  assert.equal(Math.abs(lossOf('cross-entropy', [1000, 0, -1000], [1, 0, 0], 1, 3)), 0);
  assert.equal(lossOf('cross-entropy', [1000, 0, -1000], [0, 1, 0], 1, 3), 1000);
  const grad = tf.tidy(() =>
    tf.grad((o) => lossFn(tf, 'cross-entropy', o as Tensor2D, tf.tensor2d([[0, 0, 1]])))(tf.tensor2d([[1000, 0, -1000]])).dataSync(),
  );
  assert.deepEqual(Array.from(grad), [1, 0, -1]);
});

test('gradient and Hessian-vector product w.r.t. the outputs match the closed forms', () => {
  for (const loss of LOSS_NAMES) {
    const { out, targets } = problem(loss, 2);
    const v = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i));
    const [grad, hv] = tf.tidy(() => {
      const o = tf.tensor2d(out, [n, k]);
      const t = tf.tensor2d(targets, [n, k]);
      const f = (x: Tensor) => lossFn(tf, loss, x as Tensor2D, t);
      const vt = tf.tensor2d(v, [n, k]);
      const hvp = tf.grad((x) => tf.sum(tf.mul(tf.grad(f)(x), vt)))(o);
      return [tf.grad(f)(o).dataSync(), hvp.dataSync()];
    });
    assert.ok(relativeError(grad, referenceOutputLoss(loss, out, targets, n, k).dOut) <= 1e-5, `${loss} gradient`);
    // d2/do2: mse gives I/n; cross-entropy gives (diag(p) - p p^T)/n per row (one-hot targets).
    const expected = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = Array.from({ length: k }, (_, j) => out[i * k + j] as number);
      const m = Math.max(...row);
      const e = row.map((z) => Math.exp(z - m));
      const s = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => x / s);
      const pv = p.reduce((acc, pj, j) => acc + pj * (v[i * k + j] as number), 0);
      for (let j = 0; j < k; j++) {
        const vj = v[i * k + j] as number;
        expected[i * k + j] = (loss === 'mse' ? vj : (p[j] as number) * (vj - pv)) / n;
      }
    }
    const err = relativeError(hv, expected);
    assert.ok(err <= 1e-5, `${loss}: Hessian-vector product relative error ${err}`);
  }
});

test('accuracy counts rows whose argmax equals the label', () => {
  const got = tf.tidy(() => accuracy(tf, tf.tensor2d([[0.1, 0.9], [2, 1], [0, 5]]), tf.tensor1d([1, 0, 0], 'int32')));
  assert.equal(got, 2 / 3);
  assert.ok(Number.isNaN(tf.tidy(() => accuracy(tf, tf.zeros([0, 2]) as Tensor2D, tf.tensor1d([], 'int32')))));
});

test('loss and accuracy leak no tensors', () => {
  const { out, targets } = problem('cross-entropy', 3);
  const o = tf.tensor2d(out, [n, k]);
  const t = tf.tensor2d(targets, [n, k]);
  const labels = tf.argMax(t, 1).cast('int32') as Tensor1D;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    for (const loss of LOSS_NAMES) lossFn(tf, loss, o, t).dispose();
    accuracy(tf, o, labels);
    tf.tidy(() => tf.grad((x) => lossFn(tf, 'cross-entropy', x as Tensor2D, t))(o)).dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([o, t, labels]);
});
