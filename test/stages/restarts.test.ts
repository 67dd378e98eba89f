import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { SigmaSummary } from '../../src/ml/basin/restarts.js';
import type { Artifact, Outputs } from '../../src/stages/artifact.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { restarts, type RestartsParams } from '../../src/stages/restarts.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';
import { workspaceWith } from '../engine/rig.js';
import { arrayOf, backend, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `restarts` stage: schema defaults; the stage in-process on real trained models (a good one,
 * trained on S, and a bad one, trained on S plus 30 wrongly labelled examples): both return from
 * sigma 0, and at sigma 0.2 the good one returns while the bad one is escaped to a better-generalising
 * solution (claim 2); same seed, same results; regression; failures; abort; and the CLI end to end.
 *
 * The fixture: 16-D Gaussian blobs of 3 classes, 60 examples in S, 30 attack examples, 300 test
 * examples, a 16-unit ReLU net trained with momentum. Measured over data and model seeds 0-3 (cpu,
 * wasm identical): good models disagree with themselves after restarts from sigma 0.2 on at most 8.3%
 * of the test set, bad ones on at least 14.3% (disagreementTol 0.1 sits between), and the bad ones
 * reach test accuracy 70-86% against their own 61-66%, although their relative perturbation
 * ||sigma xi|| / ||theta|| is smaller (0.30 vs 0.47: their weights are larger).
 */
const { paramsOf, context, rejects } = stageRig(['dataset', 'train', 'restarts'], 'r');

const DEFAULTS: RestartsParams = {
  sigmas: [0, 0.001, 0.003, 0.01, 0.03, 0.1],
  draws: 4,
  noise: 'gaussian',
  maxEpochs: null,
  returnBy: 'function',
  distanceTol: 0.05,
  disagreementTol: 0.05,
  seed: 0,
};

test('schema: every default is filled in; bad values are config errors', () => {
  assert.deepEqual(paramsOf('r', 'restarts', '{}'), DEFAULTS);
  assert.deepEqual(paramsOf('r', 'restarts', '{ sigmas: [0.5], maxEpochs: 20, noise: filter, returnBy: distance, seed: s }'), {
    ...DEFAULTS,
    sigmas: [0.5],
    maxEpochs: 20,
    noise: 'filter',
    returnBy: 'distance',
    seed: 's',
  });
  for (const bad of ['{ sigmas: [] }', '{ sigmas: [-0.1] }', '{ sigmas: [0.1, 0.1] }', '{ draws: 0 }', '{ noise: uniform }', '{ maxEpochs: 0 }', '{ returnBy: accuracy }', '{ distanceTol: 0 }', '{ disagreementTol: -1 }', '{ sigma: [1] }']) {
    assert.ok(rejects('restarts', bad), bad);
  }
});

// ---- in-process, on real trained models ----

const digest = (a: Artifact | undefined) => {
  const d = arrayOf(a).data;
  return createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');
};

const DATA = '{ source: gaussian-mixture, dims: 16, classes: 3, train: 60, attack: 30, test: 300, separation: 4, std: 1 }';
const TRAIN = (attack: number) => `{ model: { hidden: [16] }, optimizer: { name: momentum, lr: 0.05 }, batchSize: 10, maxEpochs: 300, attack: ${attack} }`;

const fixture = (async () => {
  const data = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', DATA), {}), nodeId: 'data' as NodeId })).outputs;
  const dataIn = [{ nodeId: 'data' as NodeId, outputs: data }];
  const model = async (attack: number) => (await train.run(context(paramsOf<TrainParams>('train', 'train', TRAIN(attack)), { data: dataIn }))).outputs;
  const [good, bad] = [await model(0), await model(30)];
  const inputs = (m: Outputs, id: string): StageContext['inputs'] => ({ model: [{ nodeId: id as NodeId, outputs: m }], data: dataIn });
  return { data, good, bad, goodIn: inputs(good, 'good'), badIn: inputs(bad, 'bad') };
})();

const CLAIM: RestartsParams = { ...DEFAULTS, sigmas: [0, 0.2], disagreementTol: 0.1 };
const sigmasOf = (r: { outputs: Outputs }) => jsonOf(r.outputs['restarts'])['sigmas'] as unknown as SigmaSummary[];

test(`in-process (${backend}): both minima return from sigma 0; at sigma 0.2 the good one returns and the bad one is escaped to higher test accuracy (claim 2)`, async (t) => {
  const { good, bad, goodIn, badIn } = await fixture;
  const goodFit = jsonOf(good['metrics']);
  const badFit = jsonOf(bad['metrics']);
  // The fixture is what it should be: both converged (100% on S, and on A for the bad one), the bad one generalising worse.
  assert.deepEqual([goodFit['stop'], badFit['stop'], badFit['attackAcc']], ['converged', 'converged', 1]);
  assert.ok((badFit['testAcc'] as number) < (goodFit['testAcc'] as number) - 0.15, `test acc good ${goodFit['testAcc']}, bad ${badFit['testAcc']}`);

  const progress: Progress[] = [];
  const g = await restarts.run(context(CLAIM, goodIn, progress));
  const b = await restarts.run(context(CLAIM, badIn));
  const [g0, g2] = sigmasOf(g) as [SigmaSummary, SigmaSummary];
  const [b0, b2] = sigmasOf(b) as [SigmaSummary, SigmaSummary];
  for (const s of [g0, g2, b0, b2]) t.diagnostic(`sigma ${s.sigma}: p_return function ${s.byFunction.p} [${s.byFunction.low?.toFixed(2)}, ${s.byFunction.high?.toFixed(2)}], distance ${s.byDistance.p}; disagreement ${s.disagreement?.min.toFixed(3)}..${s.disagreement?.max.toFixed(3)}; test acc ${s.testAcc?.mean.toFixed(3)}; ||sigma xi||/||theta|| ${s.relativePerturbation.mean.toFixed(3)}`);

  // sigma 0: each still fits S within its tolerance, so one epoch of momentum SGD (a near-zero
  // gradient) meets the stop rule: back by both criteria, with probability 1.
  for (const s of [g0, b0]) {
    assert.deepEqual([s.byFunction.p, s.byDistance.p, s.stops.converged, s.epochs.max], [1, 1, 4, 1]);
    assert.ok((s.distance?.max as number) < 0.01 && (s.disagreement?.max as number) <= 0.01);
  }
  // sigma 0.2: the good minimum returns (same predictions up to the tolerance), the bad one never does...
  assert.equal(g2.byFunction.p, 1);
  assert.equal(b2.byFunction.p, 0);
  assert.deepEqual(b2.pReturn, { by: 'function', ...b2.byFunction });
  assert.ok((b2.disagreement?.min as number) > (g2.disagreement?.max as number));
  // ...and lands where the test accuracy is higher than the bad model's, every draw of it,
  assert.ok((b2.testAcc?.min as number) > (badFit['testAcc'] as number) + 0.05, `reached ${b2.testAcc?.min} from ${badFit['testAcc']}`);
  // although, relative to its (larger) weights, the bad model was perturbed less.
  assert.ok(b2.relativePerturbation.mean < g2.relativePerturbation.mean);
  // Parameter distance does not tell them apart: neither comes back within 5% of ||theta||.
  assert.deepEqual([g2.byDistance.p, b2.byDistance.p], [0, 0]);
  assert.equal(b2.stops.converged, 4);

  // The record: the model's own fit, the retraining settings (S alone), every draw; flat metrics; endpoints.
  const rec = jsonOf(g.outputs['restarts']);
  const model = rec['model'] as Record<string, JsonValue>;
  assert.deepEqual([model['stop'], model['attack'], model['testAcc'], model['paramNorm']], ['converged', 0, goodFit['testAcc'], goodFit['paramNorm']]);
  assert.deepEqual(rec['retraining'], { set: 'train', examples: 60, loss: 'cross-entropy', optimizer: (jsonOf(good['manifest'])['training'] as Record<string, JsonValue>)['optimizer'] as JsonValue, batchSize: 10, maxEpochs: 300, tolerance: 1e-3, evalEvery: 1 });
  assert.equal((rec['draws'] as JsonValue[]).length, 8);
  assert.deepEqual(Object.keys((rec['draws'] as Record<string, JsonValue>[])[0]!), ['sigma', 'draw', 'perturbationNorm', 'relativePerturbation', 'start', 'stop', 'epochs', 'trainLoss', 'trainAcc', 'testLoss', 'testAcc', 'distance', 'disagreement', 'returnedByDistance', 'returnedByFunction']);
  const flat = jsonOf(b.outputs['metrics']);
  assert.deepEqual([flat['pReturn_0'], flat['pReturn_0.2'], flat['pReturnFunction_0.2'], flat['pReturnDistance_0'], flat['pReturnMean'], flat['escapeSigma']], [1, 0, 0, 1, 0.5, 0.2]);
  assert.equal(flat['testAcc_0.2'], b2.testAcc?.mean);
  assert.equal(jsonOf(g.outputs['metrics'])['escapeSigma'], null);
  assert.deepEqual(arrayOf(g.outputs['endpoints']).shape, [2, 4, (model['parameters'] as number)]);
  assert.match(b.summary ?? '', /^p_return by function \(4 draws\): 1\.00 @0, 0\.00 @0\.2; test acc reached 66\.3%\.\.\d+\.\d% \(model 66\.3%\)$/);

  // Progress: per epoch and per retraining, fractions non-decreasing up to 1.
  assert.ok(progress.some((p) => /^sigma 0\.2 draw 3\/4: epoch \d+\/300$/.test(p.message ?? '')));
  assert.ok(progress.some((p) => /^sigma 0\.2 draw 4\/4: returned \(converged after \d+ epochs\)$/.test(p.message ?? '')));
  assert.ok(progress.every((p, i) => i === 0 || (p.fraction as number) >= (progress[i - 1]!.fraction as number) - 1e-12));
  assert.equal(progress.at(-1)?.fraction, 1);
});

test(`in-process (${backend}): same seed, same results; another seed, other draws; maxEpochs overrides the model's`, async () => {
  const { goodIn } = await fixture;
  const p: RestartsParams = { ...DEFAULTS, sigmas: [0.1], draws: 2, maxEpochs: 3 };
  const [a, b, c] = [await restarts.run(context(p, goodIn)), await restarts.run(context(p, goodIn)), await restarts.run(context({ ...p, seed: 1 }, goodIn))];
  assert.deepEqual(a.outputs['restarts'], b.outputs['restarts']);
  assert.deepEqual(a.outputs['metrics'], b.outputs['metrics']);
  assert.equal(digest(a.outputs['endpoints']), digest(b.outputs['endpoints']));
  assert.equal(a.summary, b.summary);
  assert.notEqual(digest(c.outputs['endpoints']), digest(a.outputs['endpoints']));
  const rec = jsonOf(a.outputs['restarts']);
  assert.equal((rec['retraining'] as Record<string, JsonValue>)['maxEpochs'], 3);
  assert.ok((rec['draws'] as { epochs: number }[]).every((d) => d.epochs <= 3));
});

test(`in-process (${backend}): a regression model: function-level return by the relative change of test outputs; test loss reached`, async () => {
  const reg = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: regression-1d, test: 40 }'), {}), nodeId: 'reg' as NodeId })).outputs;
  const dataIn = [{ nodeId: 'reg' as NodeId, outputs: reg }];
  const m = await train.run(context(paramsOf<TrainParams>('train', 'train', '{ loss: mse, model: { hidden: [8], activation: tanh }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 40 }'), { data: dataIn }));
  const r = await restarts.run(context({ ...DEFAULTS, sigmas: [0, 0.05], draws: 2, maxEpochs: 5, disagreementTol: 0.5 }, { model: [{ nodeId: 'reg-train' as NodeId, outputs: m.outputs }], data: dataIn }));
  const [s0, s1] = sigmasOf(r) as [SigmaSummary, SigmaSummary];
  assert.equal(s0.testAcc, null);
  assert.ok(Number.isFinite(s1.testLoss?.mean) && Number.isFinite(s1.disagreement?.mean));
  // Each draw's function-level verdict is its relative output change against the tolerance.
  for (const d of jsonOf(r.outputs['restarts'])['draws'] as { disagreement: number; returnedByFunction: boolean; testAcc: null }[]) {
    assert.ok(d.disagreement >= 0 && Number.isFinite(d.disagreement));
    assert.equal(d.returnedByFunction, d.disagreement <= 0.5);
    assert.equal(d.testAcc, null);
  }
  assert.ok(!('testAcc_0' in jsonOf(r.outputs['metrics'])));
  assert.match(r.summary ?? '', /^p_return by function \(2 draws\): [01]\.\d\d @0, [01]\.\d\d @0\.05; test loss reached [0-9.e-]+\.\.[0-9.e-]+ \(model [0-9.e-]+\)$/);
});

