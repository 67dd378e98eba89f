import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { BackendName } from '../backend.js';
import { mlpLayout } from '../mlp.js';
import type { OptimizerSpec } from '../optim.js';
import { Rng } from '../rng.js';
import { loadTf } from '../runtime.js';
import { trainMlp, type ArraySet, type TrainData } from '../train-loop.js';
import { disagreementOf, measureRestarts, perturbation, summarise, wilson, type RestartDraw, type RestartModel, type RestartOptions } from './restarts.js';

/**
 * The restarts procedure: the Wilson interval against its defining property and published values,
 * the perturbations, the summaries, and the whole procedure on two Gaussian blobs (a converged
 * model returns from sigma 0; same seed, same numbers; divergence recorded as an outcome).
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);
const Z = 1.959963984540054;

test('wilson: the bounds are where the score statistic equals z; published values; edge cases', () => {
  for (const [k, n] of [[0, 10], [1, 4], [3, 7], [5, 10], [9, 10], [20, 20]] as const) {
    const w = wilson(k, n);
    assert.equal(w.p, k / n);
    // Score-test inversion: |p_hat - p0| = z sqrt(p0 (1 - p0) / n) at each bound strictly inside (0, 1).
    for (const bound of [w.low as number, w.high as number]) {
      if (bound <= 1e-12 || bound >= 1 - 1e-12) continue;
      const score = Math.abs(k / n - bound) / Math.sqrt((bound * (1 - bound)) / n);
      assert.ok(Math.abs(score - Z) < 1e-9, `${k}/${n}: score ${score} at ${bound}`);
    }
    assert.ok((w.low as number) <= k / n && k / n <= (w.high as number));
  }
  // Published (e.g. Newcombe 1998, Table I; Brown, Cai and DasGupta 2001): 0/10 -> [0, 0.2775], 5/10 -> [0.2366, 0.7634].
  const round = (v: number | null) => Number((v as number).toFixed(4));
  assert.deepEqual([round(wilson(0, 10).low), round(wilson(0, 10).high)], [0, 0.2775]);
  assert.deepEqual([round(wilson(5, 10).low), round(wilson(5, 10).high)], [0.2366, 0.7634]);
  assert.deepEqual([round(wilson(4, 4).low), wilson(4, 4).high], [0.5101, 1]);
  assert.deepEqual(wilson(0, 0), { returned: 0, draws: 0, p: null, low: null, high: null });
});

test('perturbation: gaussian is the N(0, 1) stream itself; filter rescales each neuron to theta and leaves biases', () => {
  const layout = mlpLayout({ inputs: 3, hidden: [4], outputs: 2, activation: 'relu', init: 'he' });
  const theta = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i + 1));
  const g = perturbation(layout, theta, 'gaussian', new Rng('xi'));
  const stream = new Rng('xi');
  assert.deepEqual(Array.from(g), Array.from({ length: layout.size }, () => stream.normal()));
  const f = perturbation(layout, theta, 'filter', new Rng('xi'));
  for (const { weight, bias } of layout.layers) {
    const [fanIn, fanOut] = weight.shape as [number, number];
    for (let j = 0; j < fanOut; j++) {
      let nf = 0;
      let nt = 0;
      for (let i = 0; i < fanIn; i++) {
        nf += (f[weight.offset + i * fanOut + j] as number) ** 2;
        nt += (theta[weight.offset + i * fanOut + j] as number) ** 2;
      }
      assert.ok(Math.abs(Math.sqrt(nf) - Math.sqrt(nt)) < 1e-12);
    }
    assert.ok(f.subarray(bias.offset, bias.offset + (bias.shape[0] as number)).every((v) => v === 0));
  }
});

test('disagreement: differing classes as a fraction; relative output change for regression', () => {
  assert.equal(disagreementOf(Int32Array.of(0, 1, 2, 1), Int32Array.of(0, 2, 2, 0)), 0.5);
  assert.equal(disagreementOf(Int32Array.of(), Int32Array.of()), 0);
  assert.ok(Math.abs(disagreementOf(Float32Array.of(3, 4), Float32Array.of(3, 5)) - 1 / 5) < 1e-12);
  assert.equal(disagreementOf(Float32Array.of(0, 0), Float32Array.of(0, 0)), 0);
});

test('summarise: proportions by each criterion, spreads over the retrainings that did not diverge, stop counts', () => {
  const draw = (over: Partial<RestartDraw>): RestartDraw => ({
    sigma: 0.1,
    draw: 0,
    perturbationNorm: 1,
    relativePerturbation: 0.1,
    start: { trainLoss: 1, trainAcc: 0.5, testAcc: 0.5 },
    stop: 'converged',
    epochs: 10,
    trainLoss: 0,
    trainAcc: 1,
    testLoss: 0.3,
    testAcc: 0.9,
    distance: 0.01,
    disagreement: 0,
    returnedByDistance: true,
    returnedByFunction: true,
    ...over,
  });
  const draws = [
    draw({}),
    draw({ draw: 1, testAcc: 0.7, distance: 0.2, disagreement: 0.3, returnedByDistance: false, returnedByFunction: false, stop: 'max-epochs', epochs: 30 }),
    draw({ draw: 2, distance: 0.2, returnedByDistance: false, epochs: 20 }),
    draw({ draw: 3, stop: 'diverged', epochs: 4, trainLoss: null, trainAcc: null, testLoss: null, testAcc: null, distance: null, disagreement: null, returnedByDistance: false, returnedByFunction: false }),
  ];
  const s = summarise(0.1, draws, 'function');
  assert.deepEqual([s.byFunction.returned, s.byDistance.returned, s.draws], [2, 1, 4]);
  assert.deepEqual(s.pReturn, { by: 'function', ...wilson(2, 4) });
  assert.deepEqual(summarise(0.1, draws, 'distance').pReturn, { by: 'distance', ...wilson(1, 4) });
  assert.ok(Math.abs((s.testAcc?.mean as number) - 2.5 / 3) < 1e-12);
  assert.deepEqual([s.testAcc?.min, s.testAcc?.max], [0.7, 0.9]);
  assert.deepEqual(s.epochs, { mean: 16, min: 4, max: 30 });
  assert.deepEqual(s.stops, { converged: 2, 'max-epochs': 1, diverged: 1 });
  const none = summarise(1, [draws[3] as RestartDraw], 'function');
  assert.deepEqual([none.testAcc, none.distance, none.pReturn.p], [null, null, 0]);
});

// ---- the procedure, on two Gaussian blobs ----

function blobs(n: number, seed: string): ArraySet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    x[2 * i] = (c ? 1.5 : -1.5) + 0.5 * rng.normal();
    x[2 * i + 1] = (c ? 1.5 : -1.5) + 0.5 * rng.normal();
    y[i] = c;
  }
  return { x, y };
}
const data: TrainData = { task: 'classification', features: 2, classes: 2, targetDim: 0, train: blobs(40, 'train'), attack: { x: new Float32Array(0), y: new Int32Array(0) }, test: blobs(60, 'test') };
const sgd: OptimizerSpec = { name: 'sgd', lr: 0.5, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, schedule: { type: 'constant', every: 1, gamma: 1 } };
const opts = (over: Partial<RestartOptions> = {}): RestartOptions => ({ sigmas: [0, 0.3], draws: 3, noise: 'gaussian', seed: 0, maxEpochs: 100, distanceTol: 0.05, disagreementTol: 0.05, returnBy: 'function', ...over });
const digest = (p: Float32Array) => createHash('sha256').update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength)).digest('hex');

const trained = (async () => {
  const r = await trainMlp(tf, data, { model: { hidden: [8], activation: 'relu', init: 'he' }, loss: 'cross-entropy', optimizer: sgd, batchSize: 10, seed: 0, maxEpochs: 400, tolerance: 1e-3, evalEvery: 1 });
  assert.equal(r.stop, 'converged');
  const model: RestartModel = { layout: r.layout, params: r.params, loss: 'cross-entropy', optimizer: sgd, batchSize: 10, tolerance: 1e-3, evalEvery: 1 };
  return { r, model };
})();

test(`measureRestarts (${backend}): a converged model returns from sigma 0 by both criteria; records, endpoints, hooks`, async () => {
  const { r, model } = await trained;
  const before = tf.memory().numTensors;
  const epochs: number[] = [];
  const finished: number[] = [];
  const res = await measureRestarts(tf, data, model, opts(), { onEpoch: (run) => void epochs.push(run), onRestart: (run, total) => void finished.push(run, total) });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.equal(res.model.testAcc, r.metrics.testAcc);
  assert.ok(Math.abs(res.model.paramNorm - (r.metrics.paramNorm as number)) < 1e-9 * res.model.paramNorm);
  assert.deepEqual(res.draws.map((d) => [d.sigma, d.draw]), [[0, 0], [0, 1], [0, 2], [0.3, 0], [0.3, 1], [0.3, 2]]);
  assert.deepEqual(finished, [0, 6, 1, 6, 2, 6, 3, 6, 4, 6, 5, 6]);
  assert.equal(epochs.length, res.draws.reduce((s, d) => s + d.epochs, 0));

  const [zero, big] = res.sigmas;
  // sigma 0: still fits S, so one epoch of plain SGD (a near-zero gradient) and the stop rule holds.
  assert.deepEqual(res.draws.filter((d) => d.sigma === 0).map((d) => [d.stop, d.epochs, d.perturbationNorm, d.start.trainAcc]), [['converged', 1, 0, 1], ['converged', 1, 0, 1], ['converged', 1, 0, 1]]);
  assert.deepEqual([zero?.byDistance.p, zero?.byFunction.p, zero?.pReturn.by], [1, 1, 'function']);
  assert.ok((zero?.distance?.max as number) < 0.01, `distance ${zero?.distance?.max}`);
  assert.equal(zero?.disagreement?.max, 0);
  // Common random numbers: draw j has the same xi at every sigma, so ||sigma xi|| scales with sigma.
  for (let j = 0; j < 3; j++) {
    const d = res.draws[3 + j] as RestartDraw;
    assert.ok(Math.abs(d.perturbationNorm - 0.3 * norm(perturbation(model.layout, model.params, 'gaussian', new Rng(0).derive(`perturbation-${j}`)))) < 1e-9);
    assert.ok(Math.abs(d.relativePerturbation - d.perturbationNorm / res.model.paramNorm) < 1e-12);
  }
  assert.equal(big?.draws, 3);
  // Endpoints: [sigmas, draws, d], row run = s * draws + j; distances are measured from them.
  assert.equal(res.endpoints.length, 6 * model.layout.size);
  const row = res.endpoints.subarray(4 * model.layout.size, 5 * model.layout.size);
  const dist = Math.hypot(...Array.from(row, (v, i) => v - (model.params[i] as number))) / res.model.paramNorm;
  assert.ok(Math.abs(dist - (res.draws[4]?.distance as number)) < 1e-6);
});

test(`measureRestarts (${backend}): same seed, same numbers; another seed or noise, other draws`, async () => {
  const { model } = await trained;
  const o = opts({ sigmas: [0.3], draws: 2, maxEpochs: 20 });
  const a = await measureRestarts(tf, data, model, o);
  const b = await measureRestarts(tf, data, model, o);
  assert.deepEqual(a.draws, b.draws);
  assert.equal(digest(a.endpoints), digest(b.endpoints));
  assert.notEqual(digest((await measureRestarts(tf, data, model, { ...o, seed: 1 })).endpoints), digest(a.endpoints));
  const filter = await measureRestarts(tf, data, model, { ...o, noise: 'filter' });
  assert.notEqual(digest(filter.endpoints), digest(a.endpoints));
  // Filter-normalised: each neuron moved by sigma times its norm, so ||sigma xi|| <= sigma ||theta||.
  assert.ok(filter.draws.every((d) => d.relativePerturbation <= 0.3 + 1e-9));
});

test(`measureRestarts (${backend}): a retraining that diverges is an outcome (not returned, NaN endpoint), not an error`, async () => {
  const { model } = await trained;
  const before = tf.memory().numTensors;
  const mse: RestartModel = { ...model, loss: 'mse', optimizer: { ...sgd, lr: 50 } };
  const res = await measureRestarts(tf, data, mse, opts({ sigmas: [1e3], draws: 1, maxEpochs: 20 }));
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const d = res.draws[0] as RestartDraw;
  assert.deepEqual([d.stop, d.distance, d.testAcc, d.returnedByDistance, d.returnedByFunction], ['diverged', null, null, false, false]);
  assert.ok(d.epochs >= 1 && typeof d.start.trainAcc === 'number');
  assert.ok(res.endpoints.every((v) => Number.isNaN(v)));
  assert.deepEqual(res.sigmas[0]?.stops, { converged: 0, 'max-epochs': 0, diverged: 1 });
  assert.equal(res.sigmas[0]?.testAcc, null);
});

function norm(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}
