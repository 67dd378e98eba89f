import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, solve } from 'ml-matrix';
import type { BackendName } from '../backend.js';
import { mlpLayout, type MlpLayout } from '../mlp.js';
import { referenceGradient, referenceHessian, referenceLoss, type ReferenceBatch } from '../reference.js';
import { Rng } from '../rng.js';
import { loadTf } from '../runtime.js';
import { boxAscent, boxHalfWidths, keskarSharpness, measureSharpness, perturbationFlatness, type BoxObjective } from './sharpness.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

/**
 * A linear model (no hidden layer) with the 0.5 MSE loss: L is exactly quadratic in theta, so the
 * maximum over a box is at one of its 2^d vertices (a convex function on a polytope), and brute force
 * over the vertices is the exact answer for d <= 10. Features are strongly correlated, so which
 * vertex wins matters.
 */
interface Linear {
  readonly layout: MlpLayout;
  readonly batch: ReferenceBatch & { readonly x: Float32Array; readonly targets: Float32Array };
  readonly theta: Float32Array;
  /** The least-squares minimum (float64 normal equations, rounded to float32). */
  readonly minimum: Float32Array;
}

function linearProblem(seed: string, inputs = 3, outputs = 2, n = 30): Linear {
  const layout = mlpLayout({ inputs, hidden: [], outputs, activation: 'relu', init: 'he' });
  const rng = new Rng(seed);
  const x = new Float32Array(n * inputs);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    for (let j = 0; j < inputs; j++) x[i * inputs + j] = (j % 2 ? -1 : 1) * z + 0.3 * rng.normal() + 0.5;
  }
  const targets = Float32Array.from({ length: n * outputs }, () => rng.normal());
  const theta = Float32Array.from({ length: layout.size }, () => 0.7 * rng.normal());
  // Normal equations per output: [X 1]^T [X 1] w = [X 1]^T t.
  const rows = Array.from({ length: n }, (_, i) => [...Array.from(x.subarray(i * inputs, (i + 1) * inputs)), 1]);
  const A = new Matrix(rows);
  const minimum = new Float32Array(layout.size);
  const { weight, bias } = layout.layers[0]!;
  for (let k = 0; k < outputs; k++) {
    const t = Matrix.columnVector(Array.from({ length: n }, (_, i) => targets[i * outputs + k] as number));
    const w = solve(A.transpose().mmul(A), A.transpose().mmul(t));
    for (let j = 0; j < inputs; j++) minimum[weight.offset + j * outputs + k] = w.get(j, 0);
    minimum[bias.offset + k] = w.get(inputs, 0);
  }
  return { layout, batch: { x, targets, n }, theta, minimum };
}

const objectiveOf = (p: Linear, theta: Float32Array): BoxObjective => ({
  loss: (delta) => referenceLoss(p.layout, 'mse', Float64Array.from(theta, (t, i) => t + (delta[i] as number)), p.batch),
  gradient: (delta) => referenceGradient(p.layout, 'mse', Float64Array.from(theta, (t, i) => t + (delta[i] as number)), p.batch),
});

/** max over the 2^d vertices theta + s * w, s in {-1, 1}^d. */
function bruteForceMax(p: Linear, theta: Float32Array, w: Float64Array): number {
  const d = w.length;
  let best = -Infinity;
  const point = new Float64Array(d);
  for (let mask = 0; mask < 2 ** d; mask++) {
    for (let i = 0; i < d; i++) point[i] = (theta[i] as number) + ((mask >> i) & 1 ? 1 : -1) * (w[i] as number);
    best = Math.max(best, referenceLoss(p.layout, 'mse', point, p.batch));
  }
  return best;
}

const ascent = { steps: 40, stepFraction: 0.25, halvings: 3, restarts: 0 };

test('box ascent finds the exact box maximum of a quadratic loss within 1% of the increase (float64 reference, brute force over 256 vertices)', async (t) => {
  for (const seed of ['a', 'b', 'c']) {
    const p = linearProblem(seed);
    assert.equal(p.layout.size, 8);
    for (const [where, theta] of [['away from the minimum', p.theta], ['at the least-squares minimum', p.minimum]] as const) {
      for (const eps of [1e-3, 0.05, 0.5]) {
        const obj = objectiveOf(p, theta);
        const w = boxHalfWidths(theta, eps);
        const loss0 = obj.loss(new Float64Array(8)) as number;
        const r = await boxAscent(obj, w, loss0, obj.gradient(new Float64Array(8)) as Float64Array, { ...ascent, restarts: 8, rng: new Rng(`starts-${seed}`) });
        const exact = bruteForceMax(p, theta, w);
        const shortfall = (exact - r.maxLoss) / (exact - loss0);
        t.diagnostic(`${seed} ${where} eps ${eps}: found ${r.maxLoss.toPrecision(8)}, exact ${exact.toPrecision(8)} (shortfall ${shortfall.toExponential(1)}), ${r.steps} steps, ${r.stop}`);
        assert.ok(shortfall <= 0.01, `${seed} ${where} eps ${eps}: shortfall ${shortfall}`);
        assert.ok(r.maxLoss <= exact * (1 + 1e-12), 'never above the true maximum');
        assert.ok(r.delta.every((v, i) => Math.abs(v) <= (w[i] as number)), 'stays in the box');
      }
    }
  }
});

