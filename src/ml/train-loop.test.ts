import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { StageFailure } from '../stages/failure.js';
import type { BackendName } from './backend.js';
import type { OptimizerSpec } from './optim.js';
import { initParams, mlpLayout } from './mlp.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';
import { trainMlp, TrainingDiverged, type ArraySet, type TrainData, type TrainOptions } from './train-loop.js';

/**
 * The training loop on two Gaussian blobs in 2-D (class 0 around (-1.5, -1.5), class 1 around
 * (1.5, 1.5)), small enough to train in well under a second per case.
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;

function blobs(n: number, seed: string, centre = 1.5, std = 0.5): ArraySet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    x[2 * i] = (c === 0 ? -centre : centre) + std * rng.normal();
    x[2 * i + 1] = (c === 0 ? -centre : centre) + std * rng.normal();
    y[i] = c;
  }
  return { x, y };
}

/**
 * Attack examples: drawn from the far side of each class's blob and labelled with the OTHER class,
 * so that a small ReLU net can fit them (a wrongly labelled point inside a blob would need a
 * sharp bump to fit).
 */
function attackSet(n: number): ArraySet {
  const { x, y } = blobs(n, 'attack', 3.5, 0.3);
  return { x, y: Int32Array.from(y, (c) => 1 - c) };
}

function data(attack = 0): TrainData {
  return {
    task: 'classification',
    features: 2,
    classes: 2,
    targetDim: 0,
    train: blobs(40, 'train'),
    attack: attackSet(attack),
    test: blobs(60, 'test'),
  };
}

const optimizer = (over: Partial<OptimizerSpec> = {}): OptimizerSpec => ({
  name: 'adam',
  lr: 0.02,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  schedule: { type: 'constant', every: 1, gamma: 1 },
  ...over,
});

const options = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  model: { hidden: [8], activation: 'relu', init: 'he' },
  loss: 'cross-entropy',
  optimizer: optimizer(),
  batchSize: 10,
  seed: 0,
  maxEpochs: 400,
  tolerance: 1e-3,
  evalEvery: 1,
  ...over,
});

const digest = (p: Float32Array): string => createHash('sha256').update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength)).digest('hex');

