import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor1D } from '@tensorflow/tfjs';
import type { BackendName } from '../backend.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet } from '../metrics.js';
import { tinyProblem } from '../reference.js';
import { loadTf } from '../runtime.js';
import { alphaAxis, centredAxis, extremes, interpolationDirection, pathSummary, sliceDirections, sliceSurface } from './slice.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

test('axes: the slice grid is centred and exactly symmetric; the interpolation grid holds 0 and 1 exactly', () => {
  const a = centredAxis(1, 25);
  assert.equal(a.length, 51);
  assert.equal(a[25], 0);
  assert.deepEqual([a[0], a[50]], [-1, 1]);
  a.forEach((v, i) => assert.ok(v === -(a[50 - i] as number), `${v} vs ${a[50 - i]}`));
  const b = centredAxis(0.3, 3);
  assert.deepEqual(Array.from(b), [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3].map((v, i) => (0.3 * (i - 3)) / 3));

  const alphas = alphaAxis(-0.5, 1.5, 20);
  assert.equal(alphas.length, 41);
  assert.deepEqual([alphas[0], alphas[10], alphas[30], alphas[40]], [-0.5, 0, 1, 1.5]);
  assert.deepEqual(Array.from(alphaAxis(0, 1, 3)), [0, 1 / 3, 2 / 3, 1]);
  assert.deepEqual(Array.from(alphaAxis(-0.3, 1.05, 4)), [-0.25, 0, 0.25, 0.5, 0.75, 1]);
  assert.throws(() => alphaAxis(0.1, 1, 10), RangeError);
  assert.throws(() => centredAxis(1, 0), RangeError);
});

test('slice directions: filter-normalised per neuron, biases zero; sphere of unit norm; the 1-D direction is the 2-D slice\'s first', () => {
  const p = tinyProblem({ inputs: 5, hidden: [7, 4], outputs: 3, activation: 'relu', init: 'he' }, 'cross-entropy', 10, 'dirs');
  const [u, v] = sliceDirections(p.layout, p.params, 'filter', 'seed', 2) as [Float64Array, Float64Array];
  for (const { weight, bias } of p.layout.layers) {
    const [fanIn, fanOut] = weight.shape as [number, number];
    for (const dir of [u, v]) {
      for (let j = 0; j < fanOut; j++) {
        let su = 0;
        let st = 0;
        for (let i = 0; i < fanIn; i++) {
          su += (dir[weight.offset + i * fanOut + j] as number) ** 2;
          st += (p.params[weight.offset + i * fanOut + j] as number) ** 2;
        }
        assert.ok(Math.abs(Math.sqrt(su) - Math.sqrt(st)) <= 1e-12 * Math.sqrt(st), `neuron ${j}`);
      }
      assert.ok(dir.subarray(bias.offset, bias.offset + fanOut).every((x) => x === 0));
    }
  }
  assert.notDeepEqual(u, v);
  assert.deepEqual(sliceDirections(p.layout, p.params, 'filter', 'seed', 1)[0], u);
  const [s] = sliceDirections(p.layout, p.params, 'sphere', 'seed', 1) as [Float64Array];
  assert.ok(Math.abs(Math.hypot(...s) - 1) < 1e-12);
  assert.notDeepEqual(sliceDirections(p.layout, p.params, 'filter', 'other', 1)[0], u);
});