test('box ascent from theta alone reaches the maximum of the quadratic when the gradient is not zero', async () => {
  for (const seed of ['a', 'b', 'c']) {
    const p = linearProblem(seed);
    const obj = objectiveOf(p, p.theta);
    for (const eps of [1e-3, 0.05]) {
      const w = boxHalfWidths(p.theta, eps);
      const loss0 = obj.loss(new Float64Array(8)) as number;
      const r = await boxAscent(obj, w, loss0, obj.gradient(new Float64Array(8)) as Float64Array, ascent);
      const exact = bruteForceMax(p, p.theta, w);
      assert.ok((exact - r.maxLoss) / (exact - loss0) <= 0.01, `${seed} eps ${eps}: ${r.maxLoss} vs ${exact}`);
      assert.equal(r.start, 0);
      assert.equal(r.boundaryFraction, 1, 'the maximum of a convex loss is a vertex');
    }
  }
});

test('box ascent: step rule, trajectory and each stopping rule on objectives with known answers', async () => {
  const w = Float64Array.from([1, 2, 0.5, 4]);
  const c = [3, -1, 0.5, -2];
  // Linear: the maximum is the vertex sign(c) * w, reached in 1 / f = 4 accepted steps, then no step moves.
  const linear: BoxObjective = { loss: (d) => d.reduce((s, v, i) => s + (c[i] as number) * v, 0), gradient: () => Float64Array.from(c) };
  const lin = await boxAscent(linear, w, 0, Float64Array.from(c), ascent);
  assert.equal(lin.maxLoss, 3 * 1 + 1 * 2 + 0.5 * 0.5 + 2 * 4);
  assert.deepEqual([lin.steps, lin.accepted, lin.gradients, lin.stop, lin.boundaryFraction], [4, 4, 4, 'stationary', 1]);
  assert.deepEqual(lin.trajectory, [0.25, 0.5, 0.75, 1].map((f) => f * 13.25));
  assert.equal(keskarSharpness(0, lin.maxLoss), 1325);
  assert.equal(keskarSharpness(1, 3), 100);

  // Concave with the maximum inside the box: the ascent closes in on it, halving the step, until the `halvings`-th rejection.
  const a = [0.3, -0.7, 0.1, 1];
  const concave: BoxObjective = {
    loss: (d) => -d.reduce((s, v, i) => s + (v - (a[i] as number)) ** 2, 0),
    gradient: (d) => Float64Array.from(d, (v, i) => -2 * (v - (a[i] as number))),
  };
  const cc = await boxAscent(concave, w, concave.loss(new Float64Array(4)) as number, concave.gradient(new Float64Array(4)) as Float64Array, { ...ascent, halvings: 2 });
  assert.equal(cc.stop, 'no-improvement');
  assert.equal(cc.boundaryFraction, 0);
  assert.ok(cc.maxLoss > -0.1 && cc.maxLoss <= 0, `close to the interior maximum 0: ${cc.maxLoss}`);
  assert.ok(cc.trajectory.every((v, i) => i === 0 || v >= (cc.trajectory[i - 1] as number)), 'the best loss never falls');
  assert.equal(cc.trajectory.length, cc.steps);

  // The cap: small steps run out first.
  const capped = await boxAscent(linear, w, 0, Float64Array.from(c), { ...ascent, stepFraction: 0.01, steps: 5 });
  assert.deepEqual([capped.steps, capped.stop, capped.boundaryFraction], [5, 'steps', 0]);
  assert.ok(Math.abs(capped.maxLoss - 0.05 * 13.25) < 1e-12);

  // A zero gradient at theta (the centre of a convex bowl) cannot move; a restart finds a vertex, all of which are maxima.
  const bowl: BoxObjective = { loss: (d) => d.reduce((s, v) => s + v * v, 0), gradient: (d) => Float64Array.from(d, (v) => 2 * v) };
  const stuck = await boxAscent(bowl, w, 0, new Float64Array(4), ascent);
  assert.deepEqual([stuck.steps, stuck.stop, stuck.maxLoss], [0, 'stationary', 0]);
  const restarted = await boxAscent(bowl, w, 0, new Float64Array(4), { ...ascent, restarts: 1, rng: new Rng('bowl') });
  assert.deepEqual([restarted.start, restarted.maxLoss, restarted.boundaryFraction], [1, 1 + 4 + 0.25 + 16, 1]);
  // The centre start computed no gradient (it had gradient0 and never moved): every gradient is the restart's.
  assert.equal(restarted.totalGradients, restarted.gradients);

  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(boxAscent(linear, w, 0, Float64Array.from(c), { ...ascent, signal: aborted.signal }), { name: 'AbortError' });
});

