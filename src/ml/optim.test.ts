import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { initOptimizerState, learningRate, optimizerStep, type OptimizerSpec, type OptimizerState } from './optim.js';
import { loadTf, type TF } from './runtime.js';

/**
 * The update rules against values computed by hand (and, for Adam, in float64 with Python from the
 * PyTorch formulas) on the quadratic L(theta) = 1/2 sum_i a_i theta_i^2, a = [1, 4], theta_0 = [1, -2].
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const A = [1, 4];
const THETA0 = [1, -2];

const spec = (over: Partial<OptimizerSpec>): OptimizerSpec => ({
  name: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  schedule: { type: 'constant', every: 1, gamma: 1 },
  ...over,
});

/** `steps` updates on the quadratic; returns theta after each step. */
function run(tf: TF, s: OptimizerSpec, steps: number): number[][] {
  let params = tf.tensor1d(THETA0);
  let state: OptimizerState = initOptimizerState(tf, s, [THETA0.length]);
  const a = tf.tensor1d(A);
  const trail: number[][] = [];
  for (let i = 0; i < steps; i++) {
    const p = params;
    const st = state;
    const next = tf.tidy(() => {
      const grad = tf.grad((x: Tensor) => tf.mul(0.5, tf.sum(tf.mul(a, tf.square(x)))))(p) as Tensor1D;
      const r = optimizerStep(tf, s, learningRate(s, 1), p, grad, st);
      return { params: r.params, slots: [...r.state.slots] };
    });
    p.dispose();
    tf.dispose([...st.slots]);
    params = next.params;
    state = { t: st.t + 1, slots: next.slots };
    trail.push(Array.from(params.dataSync()));
  }
  params.dispose();
  a.dispose();
  tf.dispose([...state.slots]);
  return trail;
}

function close(actual: readonly number[], expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] as number)) <= tol * Math.max(1, Math.abs(expected[i] as number)), `[${actual.join(', ')}] vs [${expected.join(', ')}]`));
}

test(`optimisers on a known quadratic (${backend})`, async (t) => {
  const tf = await loadTf(backend);
  const before = tf.memory().numTensors;

  await t.test('sgd: theta - lr g', () => {
    const [s1, s2] = run(tf, spec({ name: 'sgd' }), 2);
    close(s1!, [0.9, -1.2]); // g = [1, -8]
    close(s2!, [0.81, -0.72]); // g = [0.9, -4.8]
  });

  await t.test('momentum: v = mu v + g, theta - lr v', () => {
    const [s1, s2] = run(tf, spec({ name: 'momentum', momentum: 0.9 }), 2);
    close(s1!, [0.9, -1.2]); // v = g = [1, -8]
    close(s2!, [0.72, 0]); // v = 0.9 [1, -8] + [0.9, -4.8] = [1.8, -12]
  });

  await t.test('adam: bias-corrected moments (PyTorch formula)', () => {
    const trail = run(tf, spec({ name: 'adam', lr: 0.1 }), 3);
    close(trail[0]!, [0.900000001, -1.900000000125]); // step 1 moves each coordinate by lr sign(g)
    close(trail[1]!, [0.8004122297123382, -1.8001664858630053]);
    close(trail[2]!, [0.701586274504415, -1.7006233916636408]);
  });

  await t.test('gd converges to the minimum of a shifted quadratic', () => {
    const c = tf.tensor1d([0.5, -1.5, 2]);
    const h = tf.tensor1d([1, 3, 0.5]);
    const s = spec({ name: 'gd', lr: 0.5 });
    let params = tf.zeros([3]) as Tensor1D;
    let state = initOptimizerState(tf, s, [3]);
    for (let i = 0; i < 300; i++) {
      const p = params;
      const next = tf.tidy(() => {
        const grad = tf.grad((x: Tensor) => tf.mul(0.5, tf.sum(tf.mul(h, tf.square(tf.sub(x, c))))))(p) as Tensor1D;
        return optimizerStep(tf, s, s.lr, p, grad, state).params;
      });
      p.dispose();
      params = next;
      state = { t: state.t + 1, slots: [] };
    }
    close(Array.from(params.dataSync()), [0.5, -1.5, 2], 1e-5);
    tf.dispose([params, c, h]);
  });

  await t.test('optimizerStep leaves its inputs untouched', () => {
    const s = spec({ name: 'adam' });
    const p = tf.tensor1d([1, 2]);
    const g = tf.tensor1d([0.5, -0.5]);
    const state = initOptimizerState(tf, s, [2]);
    const r = tf.tidy(() => {
      const x = optimizerStep(tf, s, 0.1, p, g, state);
      return { params: x.params, slots: [...x.state.slots] };
    });
    assert.deepEqual(Array.from(p.dataSync()), [1, 2]);
    assert.deepEqual(Array.from(state.slots[0]!.dataSync()), [0, 0]);
    assert.notDeepEqual(Array.from(r.params.dataSync()), [1, 2]);
    tf.dispose([p, g, ...state.slots, r.params, ...r.slots]);
  });

  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});

test('learning-rate schedules', () => {
  const constant = spec({ lr: 0.1 });
  assert.equal(learningRate(constant, 1), 0.1);
  assert.equal(learningRate(constant, 1000), 0.1);
  const step = spec({ lr: 0.1, schedule: { type: 'step', every: 10, gamma: 0.5 } });
  assert.equal(learningRate(step, 1), 0.1);
  assert.equal(learningRate(step, 10), 0.1);
  assert.equal(learningRate(step, 11), 0.05);
  assert.equal(learningRate(step, 21), 0.025);
});
