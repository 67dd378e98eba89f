import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPipeline } from '../../src/config/load.js';
import { catalogFromSchemaDir } from '../../src/config/schema-catalog.js';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { BackendName } from '../../src/ml/backend.js';
import type { Artifact, Outputs } from '../../src/stages/artifact.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';
import { Workspace, workspaceWith } from '../engine/rig.js';

/**
 * The `train` stage: its schema (every default filled, nested blocks too), the stage run
 * in-process on a dataset node's real outputs (outputs, progress, failures, abort), and the real
 * CLI end to end (run, export to .npy, a cached rerun, bit-identical weights from a fresh cache,
 * divergence reported as a stage failure).
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const catalog = catalogFromSchemaDir(['dataset', 'train']);

function load(trainWith: string) {
  return loadPipeline(
    'basin.yaml',
    `version: 1\nname: t\nstages:\n  data: { kind: dataset, with: { source: mnist } }\n  train: { kind: train, inputs: { data: data }, with: ${trainWith} }\n`,
    catalog,
    { cwd: '/tmp/p' },
  );
}
function paramsOf(trainWith: string): TrainParams {
  const r = load(trainWith);
  if (!r.ok) throw new Error(r.error.map((d) => d.message).join('\n'));
  return r.value.nodes.find((n) => n.id === 'train')!.params as unknown as TrainParams;
}
function errorsOf(trainWith: string): string[] {
  const r = load(trainWith);
  assert.ok(!r.ok, `expected errors for ${trainWith}`);
  return r.error.map((d) => d.message);
}

const DEFAULTS: TrainParams = {
  model: { hidden: [100], activation: 'relu', init: 'he', initScale: 1 },
  loss: 'cross-entropy',
  optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, schedule: { type: 'constant', every: 100, gamma: 0.1 } },
  batchSize: 100,
  attack: 0,
  seed: 0,
  maxEpochs: 500,
  tolerance: 1e-3,
  evalEvery: 1,
};

test('schema: every default is filled in, inside nested blocks too', () => {
  assert.deepEqual(paramsOf('{}'), DEFAULTS);
  assert.deepEqual(paramsOf('{ optimizer: { name: adam, lr: 0.001, schedule: { type: step } }, model: { hidden: [8, 8] } }'), {
    ...DEFAULTS,
    model: { ...DEFAULTS.model, hidden: [8, 8] },
    optimizer: { ...DEFAULTS.optimizer, name: 'adam', lr: 0.001, schedule: { type: 'step', every: 100, gamma: 0.1 } },
  });
});

test('schema: a mapping given as an interpolation gets its nested defaults too', () => {
  const r = loadPipeline(
    'basin.yaml',
    'version: 1\nname: t\nparams: { model: { hidden: [8] }, opt: { name: adam } }\nstages:\n  data: { kind: dataset, with: { source: mnist } }\n  train: { kind: train, inputs: { data: data }, with: { model: "${params.model}", optimizer: "${params.opt}" } }\n',
    catalog,
    { cwd: '/tmp/p' },
  );
  assert.ok(r.ok, r.ok ? '' : r.error.map((d) => d.message).join('\n'));
  const p = r.value.nodes.find((n) => n.id === 'train')!.params as unknown as TrainParams;
  assert.deepEqual(p.model, { ...DEFAULTS.model, hidden: [8] });
  assert.deepEqual(p.optimizer, { ...DEFAULTS.optimizer, name: 'adam' });
});

test('schema: typos and out-of-range values are config errors', () => {
  assert.deepEqual(errorsOf('{ optimizer: { nme: adam } }'), ['unknown key "nme" in "with.optimizer" of stage "train"']);
  assert.deepEqual(errorsOf('{ optimizer: { name: rmsprop } }'), ['"with.optimizer.name" of stage "train" must be one of "sgd", "momentum", "adam", "gd"']);
  assert.equal(errorsOf('{ optimizer: { lr: 0 } }').length, 1);
  assert.equal(errorsOf('{ batchSize: 0 }').length, 1);
  assert.equal(errorsOf('{ model: { hidden: [0] } }').length, 1);
});

// ---- the stage in-process, on a dataset node's real outputs ----

/** A dataset node's outputs, its `with` block given as YAML (defaults filled by its schema). */
async function datasetOutputs(withBlock: string): Promise<Outputs> {
  const r = loadPipeline('basin.yaml', `version: 1\nname: t\nstages:\n  data: { kind: dataset, with: ${withBlock} }\n`, catalog, { cwd: '/tmp/p' });
  if (!r.ok) throw new Error(r.error.map((d) => d.message).join('\n'));
  const params = r.value.nodes[0]!.params as unknown as DatasetParams;
  const out = await dataset.run({ ...context<DatasetParams>(params, {}), nodeId: 'data' as NodeId });
  return out.outputs;
}

function context<P>(params: P, inputs: StageContext['inputs'], progress: Progress[] = [], signal = new AbortController().signal): StageContext<P> {
  return { nodeId: 'train' as NodeId, params, inputs, workdir: '/tmp', runtime: { backend }, signal, progress: (p) => progress.push(p), log: () => {} };
}