test('flatness estimates sigma^2 tr(H) / 2 of a quadratic (plain and antithetic draws), within 3 standard errors (float64 reference)', async (t) => {
  const p = linearProblem('flat', 4, 2, 40);
  const H = referenceHessian(p.layout, 'mse', p.theta, p.batch);
  const d = p.layout.size;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += H[i * d + i] as number;
  const loss0 = referenceLoss(p.layout, 'mse', p.theta, p.batch);
  const lossAt = (xi: Float64Array, s: number) => referenceLoss(p.layout, 'mse', Float64Array.from(p.theta, (w, i) => w + s * (xi[i] as number)), p.batch);
  const antitheticValues: number[] = [];
  for (const sigma of [1e-2, 0.3]) {
    for (const antithetic of [false, true]) {
      const f = await perturbationFlatness(lossAt, d, loss0, sigma, 200, antithetic, new Rng('draws'));
      const z = (f.value - trace / 2) / f.stdErr;
      t.diagnostic(`sigma ${sigma}${antithetic ? ' antithetic' : ''}: ${f.value.toPrecision(6)} +- ${f.stdErr.toPrecision(3)} vs tr(H)/2 = ${(trace / 2).toPrecision(6)} (z = ${z.toFixed(2)})`);
      assert.ok(Math.abs(z) <= 3, `z = ${z}`);
      assert.equal(f.increases.length, 200);
      assert.ok(Math.abs(f.meanIncrease - f.value * sigma * sigma) < 1e-15);
      if (antithetic) antitheticValues.push(f.value);
    }
  }
  // Antithetic increases of a quadratic are exactly sigma^2 xi^T H xi / 2: the same draws give one value at every sigma.
  assert.ok(Math.abs((antitheticValues[0] as number) - (antitheticValues[1] as number)) <= 1e-6 * (antitheticValues[0] as number));
  await assert.rejects(perturbationFlatness(lossAt, d, loss0, 0.1, 1, false, new Rng(0)), RangeError);
});

test(`measureSharpness (${backend}): the TF.js ascent and flatness on a linear MSE model against the float64 references`, async (t) => {
  const p = linearProblem('tf', 3, 2, 30);
  const d = p.layout.size;
  const H = referenceHessian(p.layout, 'mse', p.theta, p.batch);
  let trace = 0;
  for (let i = 0; i < d; i++) trace += H[i * d + i] as number;
  const data = { x: p.batch.x, targets: p.batch.targets, n: p.batch.n, features: 3, k: 2 };
  const options = { eps: [1e-3, 0.05], steps: 40, stepFraction: 0.25, halvings: 3, restarts: 2, sigma: 0.1, draws: 100, antithetic: false, seed: 3 };
  const before = tf.memory().numTensors;
  const r = await measureSharpness(tf, p.layout, 'mse', p.theta, data, options);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  const loss0 = referenceLoss(p.layout, 'mse', p.theta, p.batch);
  assert.ok(Math.abs(r.loss - loss0) <= 1e-6 * loss0, `L(theta) ${r.loss} vs ${loss0}`);
  assert.equal(r.acc, null, 'no labels, no accuracy');
  for (const e of r.eps) {
    const exact = bruteForceMax(p, p.theta, boxHalfWidths(p.theta, e.eps));
    const exactSharpness = keskarSharpness(loss0, exact);
    t.diagnostic(`eps ${e.eps}: sharpness ${e.sharpness.toPrecision(6)} vs exact ${exactSharpness.toPrecision(6)}, ${e.steps} steps (${e.stop})`);
    assert.ok(Math.abs(e.sharpness - exactSharpness) <= 0.01 * exactSharpness, `eps ${e.eps}: ${e.sharpness} vs ${exactSharpness}`);
  }
  const f = r.flatness!;
  const z = (f.value - trace / 2) / f.stdErr;
  t.diagnostic(`flatness ${f.value.toPrecision(6)} +- ${f.stdErr.toPrecision(3)} vs tr(H)/2 ${(trace / 2).toPrecision(6)} (z = ${z.toFixed(2)})`);
  assert.ok(Math.abs(z) <= 3, `z = ${z}`);
  assert.equal(r.gradients, 1 + r.eps.reduce((s, e) => s + e.totalGradients, 0));

  // Antithetic draws through TF.js: the same expectation, a far smaller standard error.
  const anti = (await measureSharpness(tf, p.layout, 'mse', p.theta, data, { ...options, eps: [], antithetic: true })).flatness!;
  const za = (anti.value - trace / 2) / anti.stdErr;
  t.diagnostic(`antithetic flatness ${anti.value.toPrecision(6)} +- ${anti.stdErr.toPrecision(3)} (z = ${za.toFixed(2)})`);
  assert.ok(Math.abs(za) <= 3 && anti.stdErr < f.stdErr / 3, `z = ${za}, stdErr ${anti.stdErr}`);

  // Same seed, same numbers; no flatness when draws is 0.
  const again = await measureSharpness(tf, p.layout, 'mse', p.theta, data, { ...options, draws: 0 });
  assert.deepEqual(again.eps.map((e) => e.maxLoss), r.eps.map((e) => e.maxLoss));
  assert.equal(again.flatness, null);
});
