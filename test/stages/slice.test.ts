import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tensor1D } from '@tensorflow/tfjs';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { sliceDirections } from '../../src/ml/basin/slice.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet, type SetFit } from '../../src/ml/metrics.js';
import { initParams, mlpLayout, type MlpLayout } from '../../src/ml/mlp.js';
import { Rng } from '../../src/ml/rng.js';
import { loadTf } from '../../src/ml/runtime.js';
import { oneHot } from '../../src/ml/train-loop.js';
import type { Outputs } from '../../src/stages/artifact.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { slice, type SliceParams } from '../../src/stages/slice.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';
import { workspaceWith } from '../engine/rig.js';
import { arrayOf, backend, get, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `slice` stage: schema defaults; 1-D, 2-D and interpolation runs in-process on a real good and
 * bad minimum of one seed (a tanh net fitted to S, and to S plus wrongly labelled attack examples),
 * checked against direct evaluations (evaluateSet); failures; the CLI end to end (models paired by
 * seed through foreach and through a matrix, show, export).
 */
const { paramsOf, context, rejects } = stageRig(['dataset', 'train', 'slice'], 's');

const DEFAULTS: SliceParams = {
  mode: '1d',
  direction: 'filter',
  seed: 0,
  grid: { span: 1, steps: 25 },
  alpha: { from: -0.5, to: 1.5, perUnit: 20 },
  sets: ['train', 'test'],
};

test('schema: every default is filled in; bad values are config errors', () => {
  assert.deepEqual(paramsOf('s', 'slice', '{}'), DEFAULTS);
  assert.deepEqual(paramsOf<SliceParams>('s', 'slice', '{ mode: 2d, grid: { steps: 4 } }').grid, { span: 1, steps: 4 });
  for (const bad of ['{ mode: 3d }', '{ direction: random }', '{ grid: { steps: 0 } }', '{ grid: { span: 0 } }', '{ alpha: { from: 0.2 } }', '{ alpha: { to: 0.5 } }', '{ alpha: { perUnit: 0 } }', '{ sets: [] }', '{ sets: [train, train] }', '{ sets: [valid] }', '{ span: 1 }']) {
    assert.ok(rejects('slice', bad), bad);
  }
});

// ---- in-process, on a good and a bad minimum of one seed ----

const node = (id: string, outputs: Outputs) => [{ nodeId: id as NodeId, outputs }];

const fixture = (async () => {
  const dataParams = paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 8, test: 100, separation: 4, std: 0.8 }');
  const data = (await dataset.run({ ...context<DatasetParams>(dataParams, {}), nodeId: 'data' as NodeId })).outputs;
  const trained = async (attack: number) =>
    (await train.run(context(paramsOf<TrainParams>('train', 'train', `{ model: { hidden: [16], activation: tanh }, optimizer: { name: adam, lr: 0.05 }, batchSize: 48, maxEpochs: 800, attack: ${attack}, seed: 3 }`), { data: node('data', data) }))).outputs;
  const good = await trained(0);
  const bad = await trained(8);
  return { data, good, bad };
})();

/** evaluateSet at a float32 point on S or the test set: the independent check of the surface evaluator. */
async function direct(point: Float32Array, layout: MlpLayout, which: 'train' | 'test'): Promise<SetFit> {
  const { data } = await fixture;
  const tf = await loadTf(backend);
  const x = arrayOf(data[`x_${which}`]).data as Float32Array;
  const labels = arrayOf(data[`y_${which}`]).data as Int32Array;
  const set = uploadEvalSet(tf, x, oneHot(labels, 3), labels, 3, 3);
  const t = tf.tensor1d(point) as Tensor1D;
  try {
    return evaluateSet(tf, layout, t, 'cross-entropy', set);
  } finally {
    t.dispose();
    disposeEvalSet(set);
  }
}
const modelOf = (outputs: Outputs) => ({
  layout: jsonOf(outputs['manifest'])['layout'] as unknown as MlpLayout,
  params: arrayOf(outputs['params']).data as Float32Array,
});
const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1e-3);