test(`sliceSurface (${backend}): lines and planes equal direct evaluations; the plane's centre column is the line`, async () => {
  const p = tinyProblem({ inputs: 4, hidden: [6], outputs: 3, activation: 'tanh', init: 'he' }, 'cross-entropy', 25, 'surface');
  const data = { x: p.x, targets: p.targets, labels: p.labels, n: p.n, features: 4, k: 3 };
  const test2 = tinyProblem({ inputs: 4, hidden: [6], outputs: 3, activation: 'tanh', init: 'he' }, 'cross-entropy', 12, 'other-set');
  const other = { x: test2.x, targets: test2.targets, labels: test2.labels, n: test2.n, features: 4, k: 3 };
  const dirs = sliceDirections(p.layout, p.params, 'filter', 0, 2);
  const axis = centredAxis(0.8, 3);
  const n = axis.length;
  const rows: [number, number][] = [];
  const before = tf.memory().numTensors;
  const [line] = await sliceSurface(tf, p.layout, p.loss, p.params, [data], dirs.slice(0, 1), axis, { onRow: (d, t) => rows.push([d, t]) });
  assert.deepEqual(rows, [[1, 1]]);
  rows.length = 0;
  const planes = await sliceSurface(tf, p.layout, p.loss, p.params, [data, other], dirs, axis, { onRow: (d, t) => rows.push([d, t]) });
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  assert.deepEqual(rows, Array.from({ length: 2 * n }, (_, i) => [i + 1, 2 * n]), 'progress per row and set');
  const plane = planes[0]!;
  assert.equal(line!.loss.length, n);
  assert.equal(plane.loss.length, n * n);
  assert.equal(plane.acc!.length, n * n);

  // Column j = centre (b = 0) of the plane is the line, bit for bit (the evaluator skips zero coefficients).
  const c = (n - 1) / 2;
  for (let i = 0; i < n; i++) {
    assert.equal(plane.loss[i * n + c], line!.loss[i]);
    assert.equal(plane.acc![i * n + c], line!.acc![i]);
  }
  // Every point against evaluateSet at theta + a u + b v.
  const set = uploadEvalSet(tf, p.x, p.targets, p.labels, 4, 3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = axis[i] as number;
      const b = axis[j] as number;
      const point = tf.tensor1d(Float32Array.from(p.params, (w, k) => w + a * (dirs[0]![k] as number) + b * (dirs[1]![k] as number))) as Tensor1D;
      const direct = evaluateSet(tf, p.layout, point, p.loss, set);
      point.dispose();
      assert.ok(Math.abs((plane.loss[i * n + j] as number) - direct.loss) <= 1e-5 * Math.max(1, direct.loss), `(${a}, ${b})`);
      assert.equal(plane.acc![i * n + j], direct.acc);
    }
  }
  disposeEvalSet(set);

  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(sliceSurface(tf, p.layout, p.loss, p.params, [data], dirs, axis, { signal: aborted.signal }), { name: 'AbortError' });
  assert.equal(tf.memory().numTensors, before, 'no tensors leak on abort');
});

test('interpolation: the direction is theta_b - theta_a; the path summary finds the endpoints, the peak and the barrier', () => {
  const a = Float32Array.from([1, 2, 3]);
  const b = Float32Array.from([0.5, 2, 5]);
  assert.deepEqual(Array.from(interpolationDirection(a, b)), [-0.5, 0, 2]);
  const alphas = alphaAxis(-0.5, 1.5, 2);
  assert.deepEqual(Array.from(alphas), [-0.5, 0, 0.5, 1, 1.5]);
  const loss = Float64Array.from([9, 0.1, 0.7, 0.3, 8]);
  const acc = Float64Array.from([0.2, 1, 0.6, 0.9, 0.1]);
  const s = pathSummary(alphas, { loss, acc });
  assert.deepEqual(s.endpoints, { a: { alpha: 0, loss: 0.1, acc: 1 }, b: { alpha: 1, loss: 0.3, acc: 0.9 } });
  assert.deepEqual(s.peak, { alpha: 0.5, loss: 0.7, acc: 0.6 });
  assert.equal(s.barrier, 0.7 - 0.3);
  assert.deepEqual(s.worstAcc, { alpha: 0.5, loss: 0.7, acc: 0.6 });
  // Monotone between the models: no barrier; outside [0, 1] does not count.
  const flat = pathSummary(alphas, { loss: Float64Array.from([9, 0.1, 0.2, 0.3, 8]), acc: null });
  assert.deepEqual([flat.barrier, flat.peak.alpha, flat.worstAcc], [0, 1, null]);
  assert.deepEqual(extremes(loss), { min: 0.1, max: 9, argmin: 1 });
});
