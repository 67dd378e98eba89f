import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tensor1D } from '@tensorflow/tfjs';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet } from '../../src/ml/metrics.js';
import type { MlpLayout } from '../../src/ml/mlp.js';
import { loadTf } from '../../src/ml/runtime.js';
import { oneHot } from '../../src/ml/train-loop.js';
import type { Outputs } from '../../src/stages/artifact.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { sharpness, type SharpnessParams } from '../../src/stages/sharpness.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import { workspaceWith } from '../engine/rig.js';
import { arrayOf, backend, get, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `sharpness` stage: schema defaults; in-process on a good and a bad minimum of one seed (the
 * bad one, fitted to wrongly labelled attack examples too, is the sharper); failures; the CLI end
 * to end. The algorithms themselves are checked against exact answers in
 * src/ml/basin/sharpness.test.ts (brute force over box vertices, tr(H) / 2 of a quadratic).
 */
const { paramsOf, context, rejects } = stageRig(['dataset', 'train', 'sharpness'], 's');

const DEFAULTS: SharpnessParams = {
  set: 'train',
  eps: [1e-3, 5e-4],
  steps: 20,
  stepFraction: 0.25,
  halvings: 4,
  restarts: 0,
  sigma: 0.01,
  draws: 100,
  antithetic: false,
  seed: 0,
};

test('schema: every default is filled in; bad values are config errors', () => {
  assert.deepEqual(paramsOf('s', 'sharpness', '{}'), DEFAULTS);
  assert.deepEqual(paramsOf<SharpnessParams>('s', 'sharpness', '{ eps: [], draws: 0 }').eps, []);
  for (const bad of ['{ eps: [0] }', '{ eps: 0.001 }', '{ steps: 0 }', '{ stepFraction: 0 }', '{ stepFraction: 1.5 }', '{ halvings: 0 }', '{ restarts: -1 }', '{ sigma: 0 }', '{ draws: 1 }', '{ set: valid }', '{ antithetic: 1 }']) {
    assert.ok(rejects('sharpness', bad), bad);
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

test(`in-process (${backend}): the bad minimum is sharper than the good one; L(theta) is evaluateSet's; every field reported`, async (t) => {
  const { data, good, bad } = await fixture;
  const D = node('data', data);
  const progress: Progress[] = [];
  const rGood = await sharpness.run(context(DEFAULTS, { model: node('good', good), data: D }, progress));
  const rBad = await sharpness.run(context(DEFAULTS, { model: node('bad', bad), data: D }));
  const [g, b] = [jsonOf(rGood.outputs['sharpness']), jsonOf(rBad.outputs['sharpness'])];
  for (const k of [0, 1]) {
    const [sg, sb] = [get(g, `eps.${k}.sharpness`) as number, get(b, `eps.${k}.sharpness`) as number];
    t.diagnostic(`eps ${get(g, `eps.${k}.eps`)}: good ${sg.toPrecision(4)} (${get(g, `eps.${k}.steps`)} steps, ${get(g, `eps.${k}.stop`)}), bad ${sb.toPrecision(4)} (${get(b, `eps.${k}.steps`)} steps, ${get(b, `eps.${k}.stop`)})`);
    assert.ok(sb > 2 * sg && sg > 0, `eps ${get(g, `eps.${k}.eps`)}: bad ${sb} vs good ${sg}`);
  }
  t.diagnostic(`flatness: good ${(get(g, 'flatness.value') as number).toPrecision(4)} +- ${(get(g, 'flatness.stdErr') as number).toPrecision(3)}, bad ${(get(b, 'flatness.value') as number).toPrecision(4)} +- ${(get(b, 'flatness.stdErr') as number).toPrecision(3)}`);

  // L(theta) on S against evaluateSet; the sharpness is Keskar's formula of the numbers reported.
  const tf = await loadTf(backend);
  const labels = arrayOf(data['y_train']).data as Int32Array;
  const set = uploadEvalSet(tf, arrayOf(data['x_train']).data as Float32Array, oneHot(labels, 3), labels, 3, 3);
  const theta = tf.tensor1d(arrayOf(good['params']).data as Float32Array) as Tensor1D;
  const fit = evaluateSet(tf, jsonOf(good['manifest'])['layout'] as unknown as MlpLayout, theta, 'cross-entropy', set);
  theta.dispose();
  disposeEvalSet(set);
  const loss = get(g, 'loss') as number;
  assert.ok(Math.abs(loss - fit.loss) <= 1e-6 * fit.loss, `${loss} vs ${fit.loss}`);
  assert.equal(get(g, 'acc'), fit.acc);
  const e0 = get(g, 'eps.0') as unknown as { sharpness: number; maxLoss: number; increase: number; steps: number; trajectory: number[]; reachedBoundary: boolean; boundaryFraction: number };
  assert.ok(Math.abs(e0.sharpness - (100 * (e0.maxLoss - loss)) / (1 + loss)) <= 1e-12 * e0.sharpness);
  assert.equal(e0.increase, e0.maxLoss - loss);
  assert.equal(e0.trajectory.length, e0.steps);
  assert.equal(e0.trajectory.at(-1), e0.maxLoss);
  assert.equal(e0.reachedBoundary, e0.boundaryFraction > 0);
  assert.deepEqual([get(g, 'set'), get(g, 'model.parameters'), get(g, 'ascent.rule')], [{ name: 'train', n: 40 }, 3 * 16 + 16 + 16 * 3 + 3, 'projected sign-gradient']);

  // Arrays: the trajectories [eps, steps] (NaN after the stop) and the flatness draws.
  const traj = arrayOf(rGood.outputs['trajectories']);
  assert.deepEqual(traj.shape, [2, 20]);
  const row0 = Array.from((traj.data as Float64Array).subarray(0, 20));
  assert.deepEqual(row0.slice(0, e0.steps), e0.trajectory);
  assert.ok(row0.slice(e0.steps).every((v) => Number.isNaN(v)));
  const inc = arrayOf(rGood.outputs['increases']).data as Float64Array;
  assert.equal(inc.length, 100);
  assert.ok(Math.abs(inc.reduce((a, v) => a + v, 0) / 100 / 1e-4 - (get(g, 'flatness.value') as number)) <= 1e-9 * Math.abs(get(g, 'flatness.value') as number));

  assert.ok(progress.length > 0 && progress.every((p, i) => i === 0 || p.fraction! >= progress[i - 1]!.fraction!));
  assert.ok(progress.some((p) => p.message?.startsWith('ascent eps 0.001: ')) && progress.at(-1)!.message!.startsWith('flatness: '));
  assert.match(rGood.summary ?? '', /^eps-sharpness [0-9.e-]+ \(eps 0.001, \d+ steps, (stationary|no-improvement|steps)\), [0-9.e-]+ \(eps 0.0005, .*\); flatness [0-9.e-]+ \+- [0-9.e-]+ \(sigma 0.01, 100 draws\); loss [0-9.e-]+ on train$/);
});

test(`in-process (${backend}): other sets, antithetic draws, restarts; failures name the remedy; an abort stops`, async () => {
  const { data, good, bad } = await fixture;
  const D = node('data', data);
  const lean = { ...DEFAULTS, eps: [1e-3], draws: 20 };
  const both = jsonOf((await sharpness.run(context({ ...lean, set: 'train+attack' as const, restarts: 1, antithetic: true }, { model: node('bad', bad), data: D }))).outputs['sharpness']);
  assert.deepEqual(get(both, 'set'), { name: 'train+attack', n: 48 });
  assert.deepEqual([get(both, 'flatness.antithetic'), get(both, 'ascent.restarts')], [true, 1]);
  assert.ok((get(both, 'eps.0.totalSteps') as number) >= (get(both, 'eps.0.steps') as number));
  const onlyFlat = await sharpness.run(context({ ...lean, eps: [] }, { model: node('good', good), data: D }));
  assert.equal(onlyFlat.outputs['trajectories'], undefined);
  assert.match(onlyFlat.summary ?? '', /^flatness [0-9.e-]+ \+- [0-9.e-]+ \(sigma 0.01, 20 draws\); loss/);

  const fails = async (p: SharpnessParams, inputs: StageContext['inputs'], pattern: RegExp) =>
    assert.rejects(sharpness.run(context(p, inputs)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  await fails({ ...lean, eps: [], draws: 0 }, { model: node('good', good), data: D }, /^nothing to measure: eps is empty and draws is 0/);
  await fails(lean, { data: D }, /^sharpness needs exactly one train node as input `model`/);
  await fails(lean, { model: node('good', good) }, /^sharpness needs exactly one dataset node as input `data`/);
  await fails({ ...lean, set: 'attack' }, { model: node('good', good), data: D }, /^set attack is empty \(good was trained on no attack examples\)/);
  const other = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 4, classes: 3, train: 20, attack: 0, test: 10 }'), {}), nodeId: 'other' as NodeId })).outputs;
  await fails(lean, { model: node('good', good), data: node('other', other) }, /^the model \(good\) takes 3 inputs but other has 4 features: point `inputs.data` at the dataset the model was trained on$/);

  const controller = new AbortController();
  const progress: Progress[] = [];
  const running = sharpness.run({ ...context(lean, { model: node('good', good), data: D }, progress, controller.signal), progress: (p) => (progress.push(p), progress.length === 2 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 2);
});

// ---- the real CLI ----

const pipeline = `version: 1
name: sharp
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 8, test: 30, separation: 4, std: 0.8 } }
  train:
    kind: train
    matrix: { attack: [0, 8] }
    inputs: { data: data }
    with: { model: { hidden: [8], activation: tanh }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 60, attack: "\${matrix.attack}", seed: 1 }
  sharpness:
    kind: sharpness
    foreach: train
    inputs: { model: train, data: data }
    with: { draws: 30 }
`;

test('CLI: a sharpness node per trained model; show prints the results; export writes them', async () => {
  const ws = workspaceWith(pipeline);
  const run = await ws.basin('run');
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /done\s+sharpness\[attack=8\]\s+\S+\s+eps-sharpness [0-9.e-]+ \(eps 0.001, /);

  const shown = await ws.basin('show', 'sharpness[attack=0]');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}summary {3}eps-sharpness /m);
  assert.match(shown.stdout, /^ {2}results {3}\(output sharpness\)$/m);
  assert.match(shown.stdout, /^ {4}eps\[0\]\.sharpness: [0-9.e-]+$/m);
  assert.match(shown.stdout, /^ {4}eps\[1\]\.eps: 0\.0005$/m);
  assert.match(shown.stdout, /^ {4}flatness\.stdErr: [0-9.e-]+$/m);

  const out = join(ws.dir, 'out');
  const exported = await ws.basin('export', 'sharpness[attack=0]', '--out', out);
  assert.equal(exported.code, 0, exported.stderr);
  const record = JSON.parse(readFileSync(join(out, 'sharpness.json'), 'utf8')) as { eps: { eps: number; steps: number }[]; flatness: { draws: number } };
  assert.deepEqual([record.eps.map((e) => e.eps), record.flatness.draws], [[1e-3, 5e-4], 30]);
  assert.match(readFileSync(join(out, 'trajectories.npy')).toString('latin1', 0, 100), /'descr': '<f8'.*'shape': \(2, 20\)/);
  assert.match(readFileSync(join(out, 'increases.npy')).toString('latin1', 0, 100), /'shape': \(30,\)/);
});