test(`1d (${backend}): the centre is L(theta); every point is theta + c u with u filter-normalised per neuron`, async () => {
  const { data, good } = await fixture;
  const progress: Progress[] = [];
  const r = await slice.run(context({ ...DEFAULTS, grid: { span: 1, steps: 5 }, seed: 7 }, { model: node('train', good), data: node('data', data) }, progress));
  const s = jsonOf(r.outputs['surface']);
  const { layout, params } = modelOf(good);
  const coords = arrayOf(r.outputs['coords']).data as Float64Array;
  assert.deepEqual(Array.from(coords), [-1, -0.8, -0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 1]);
  for (const name of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) assert.deepEqual(arrayOf(r.outputs[name]).shape, [11], name);

  // The centre against evaluateSet at theta.
  for (const which of ['train', 'test'] as const) {
    const fit = await direct(params, layout, which);
    assert.ok(close(get(s, `sets.${which}.centre.loss`) as number, fit.loss, 1e-6), `${which}: ${get(s, `sets.${which}.centre.loss`)} vs ${fit.loss}`);
    assert.equal(get(s, `sets.${which}.centre.acc`), fit.acc);
    assert.equal(get(s, `sets.${which}.n`), which === 'train' ? 40 : 100);
  }

  // The direction is the seed's filter-normalised one: per-neuron norms of theta, so ||u|| = ||weights of theta||.
  const [u] = sliceDirections(layout, params, 'filter', 7, 1) as [Float64Array];
  let weightsSq = 0;
  for (const { weight } of layout.layers) for (let i = weight.offset; i < weight.offset + weight.shape[0]! * weight.shape[1]!; i++) weightsSq += params[i]! ** 2;
  assert.ok(close(get(s, 'directions.0.norm') as number, Math.sqrt(weightsSq), 1e-9));
  const loss = arrayOf(r.outputs['train_loss']).data as Float64Array;
  for (const i of [0, 3, 8, 10]) {
    const fit = await direct(Float32Array.from(params, (w, k) => w + coords[i]! * u[k]!), layout, 'train');
    assert.ok(close(loss[i]!, fit.loss, 1e-5), `coordinate ${coords[i]}: ${loss[i]} vs ${fit.loss}`);
  }
  assert.equal(get(s, 'sets.train.loss.min'), Math.min(...loss));
  assert.deepEqual([get(s, 'mode'), get(s, 'direction'), get(s, 'evaluations')], ['1d', 'filter', 22]);
  assert.deepEqual(progress.map((p) => p.fraction), [0.5, 1]);
  assert.match(r.summary ?? '', /^1d filter slice, 11 points: train loss [0-9.e-]+ at centre, [0-9.e-]+\.\.[0-9.e-]+; test loss /);
});

test(`2d (${backend}): an [n, n] grid whose centre column is the 1d slice; sphere directions have unit norm`, async () => {
  const { data, good } = await fixture;
  const inputs = { model: node('train', good), data: node('data', data) };
  const grid = { span: 0.5, steps: 3 };
  const progress: Progress[] = [];
  const plane = await slice.run(context({ ...DEFAULTS, mode: '2d' as const, grid }, inputs, progress));
  const line = await slice.run(context({ ...DEFAULTS, grid }, inputs));
  const n = 7;
  for (const set of ['train', 'test']) {
    const p = arrayOf(plane.outputs[`${set}_loss`]);
    assert.deepEqual(p.shape, [n, n]);
    const l = arrayOf(line.outputs[`${set}_loss`]).data as Float64Array;
    const pa = arrayOf(plane.outputs[`${set}_acc`]).data as Float64Array;
    const la = arrayOf(line.outputs[`${set}_acc`]).data as Float64Array;
    for (let i = 0; i < n; i++) {
      assert.equal((p.data as Float64Array)[i * n + 3], l[i], `${set} row ${i}`);
      assert.equal(pa[i * n + 3], la[i]);
    }
  }
  const s = jsonOf(plane.outputs['surface']);
  assert.equal(get(s, 'sets.train.centre.loss'), get(jsonOf(line.outputs['surface']), 'sets.train.centre.loss'));
  assert.deepEqual(get(s, 'grid'), { span: 0.5, steps: 3, points: 7, shape: [7, 7] });
  const cosine = get(s, 'cosine') as number;
  assert.ok(Math.abs(cosine) < 0.9, `two independent directions: cosine ${cosine}`);
  assert.equal(progress.length, 2 * n, 'progress per row and set');
  const argmin = get(s, 'sets.train.loss.argmin') as number[];
  assert.equal(argmin.length, 2);

  const sphere = jsonOf((await slice.run(context({ ...DEFAULTS, mode: '2d' as const, direction: 'sphere' as const, grid, sets: ['train' as const] }, inputs))).outputs['surface']);
  for (const k of [0, 1]) assert.ok(Math.abs((get(sphere, `directions.${k}.norm`) as number) - 1) < 1e-12);
  assert.equal(get(sphere, 'sets.test'), undefined);
});