test(`in-process (${backend}): failures name the remedy; an abort stops between epochs`, async () => {
  const { good, goodIn } = await fixture;
  const fails = async (inputs: StageContext['inputs'], pattern: RegExp) =>
    assert.rejects(restarts.run(context(DEFAULTS, inputs)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  await fails({ data: goodIn['data']! }, /^restarts needs exactly one train node as input `model` \(found inputs data\)/);
  await fails({ model: goodIn['model']! }, /^restarts needs exactly one dataset node as input `data`/);
  await fails({ model: goodIn['data']!, data: goodIn['data']! }, /^input model \(data\) has no manifest output: point `inputs.model` at a stage of kind train/);
  const { training: _dropped, ...old } = jsonOf(good['manifest']);
  await fails({ model: [{ nodeId: 'old' as NodeId, outputs: { ...good, manifest: { type: 'json', value: old } } }], data: goodIn['data']! }, /^the model \(old\) does not record how it was trained .*: rerun it$/);
  const nan = Float32Array.from(arrayOf(good['params']).data as Float32Array);
  nan[5] = Number.NaN;
  await fails({ model: [{ nodeId: 'nan' as NodeId, outputs: { ...good, params: { type: 'array', dtype: 'float32', shape: [nan.length], data: nan } } }], data: goodIn['data']! }, /non-finite parameter \(NaN at index 5\): its training diverged/);
  const other = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 4, classes: 3, train: 20, attack: 0, test: 10 }'), {}), nodeId: 'other' as NodeId })).outputs;
  await fails({ model: goodIn['model']!, data: [{ nodeId: 'other' as NodeId, outputs: other }] }, /^the model \(good\) takes 16 inputs but other has 4 features: point `inputs.data` at the dataset the model was trained on$/);
  const noTest = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 16, classes: 3, train: 20, attack: 0, test: 0 }'), {}), nodeId: 'notest' as NodeId })).outputs;
  await fails({ model: goodIn['model']!, data: [{ nodeId: 'notest' as NodeId, outputs: noTest }] }, /^notest has no test set, .*give the dataset a test set/);

  const controller = new AbortController();
  const progress: Progress[] = [];
  const running = restarts.run({ ...context({ ...DEFAULTS, sigmas: [0.3], maxEpochs: 50 }, goodIn, progress, controller.signal), progress: (p) => (progress.push(p), progress.length === 3 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 3);
});

// ---- the real CLI ----

const pipeline = (draws = 2) => `version: 1
name: escape
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: ${DATA} }
  train:
    kind: train
    matrix: { attack: [0, 30] }
    inputs: { data: data }
    with: { model: { hidden: [16] }, optimizer: { name: momentum, lr: 0.05 }, batchSize: 10, maxEpochs: 300, attack: "\${matrix.attack}" }
  restarts:
    kind: restarts
    foreach: train
    inputs: { model: train, data: data }
    with: { sigmas: [0, 0.2], draws: ${draws}, disagreementTol: 0.1 }
`;

test(`CLI (${backend}): a restarts node per trained model; show prints the results; export writes them; a restarts-only edit reruns only restarts`, async () => {
  const ws = workspaceWith(pipeline());
  const first = await ws.basin('run');
  assert.equal(first.code, 0, first.stderr + first.stdout);
  for (const node of ['restarts[attack=0]', 'restarts[attack=30]']) assert.match(first.stdout, new RegExp(`done\\s+${node.replace(/[[\]]/g, '\\$&')}\\s+\\S+\\s+p_return by function \\(2 draws\\): 1\\.00 @0, `));

  const shown = await ws.basin('show', 'restarts[attack=30]');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}summary {3}p_return by function \(2 draws\): 1\.00 @0, 0\.00 @0\.2; test acc reached /m);
  assert.match(shown.stdout, /^ {2}results {3}\(output restarts\)$/m);
  assert.match(shown.stdout, /^ {4}sigmas\[1\]\.pReturn\.p: 0$/m);
  assert.match(shown.stdout, /^ {4}sigmas\[0\]\.byDistance\.p: 1$/m);
  assert.match(shown.stdout, /^ {4}sigmas\[1\]\.testAcc\.mean: 0\.\d+$/m);
  assert.match(shown.stdout, /^ {4}model\.stop: "converged"$/m);

  const out = join(ws.dir, 'out');
  const exported = await ws.basin('export', 'restarts[attack=30]', '--out', out);
  assert.equal(exported.code, 0, exported.stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, number | null>;
  assert.deepEqual([metrics['pReturn_0'], metrics['pReturn_0.2'], metrics['escapeSigma']], [1, 0, 0.2]);
  const npy = readFileSync(join(out, 'endpoints.npy'));
  assert.match(npy.toString('latin1', 10, 80), /'descr': '<f4'.*'shape': \(2, 2, 323\)/);

  const cached = await ws.basin('run');
  assert.equal(cached.code, 0);
  assert.match(cached.stdout, /done: 0 ran, 5 cached/);

  ws.write('basin.yaml', pipeline(3));
  const rerun = await ws.basin('run');
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /done: 2 ran, 3 cached/);
});
