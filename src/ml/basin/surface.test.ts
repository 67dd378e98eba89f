import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor1D } from '@tensorflow/tfjs';
import type { BackendName } from '../backend.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet } from '../metrics.js';
import { ACTIVATIONS } from '../mlp.js';
import { tinyProblem } from '../reference.js';
import { Rng } from '../rng.js';
import { loadTf } from '../runtime.js';
import { filterNormalise, randomDirection } from './directions.js';
import { SurfaceEvaluator } from './surface.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

test('surface points equal evaluating theta + sum c_j u_j directly (every activation, 0 to 2 hidden layers, lines and planes)', () => {
  for (const activation of ACTIVATIONS) {
    for (const hidden of [[], [6], [5, 4]]) {
      const p = tinyProblem({ inputs: 4, hidden, outputs: 3, activation, init: 'he' }, 'cross-entropy', 11, `surface-${activation}-${hidden.length}`);
      const set = uploadEvalSet(tf, p.x, p.targets, p.labels, 4, 3, 4);
      const ev = new SurfaceEvaluator(tf, p.layout, p.loss, p.params, set);
      const rng = new Rng('dirs');
      const u = randomDirection(p.layout, p.params, 'sphere', rng);
      const v = randomDirection(p.layout, p.params, 'filter', rng);
      const rows = [[0, 0], [0.5, 0], [-1.25, 2], [3, -0.5]];
      const got = ev.evaluate([u, v], rows);
      rows.forEach((row, r) => {
        const point = Float32Array.from(p.params, (w, i) => w + (row[0] as number) * (u[i] as number) + (row[1] as number) * (v[i] as number));
        const t = tf.tensor1d(point) as Tensor1D;
        const direct = evaluateSet(tf, p.layout, t, p.loss, set);
        t.dispose();
        const g = got[r]!;
        assert.ok(Math.abs(g.loss - direct.loss) <= 1e-5 * Math.max(1, direct.loss), `${activation} [${hidden}] row ${r}: ${g.loss} vs ${direct.loss}`);
        assert.equal(g.acc, direct.acc);
      });
      assert.equal(ev.evaluations, rows.length);
      const before = tf.memory().numTensors;
      ev.evaluate([u], [[1], [2]]);
      assert.equal(tf.memory().numTensors, before, 'no tensors leak per call');
      ev.dispose();
      disposeEvalSet(set);
    }
  }
});

test('filter normalisation: each neuron\'s incoming weights get the norm they have in theta; biases zero', () => {
  const p = tinyProblem({ inputs: 5, hidden: [7], outputs: 3, activation: 'relu', init: 'he' }, 'mse', 4, 'filter');
  const theta = Float32Array.from(p.params);
  // A dead neuron: all incoming weights zero in theta.
  const [fanIn, fanOut] = p.layout.layers[0]!.weight.shape as [number, number];
  for (let i = 0; i < fanIn; i++) theta[i * fanOut + 2] = 0;
  const u = filterNormalise(p.layout, theta, Float64Array.from({ length: p.layout.size }, (_, i) => Math.sin(i + 1)));
  for (const { weight, bias } of p.layout.layers) {
    const [n, m] = weight.shape as [number, number];
    for (let j = 0; j < m; j++) {
      let su = 0;
      let st = 0;
      for (let i = 0; i < n; i++) {
        su += (u[weight.offset + i * m + j] as number) ** 2;
        st += (theta[weight.offset + i * m + j] as number) ** 2;
      }
      assert.ok(Math.abs(Math.sqrt(su) - Math.sqrt(st)) <= 1e-12 * Math.max(1, Math.sqrt(st)), `neuron ${j}`);
    }
    for (let j = 0; j < (bias.shape[0] as number); j++) assert.equal(u[bias.offset + j], 0);
  }
  const sphere = randomDirection(p.layout, theta, 'sphere', new Rng(1));
  assert.ok(Math.abs(Math.hypot(...sphere) - 1) < 1e-12);
  assert.deepEqual(randomDirection(p.layout, theta, 'sphere', new Rng(1)), sphere, 'same seed, same direction');
});

test('the surface evaluator refuses empty sets and use after dispose', () => {
  const p = tinyProblem({ inputs: 2, hidden: [3], outputs: 2, activation: 'tanh', init: 'he' }, 'mse', 3, 'refuse');
  assert.throws(() => new SurfaceEvaluator(tf, p.layout, p.loss, p.params, { n: 0, chunks: [] }), /empty example set/);
  const set = uploadEvalSet(tf, p.x, p.targets, undefined, 2, 2);
  const ev = new SurfaceEvaluator(tf, p.layout, p.loss, p.params, set);
  const [only] = ev.evaluate([], [[]]);
  assert.equal(only!.acc, null);
  ev.dispose();
  assert.throws(() => ev.evaluate([], [[]]), /after dispose/);
  disposeEvalSet(set);
});