const blobs = datasetOutputs('{ source: gaussian-mixture, train: 60, attack: 10, test: 40, separation: 6, std: 0.7 }');
const small = (over: Partial<TrainParams> = {}): TrainParams => ({
  ...DEFAULTS,
  model: { ...DEFAULTS.model, hidden: [8] },
  optimizer: { ...DEFAULTS.optimizer, name: 'adam', lr: 0.02 },
  batchSize: 10,
  maxEpochs: 300,
  ...over,
});
const arr = (a: Artifact | undefined) => {
  assert.ok(a?.type === 'array');
  return a;
};
const jsonOf = (a: Artifact | undefined): Record<string, JsonValue> => {
  assert.ok(a?.type === 'json');
  return a.value as Record<string, JsonValue>;
};

test(`stage in-process (${backend}): outputs, per-layer weights, manifest, curves, metrics, progress`, async () => {
  const data = { data: [{ nodeId: 'data' as NodeId, outputs: await blobs }] };
  const progress: Progress[] = [];
  const r = await train.run(context(small(), data, progress));
  const o = r.outputs;
  assert.deepEqual(Object.keys(o).sort(), ['curves', 'layer0.bias', 'layer0.weight', 'layer1.bias', 'layer1.weight', 'manifest', 'metrics', 'params']);
  const params = arr(o['params']);
  assert.deepEqual([params.dtype, params.shape], ['float32', [2 * 8 + 8 + 8 * 2 + 2]]);
  assert.deepEqual(arr(o['layer0.weight']).shape, [2, 8]);
  assert.deepEqual(arr(o['layer1.bias']).shape, [2]);
  const joined = ['layer0.weight', 'layer0.bias', 'layer1.weight', 'layer1.bias'].flatMap((k) => Array.from(arr(o[k]).data));
  assert.deepEqual(joined, Array.from(params.data));

  const manifest = jsonOf(o['manifest']);
  const metrics = jsonOf(o['metrics']);
  const curves = jsonOf(o['curves']);
  assert.deepEqual([manifest['activation'], manifest['loss'], manifest['classes'], manifest['inputShape'], manifest['stop']], ['relu', 'cross-entropy', 2, [2], 'converged']);
  assert.equal((manifest['layout'] as { size: number }).size, params.shape[0]);
  assert.deepEqual([metrics['stop'], metrics['trainAcc'], metrics['attackAcc'], metrics['attackLoss']], ['converged', 1, null, null]);
  assert.equal(metrics['epochs'], manifest['epochs']);
  for (const k of ['trainLoss', 'testLoss', 'testAcc', 'gap', 'lossGap', 'gradNorm', 'paramNorm', 'inputGradEnergy', 'steps']) assert.equal(typeof metrics[k], 'number', k);
  assert.equal((curves['epoch'] as number[]).length, (metrics['epochs'] as number) + 1);
  assert.deepEqual(r.info && (r.info as Record<string, JsonValue>)['stop'], 'converged');

  assert.equal(progress.length, metrics['epochs']);
  assert.deepEqual(progress[0]!.message, `epoch 1/300`);
  assert.equal(progress[0]!.fraction, 1 / 300);
  assert.deepEqual(Object.keys(progress[0]!.metrics ?? {}), ['loss', 'acc']);

  // With attack examples, unconverged: flagged in metrics, manifest and the record alike.
  const attacked = await train.run(context(small({ attack: 4, maxEpochs: 2 }), data));
  const m = jsonOf(attacked.outputs['metrics']);
  assert.deepEqual([m['stop'], jsonOf(attacked.outputs['manifest'])['stop'], (attacked.info as Record<string, JsonValue>)['stop']], ['max-epochs', 'max-epochs', 'max-epochs']);
  assert.equal(typeof m['attackAcc'], 'number');
  assert.equal(m['steps'], 2 * 7); // 64 rows in batches of 10
});