test(`interpolate (${backend}): the endpoints are each model's own loss; a barrier between the good and the bad minimum`, async (t) => {
  const { data, good, bad } = await fixture;
  const r = await slice.run(context({ ...DEFAULTS, mode: 'interpolate' as const }, { model: node('good', good), other: node('bad', bad), data: node('data', data) }));
  const s = jsonOf(r.outputs['surface']);
  const alphas = arrayOf(r.outputs['alphas']).data as Float64Array;
  assert.equal(alphas.length, 41);
  assert.deepEqual(arrayOf(r.outputs['train_loss']).shape, [41]);
  assert.equal(r.outputs['coords'], undefined);
  const a = modelOf(good);
  const b = modelOf(bad);
  for (const which of ['train', 'test'] as const) {
    const [fa, fb] = [await direct(a.params, a.layout, which), await direct(b.params, b.layout, which)];
    assert.ok(close(get(s, `sets.${which}.endpoints.a.loss`) as number, fa.loss, 1e-5), `${which} a: ${get(s, `sets.${which}.endpoints.a.loss`)} vs ${fa.loss}`);
    assert.ok(close(get(s, `sets.${which}.endpoints.b.loss`) as number, fb.loss, 1e-5), `${which} b: ${get(s, `sets.${which}.endpoints.b.loss`)} vs ${fb.loss}`);
    assert.equal(get(s, `sets.${which}.endpoints.a.acc`), fa.acc);
    assert.equal(get(s, `sets.${which}.endpoints.b.acc`), fb.acc);
  }
  const barrier = get(s, 'sets.train.barrier') as number;
  const peak = get(s, 'sets.train.peak') as { alpha: number; loss: number };
  t.diagnostic(`train: L(a) ${(get(s, 'sets.train.endpoints.a.loss') as number).toPrecision(4)}, L(b) ${(get(s, 'sets.train.endpoints.b.loss') as number).toPrecision(4)}, peak ${peak.loss.toPrecision(4)} at alpha ${peak.alpha}, barrier ${barrier.toPrecision(4)}`);
  assert.ok(barrier > 0 && peak.alpha > 0 && peak.alpha < 1, `a barrier strictly between the models: ${barrier} at ${peak.alpha}`);
  const worst = get(s, 'sets.test.worstAcc') as { alpha: number; acc: number };
  assert.ok(worst.alpha >= 0 && worst.alpha <= 1 && worst.acc <= (get(s, 'sets.test.endpoints.a.acc') as number));
  const norm = Math.sqrt(a.params.reduce((acc, w, i) => acc + (b.params[i]! - w) ** 2, 0));
  assert.ok(close(get(s, 'distance') as number, norm, 1e-9));
  assert.deepEqual([get(s, 'model.node'), get(s, 'other.node')], ['good', 'bad']);
  assert.match(r.summary ?? '', /^train: barrier [0-9.e-]+ at alpha [0-9.]+, acc 100\.0% -> min [0-9.]+% at alpha [0-9.]+ -> [0-9.]+%; test: barrier /);
});

