import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { lossFn, type LossName } from './loss.js';
import { ACTIVATIONS, initParams, mlpForward, mlpLayout } from './mlp.js';
import { initOptimizerState, optimizerStep, type OptimizerName, type OptimizerSpec } from './optim.js';
import { Rng } from './rng.js';
import { loadTf, type TF } from './runtime.js';
import { disposeTrainee, flatParams, initTrainee, trainStep } from './train-step.js';
import { layerForward } from './mlp.js';

/**
 * The per-layer training step is the flat-vector model, bit for bit: layerForward equals
 * mlpForward for every activation, and a run of trainStep equals the same optimiser applied to the
 * gradient of mlpForward with respect to the flat vector.
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;

const spec = (name: OptimizerName): OptimizerSpec => ({
  name,
  lr: name === 'adam' ? 0.01 : 0.1,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  schedule: { type: 'constant', every: 1, gamma: 1 },
});

function batch(tf: TF, rng: Rng, n: number, d: number, k: number): { x: Tensor2D; y: Tensor2D } {
  const x = tf.tensor2d(Float32Array.from({ length: n * d }, () => rng.normal()), [n, d]);
  const y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) y[i * k + rng.int(k)] = 1;
  return { x, y: tf.tensor2d(y, [n, k]) };
}

test(`per-layer training is the flat-vector model, bit for bit (${backend})`, async (t) => {
  const tf = await loadTf(backend);
  const before = tf.memory().numTensors;
  const rng = new Rng('train-step');

  await t.test('layerForward equals mlpForward for every activation', () => {
    for (const activation of ACTIVATIONS) {
      const layout = mlpLayout({ inputs: 5, hidden: [7, 6], outputs: 3, activation, init: 'glorot' });
      const flat = initParams(layout, rng.derive(activation));
      const trainee = initTrainee(tf, layout, spec('sgd'), flat);
      const { x, y } = batch(tf, rng, 9, 5, 3);
      const p = tf.tensor1d(flat);
      const [a, b] = tf.tidy(() => [mlpForward(tf, layout, p, x).dataSync(), layerForward(tf, layout, trainee.tensors, x).dataSync()]);
      assert.deepEqual(Array.from(b!), Array.from(a!), activation);
      const roundTrip = flatParams(tf, trainee);
      assert.deepEqual(Array.from(roundTrip.dataSync()), Array.from(flat));
      tf.dispose([p, x, y, roundTrip]);
      disposeTrainee(tf, trainee);
    }
  });

  await t.test('trainStep equals optimising the flat vector (sgd, momentum, adam; cross-entropy and mse)', () => {
    for (const name of ['sgd', 'momentum', 'adam'] as const) {
      for (const loss of ['cross-entropy', 'mse'] as LossName[]) {
        const s = spec(name);
        const layout = mlpLayout({ inputs: 4, hidden: [6], outputs: 3, activation: 'tanh', init: 'he' });
        const init = initParams(layout, rng.derive(`${name}/${loss}`));
        let trainee = initTrainee(tf, layout, s, init);
        let flat = { params: tf.tensor1d(init), state: initOptimizerState(tf, s, [layout.size]) };
        for (let i = 0; i < 4; i++) {
          const { x, y } = batch(tf, rng, 8, 4, 3);
          trainee = trainStep(tf, layout, loss, s, s.lr, trainee, x, y);
          const { params, state } = flat;
          const next = tf.tidy(() => {
            const g = tf.grad((q: Tensor) => lossFn(tf, loss, mlpForward(tf, layout, q as Tensor1D, x), y))(params) as Tensor1D;
            const r = optimizerStep(tf, s, s.lr, params, g, state);
            return { params: r.params, slots: [...r.state.slots] };
          });
          tf.dispose([params, ...state.slots, x, y]);
          flat = { params: next.params, state: { t: state.t + 1, slots: next.slots } };
        }
        const got = flatParams(tf, trainee);
        assert.deepEqual(Array.from(got.dataSync()), Array.from(flat.params.dataSync()), `${name} ${loss}`);
        tf.dispose([got, flat.params, ...flat.state.slots]);
        disposeTrainee(tf, trainee);
      }
    }
  });

  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