test(`stage in-process (${backend}): expected failures name the remedy; an abort stops between epochs`, async () => {
  const outputs = await blobs;
  const data = { data: [{ nodeId: 'data' as NodeId, outputs }] };
  const fails = async (p: TrainParams, inputs: StageContext['inputs'], pattern: RegExp) =>
    assert.rejects(train.run(context(p, inputs)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  await fails(small({ attack: 11 }), data, /^attack: 11 asks for more attack examples than data has \(its attack pool holds 10\); lower attack/);
  await fails(small(), {}, /^train needs exactly one dataset node as input `data` \(found no inputs\)/);
  await fails(small(), { data: [{ nodeId: 'x' as NodeId, outputs: { result: { type: 'json', value: 1 } } }] }, /^input data \(x\) is not a dataset stage/);
  await fails(small({ loss: 'mse', optimizer: { ...DEFAULTS.optimizer, lr: 1e4 } }), data, /^training diverged at epoch \d+ \(loss (NaN|Infinity)\); lower optimizer\.lr \(now 10000\)$/);
  const regression = await datasetOutputs('{ source: regression-1d, test: 20 }');
  await fails(small(), { data: [{ nodeId: 'reg' as NodeId, outputs: regression }] }, /^loss cross-entropy needs class labels, but reg is a regression set \(source regression-1d\): use loss: mse$/);
  const fit = await train.run(context(small({ loss: 'mse', maxEpochs: 5 }), { data: [{ nodeId: 'reg' as NodeId, outputs: regression }] }));
  assert.equal(jsonOf(fit.outputs['metrics'])['trainAcc'], null);

  const controller = new AbortController();
  const progress: Progress[] = [];
  const ctx = context(small({ tolerance: 0 }), data, progress, controller.signal);
  const running = train.run({ ...ctx, progress: (p) => (progress.push(p), progress.length === 3 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 3);
});

test('facts: the backend and TF.js version, without loading TF.js', () => {
  const facts = train.facts!(DEFAULTS, { workdir: '/', backend: 'cpu' });
  assert.equal((facts.runtime as { backend: string }).backend, 'cpu');
  assert.equal(typeof (facts.runtime as { tfjs: string }).tfjs, 'string');
});

// ---- the real CLI ----

const pipeline = (lr = 0.02) => `version: 1
name: training
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: mnist, train: 100, attack: 40, test: 100, downsample: 2, seed: 1 } }
  train:
    kind: train
    inputs: { data: data }
    matrix: { seed: [0, 1], attack: [0, 40] }
    with:
      seed: "\${matrix.seed}"
      attack: "\${matrix.attack}"
      model: { hidden: [16] }
      optimizer: { name: adam, lr: ${lr} }
      batchSize: 20
      maxEpochs: 20
`;
const NODES = ['train[seed=0,attack=0]', 'train[seed=0,attack=40]', 'train[seed=1,attack=0]', 'train[seed=1,attack=40]'];
const workspace = (text = pipeline()): Workspace => workspaceWith(text);
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const npyShape = (path: string) => {
  const npy = readFileSync(path);
  const header = npy.subarray(10, 10 + npy.readUInt16LE(8)).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  return /'shape': \(([^)]*)\)/.exec(header)?.[1];
};

test(`CLI (${backend}): mnist digits -> 4 trained nets; export gives .npy weights; rerun is cached; weights are bit-identical from a fresh cache`, async () => {
  const ws = workspace();
  const first = await ws.run();
  assert.equal(first.code, 0, first.result.stderr + first.result.stdout);
  assert.deepEqual(first.ran, ['data', ...NODES]);
  assert.ok(first.nodes('node-progress').includes('train[seed=0,attack=0]'));

  const ex = await ws.basin('export', 'train[seed=0,attack=40]', '--out', 'out');
  assert.equal(ex.code, 0, ex.stderr);
  const out = join(ws.dir, 'out');
  assert.equal(npyShape(join(out, 'params.npy')), `${196 * 16 + 16 + 16 * 10 + 10},`);
  assert.equal(npyShape(join(out, 'layer0.weight.npy')), '196, 16');
  assert.equal(npyShape(join(out, 'layer1.bias.npy')), '10,');
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { inputShape: number[]; classes: number; stop: string };
  assert.deepEqual([manifest.inputShape, manifest.classes], [[14, 14], 10]);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { attackAcc: number; trainAcc: number; stop: string };
  assert.equal(metrics.stop, manifest.stop);
  const record = JSON.parse(readFileSync(join(out, 'record.json'), 'utf8')) as { info: { stop: string } };
  assert.equal(record.info.stop, manifest.stop);

  const again = await ws.run();
  assert.equal(again.code, 0);
  assert.deepEqual(again.ran, []);

  const fresh = workspace();
  const r = await fresh.run('basin.yaml', '--only', 'train[seed=0,attack=40]');
  assert.equal(r.code, 0, r.result.stderr);
  const ex2 = await fresh.basin('export', 'train[seed=0,attack=40]', '--out', 'out');
  assert.equal(ex2.code, 0, ex2.stderr);
  for (const f of ['params.npy', 'layer0.weight.npy', 'metrics.json', 'curves.json', 'manifest.json']) assert.equal(sha(join(fresh.dir, 'out', f)), sha(join(out, f)), f);
});

test(`CLI (${backend}): a diverging net fails its node with the remedy, no stack trace`, async () => {
  const ws = workspace(pipeline(1e4).replace('optimizer: { name: adam', 'loss: mse\n      optimizer: { name: sgd'));
  const r = await ws.run('basin.yaml', '--only', 'train[seed=0,attack=0]');
  assert.equal(r.code, 1);
  const failed = r.events.find((e) => e.type === 'node-failed');
  assert.ok(failed?.type === 'node-failed');
  assert.equal(failed.failure.reason, 'stage');
  assert.match(failed.failure.message, /^training diverged at epoch \d+ \(loss (NaN|Infinity)\); lower optimizer\.lr \(now 10000\)$/);
});