test(`failures name the remedy; an abort stops between rows`, async () => {
  const { data, good, bad } = await fixture;
  const D = node('data', data);
  const fails = async (p: SliceParams, inputs: StageContext['inputs'], pattern: RegExp) =>
    assert.rejects(slice.run(context(p, inputs)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  const interpolate = { ...DEFAULTS, mode: 'interpolate' as const };
  await fails(interpolate, { model: node('good', good), data: D }, /^mode: interpolate needs a second model as input `other`: write `inputs: \{ model: /);
  await fails(DEFAULTS, { model: node('good', good), other: node('bad', bad), data: D }, /^input `other` is only read by mode: interpolate, and this slice has mode: 1d: remove `inputs.other`/);
  await fails(DEFAULTS, { data: D }, /^slice needs exactly one train node as input `model`/);
  await fails(interpolate, { model: node('good', good), other: [...node('bad', bad), ...node('bad2', bad)], data: D }, /^slice needs exactly one train node as input `other` \(found 2 nodes under other\)/);

  // Another architecture, another loss.
  const layout = mlpLayout({ inputs: 3, hidden: [5], outputs: 3, activation: 'tanh', init: 'he' });
  const manifest = jsonOf(good['manifest']);
  const small = { ...good, manifest: { type: 'json' as const, value: { ...manifest, layout: layout as unknown as JsonValue } }, params: { type: 'array' as const, dtype: 'float32' as const, shape: [layout.size], data: initParams(layout, new Rng(0)) } };
  await fails(interpolate, { model: node('good', good), other: node('small', small), data: D }, /^the models differ in architecture: model \(good\) is 3-16-3 tanh, other \(small\) is 3-5-3 tanh: interpolation needs two models of one layout/);
  const mse = { ...bad, manifest: { type: 'json' as const, value: { ...jsonOf(bad['manifest']), loss: 'mse' } } };
  await fails(interpolate, { model: node('good', good), other: node('mse', mse), data: D }, /^the models were trained on different losses: model \(good\) on cross-entropy, other \(mse\) on mse/);

  // Sets the model or dataset cannot provide.
  await fails({ ...DEFAULTS, sets: ['attack'] }, { model: node('good', good), data: D }, /^set attack is empty \(good was trained on no attack examples\): drop attack from the sets/);
  const { attack: _dropped, ...oldManifest } = manifest;
  await fails({ ...DEFAULTS, sets: ['train+attack'] }, { model: node('old', { ...good, manifest: { type: 'json', value: oldManifest } }), data: D }, /^set train\+attack needs to know how many attack examples old was trained on/);
  const nan = Float32Array.from(arrayOf(good['params']).data as Float32Array);
  nan[5] = Number.NaN;
  await fails(DEFAULTS, { model: node('good', { ...good, params: { type: 'array', dtype: 'float32', shape: [nan.length], data: nan } }), data: D }, /non-finite parameter \(NaN at index 5\): its training diverged/);

  // The attack set of the bad model: its 8 wrong labels, fitted (accuracy at the centre 100% on the labels it was trained on).
  const withAttack = jsonOf((await slice.run(context({ ...DEFAULTS, grid: { span: 1, steps: 1 }, sets: ['attack', 'train+attack'] }, { model: node('bad', bad), data: D }))).outputs['surface']);
  assert.deepEqual([get(withAttack, 'sets.attack.n'), get(withAttack, 'sets.train+attack.n')], [8, 48]);
  assert.equal(get(withAttack, 'sets.attack.centre.acc'), get(jsonOf(bad['metrics']), 'attackAcc'));

  const controller = new AbortController();
  const progress: Progress[] = [];
  const running = slice.run({ ...context({ ...DEFAULTS, mode: '2d' as const, grid: { span: 1, steps: 3 } }, { model: node('good', good), data: D }, progress, controller.signal), progress: (p) => (progress.push(p), progress.length === 2 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 2);
});

// ---- the real CLI ----

const trainWith = (attack: number) =>
  `{ model: { hidden: [8], activation: tanh }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 60, attack: ${attack}, seed: "\${matrix.seed}" }`;
const pipeline = `version: 1
name: slices
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 8, test: 30, separation: 4, std: 0.8 } }
  good: { kind: train, matrix: { seed: [0, 1] }, inputs: { data: data }, with: ${trainWith(0)} }
  bad: { kind: train, matrix: { seed: [0, 1] }, inputs: { data: data }, with: ${trainWith(8)} }
  path:
    kind: slice
    foreach: good
    inputs: { model: good, other: bad, data: data }
    with: { mode: interpolate, alpha: { perUnit: 10 } }
  again:
    kind: slice
    matrix: { seed: [1] }
    inputs: { model: good, other: bad, data: data }
    with: { mode: interpolate, alpha: { perUnit: 10 } }
  plane:
    kind: slice
    foreach: good
    inputs: { model: good, data: data }
    with: { mode: 2d, grid: { steps: 3 }, sets: [train] }
`;

test('CLI: pairs models by seed (foreach or matrix); show prints the surface; export writes the grids as .npy', async () => {
  const ws = workspaceWith(pipeline);
  const run = await ws.basin('run');
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /done\s+path\[seed=0\]\s+\S+\s+train: barrier [0-9.e-]+ at alpha/);
  assert.match(run.stdout, /done\s+plane\[seed=1\]\s+\S+\s+2d filter slice, 7x7 points: train loss/);

  const shown = await ws.basin('show', 'path[seed=1]');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}results {3}\(output surface\)$/m);
  assert.match(shown.stdout, /^ {4}mode: "interpolate"$/m);
  assert.match(shown.stdout, /^ {4}other\.node: "bad\[seed=1\]"$/m);
  assert.match(shown.stdout, /^ {4}sets\.train\.barrier: [0-9.e-]+$/m);
  assert.match(shown.stdout, /^ {4}sets\.test\.worstAcc\.acc: [0-9.]+$/m);

  const dir = (name: string) => join(ws.dir, name);
  for (const [id, out] of [['path[seed=1]', 'a'], ['again[seed=1]', 'b'], ['plane[seed=0]', 'c']] as const) {
    const exported = await ws.basin('export', id, '--out', dir(out));
    assert.equal(exported.code, 0, exported.stderr);
  }
  const header = (file: string) => readFileSync(file).toString('latin1', 0, 100);
  assert.match(header(join(dir('a'), 'alphas.npy')), /'descr': '<f8'.*'shape': \(21,\)/);
  assert.match(header(join(dir('a'), 'test_acc.npy')), /'shape': \(21,\)/);
  assert.match(header(join(dir('c'), 'train_loss.npy')), /'shape': \(7, 7\)/);
  // A matrix over the same seed binds the same two models: the same numbers.
  assert.deepEqual(readFileSync(join(dir('a'), 'train_loss.npy')), readFileSync(join(dir('b'), 'train_loss.npy')));
  const surface = JSON.parse(readFileSync(join(dir('c'), 'surface.json'), 'utf8')) as { mode: string; grid: { shape: number[] } };
  assert.deepEqual([surface.mode, surface.grid.shape], ['2d', [7, 7]]);
});