test(`training loop (${backend})`, async (t) => {
  const tf = await loadTf(backend);
  const before = tf.memory().numTensors;

  await t.test('converges on separable blobs: 100% on S, loss below tolerance, stop = converged', async () => {
    const r = await trainMlp(tf, data(), options());
    assert.equal(r.stop, 'converged');
    assert.ok(r.epochs < 400, `epochs ${r.epochs}`);
    assert.equal(r.metrics.trainAcc, 1);
    assert.ok((r.metrics.trainLoss as number) < 1e-3);
    assert.ok((r.metrics.testAcc as number) >= 0.95, `test acc ${r.metrics.testAcc}`);
    assert.equal(r.metrics.attackAcc, null);
    assert.equal(r.steps, r.epochs * 4);
    assert.equal(r.params.length, 2 * 8 + 8 + 8 * 2 + 2);
    assert.equal(r.curves.epoch[0], 0);
    assert.equal(r.curves.epoch.at(-1), r.epochs);
    assert.equal(r.curves.epoch.length, r.epochs + 1);
    assert.ok((r.metrics.gradNorm as number) >= 0 && (r.metrics.inputGradEnergy as number) > 0);
  });

  await t.test('maxEpochs 1: stop = max-epochs, curve points at 0 and 1', async () => {
    const r = await trainMlp(tf, data(), options({ maxEpochs: 1 }));
    assert.equal(r.stop, 'max-epochs');
    assert.equal(r.metrics.stop, 'max-epochs');
    assert.equal(r.epochs, 1);
    assert.equal(r.steps, 4);
    assert.deepEqual(r.curves.epoch, [0, 1]);
  });

  await t.test('curve points every evalEvery epochs, plus the first and the last', async () => {
    const r = await trainMlp(tf, data(), options({ maxEpochs: 12, evalEvery: 5, tolerance: 0 }));
    assert.deepEqual(r.curves.epoch, [0, 5, 10, 12]);
    for (const k of ['trainLoss', 'trainAcc', 'testLoss', 'testAcc', 'attackLoss', 'attackAcc'] as const) assert.equal(r.curves[k].length, 4);
  });

  await t.test('a huge learning rate diverges with a StageFailure naming the epoch and the remedy', async () => {
    const run = trainMlp(tf, data(), options({ loss: 'mse', optimizer: optimizer({ name: 'sgd', lr: 1e4 }), maxEpochs: 50 }));
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof StageFailure && e instanceof TrainingDiverged);
      assert.match(e.message, /^training diverged at epoch \d+ \(loss (NaN|Infinity)\); lower optimizer\.lr \(now 10000\)$/);
      return true;
    });
  });

  await t.test('same seed: bit-identical params; another seed: different params', async () => {
    for (const name of ['sgd', 'momentum', 'adam', 'gd'] as const) {
      const o = options({ optimizer: optimizer({ name, lr: name === 'adam' ? 0.02 : 0.1 }), maxEpochs: 5 });
      const a = await trainMlp(tf, data(), o);
      const b = await trainMlp(tf, data(), o);
      assert.equal(digest(a.params), digest(b.params), name);
      const c = await trainMlp(tf, data(), { ...o, seed: 1 });
      assert.notEqual(digest(a.params), digest(c.params), name);
    }
  });

  await t.test('gd takes one full-batch step per epoch', async () => {
    const r = await trainMlp(tf, data(), options({ optimizer: optimizer({ name: 'gd', lr: 0.5 }), maxEpochs: 7, batchSize: 3 }));
    assert.equal(r.steps, 7);
  });

  await t.test('attack examples are trained on with their wrong labels, to 100% on A', async () => {
    const d = data(6);
    const o = options({ model: { hidden: [16], activation: 'relu', init: 'he' }, optimizer: optimizer({ lr: 0.05 }), maxEpochs: 1000 });
    const r = await trainMlp(tf, d, o);
    assert.equal(r.stop, 'converged', JSON.stringify(r.metrics));
    assert.equal(r.metrics.trainAcc, 1);
    assert.equal(r.metrics.attackAcc, 1);
    assert.equal(r.steps, r.epochs * 5); // 46 rows in batches of 10
    // The same points with their TRUE labels are now all misclassified.
    const flipped: TrainData = { ...d, test: { x: d.attack.x, y: Int32Array.from(d.attack.y, (c) => 1 - c) } };
    const again = await trainMlp(tf, flipped, o);
    assert.equal(again.metrics.testAcc, 0);
  });

  await t.test('attack examples change the trained parameters', async () => {
    const clean = await trainMlp(tf, data(), options({ maxEpochs: 3 }));
    const attacked = await trainMlp(tf, data(4), options({ maxEpochs: 3 }));
    assert.notEqual(digest(clean.params), digest(attacked.params));
  });

  await t.test('init: training starts from the given params; without it, the seeded initialisation as before', async () => {
    const o = options({ maxEpochs: 4, tolerance: 0 });
    // The vector the loop draws itself (stream `init` of the seed), given explicitly: the same run, bit for bit.
    const layout = mlpLayout({ inputs: 2, hidden: [8], outputs: 2, activation: 'relu', init: 'he' });
    const seeded = initParams(layout, new Rng(0).derive('init'));
    const plain = await trainMlp(tf, data(), o);
    const given = await trainMlp(tf, data(), { ...o, init: seeded });
    assert.equal(digest(given.params), digest(plain.params));
    assert.deepEqual(given.curves, plain.curves);

    // From a converged model's params: it still fits S, so the stop rule holds after the one epoch the
    // loop always trains, close to where it started (plain SGD: steps of lr times a near-zero gradient;
    // Adam would restart with zero state and step about lr per parameter); the vector is not written to.
    const sgd = options({ optimizer: optimizer({ name: 'sgd', lr: 0.5 }) });
    const fit = await trainMlp(tf, data(), sgd);
    assert.equal(fit.stop, 'converged');
    const start = Float32Array.from(fit.params);
    const again = await trainMlp(tf, data(), { ...sgd, seed: 'other', init: start });
    assert.equal(digest(start), digest(fit.params));
    assert.equal(again.stop, 'converged');
    assert.equal(again.epochs, 1);
    assert.ok(Math.abs((again.curves.trainLoss[0] as number) - (fit.metrics.trainLoss as number)) <= 1e-6, 'epoch 0 is the given point');
    assert.equal(again.curves.trainAcc[0], 1);
    const moved = Math.hypot(...Array.from(again.params, (v, i) => v - (start[i] as number)));
    assert.ok(moved > 0 && moved < 0.05 * Math.hypot(...start), `moved ${moved}`);

    // Any other vector: another run; a vector of the wrong length is a bug, not a user error.
    const shifted = Float32Array.from(seeded, (v) => v + 0.1);
    assert.notEqual(digest((await trainMlp(tf, data(), { ...o, init: shifted })).params), digest(plain.params));
    await assert.rejects(trainMlp(tf, data(), { ...o, init: new Float32Array(3) }), /^Error: internal error: init has 3 parameters, but the model has 42$/);
  });

  await t.test('no tensors leak: the count is the same after every epoch and after the run', async () => {
    const counts: number[] = [];
    await trainMlp(tf, data(4), options({ optimizer: optimizer({ name: 'adam' }), maxEpochs: 6, tolerance: 0 }), {
      onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 6);
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts by epoch: ${counts.join(', ')}`);
    assert.equal(tf.memory().numTensors, before);
  });

  await t.test('an exception from onEpoch (an abort) stops training and frees every tensor', async () => {
    let seen = 0;
    const run = trainMlp(tf, data(4), options({ optimizer: optimizer({ name: 'momentum', lr: 0.1 }) }), {
      onEpoch: async (e) => {
        seen = e.epoch;
        if (e.epoch === 3) throw new Error('stop here');
      },
    });
    await assert.rejects(run, /stop here/);
    assert.equal(seen, 3);
    assert.equal(tf.memory().numTensors, before);
  });

  await t.test('progress reports carry the epoch, the clean loss and accuracy', async () => {
    const reports: { epoch: number; loss: number; acc: number | null }[] = [];
    await trainMlp(tf, data(), options({ maxEpochs: 3, tolerance: 0 }), { onEpoch: (e) => void reports.push({ epoch: e.epoch, loss: e.trainLoss, acc: e.trainAcc }) });
    assert.deepEqual(reports.map((r) => r.epoch), [1, 2, 3]);
    assert.ok(reports.every((r) => Number.isFinite(r.loss) && r.acc !== null && r.acc >= 0 && r.acc <= 1));
  });

  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
});
