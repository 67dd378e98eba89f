import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { Artifact } from '../../src/stages/artifact.js';
import { basinVolume, type BasinVolumeParams } from '../../src/stages/basin-volume.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { hessian, type HessianParams } from '../../src/stages/hessian.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';
import { workspaceWith } from '../engine/rig.js';
import { arrayOf, backend, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `basin-volume` stage: schema defaults; in-process runs on real trained tiny models (a good and
 * a bad minimum of one architecture, ordered as the paper claims; seeds; threshold modes; filter
 * directions); the quadratic prediction from a hessian input against the sampled volume, on a model
 * whose loss is exactly quadratic and on a small smooth one; failures; the CLI end to end.
 */
const { paramsOf, context, rejects } = stageRig(['dataset', 'train', 'hessian', 'basin-volume'], 'v');

const DEFAULTS: BasinVolumeParams = {
  examples: 'train',
  directions: 200,
  kind: 'sphere',
  threshold: { type: 'relative', value: 0.1 },
  span: { type: 'relative', value: 4 },
  grid: { points: 16, power: 2 },
  bisection: { tol: 1e-3, points: 7 },
  bootstrap: 2000,
  seed: 0,
  chunk: 1000,
};

test('schema: every default is filled in; bad values are config errors', () => {
  assert.deepEqual(paramsOf('v', 'basin-volume', '{}'), DEFAULTS);
  assert.deepEqual(paramsOf<BasinVolumeParams>('v', 'basin-volume', '{ threshold: { type: absolute } }').threshold, { type: 'absolute', value: 0.1 });
  for (const bad of ['{ directions: 0 }', '{ kind: gaussian }', '{ threshold: { type: percent } }', '{ threshold: { value: 0 } }', '{ span: { value: -1 } }', '{ bisection: { tol: 1 } }', '{ bisection: { points: 0 } }', '{ grid: { points: 0 } }', '{ bootstrap: -1 }', '{ examples: test }', '{ radius: 3 }']) {
    assert.ok(rejects('basin-volume', bad), bad);
  }
});

// ---- in-process, on real trained models ----

const num = (o: Record<string, JsonValue>, key: string): number => o[key] as number;
const pair = (o: Record<string, JsonValue>, key: string): [number, number] => o[key] as [number, number];
const input = (nodeId: string, outputs: Record<string, Artifact>) => [{ nodeId: nodeId as NodeId, outputs }];

async function trained(dataWith: string, trainWith: string) {
  const data = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', dataWith), {}), nodeId: 'data' as NodeId })).outputs as Record<string, Artifact>;
  const model = (await train.run(context(paramsOf<TrainParams>('train', 'train', trainWith), { data: input('data', data) }))).outputs as Record<string, Artifact>;
  return { data, model };
}

/**
 * One architecture, one seed, full-batch Adam to 100% and clean loss below 0.01: trained on S alone
 * (good) and on S plus 12 wrongly labelled examples (bad, fits them all, tests worse).
 */
const minima = (async () => {
  const dataWith = '{ source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 12, test: 60, separation: 4, std: 0.8 }';
  const trainWith = (attack: number) => `{ model: { hidden: [16], activation: tanh }, optimizer: { name: adam, lr: 0.05 }, batchSize: 100, maxEpochs: 1000, tolerance: 0.01, attack: ${attack}, seed: 1 }`;
  const good = await trained(dataWith, trainWith(0));
  const bad = await trained(dataWith, trainWith(12));
  const inputsOf = (m: typeof good, node: string) => ({ model: input(node, m.model), data: input('data', m.data) });
  return { good: inputsOf(good, 'good'), bad: inputsOf(bad, 'bad'), goodModel: good.model, badModel: bad.model };
})();

const FAST: BasinVolumeParams = { ...DEFAULTS, directions: 60, bootstrap: 500 };

test(`in-process (${backend}): a good and a bad minimum are ordered as the paper claims (larger radii, larger log V on the clean loss)`, async (t) => {
  const { good, bad, goodModel, badModel } = await minima;
  const [fg, fb] = [jsonOf(goodModel['metrics']), jsonOf(badModel['metrics'])];
  assert.deepEqual([fg['trainAcc'], fb['trainAcc'], fb['attackAcc']], [1, 1, 1], 'both fit S; the bad model fits its wrong labels too');
  assert.ok((fb['testAcc'] as number) < (fg['testAcc'] as number), 'and tests worse');
  const progress: Progress[] = [];
  const g = await basinVolume.run(context(FAST, good, progress));
  const b = await basinVolume.run(context(FAST, bad));
  const [vg, vb] = [jsonOf(g.outputs['volume']), jsonOf(b.outputs['volume'])];
  for (const [name, v] of [['good', vg], ['bad', vb]] as const) {
    t.diagnostic(`${name}: log V ${num(v, 'logVolume').toFixed(2)} [${pair(v, 'logVolumeCI').map((x) => x.toFixed(2)).join(', ')}], mean log r ${num(v, 'meanLogRadius').toFixed(3)}, median ${num(v, 'medianLogRadius').toFixed(3)}, loss ${num(v, 'lossAtTheta').toExponential(2)}, ${num(v, 'censored')} censored, ${(v['evaluations'] as Record<string, number>)['callsPerDirection']} calls/direction`);
  }
  assert.ok(num(vg, 'logVolume') > num(vb, 'logVolume'), 'good: larger log V');
  assert.ok(num(vg, 'meanLogRadius') > num(vb, 'meanLogRadius'), 'good: larger radii');
  assert.ok(num(vg, 'medianLogRadius') > num(vb, 'medianLogRadius'));
  // Far apart in log r: the intervals do not overlap. (log V rests on the few largest radii, so its
  // intervals are wide at K = 60; the point estimates are ordered.)
  assert.ok(pair(vg, 'meanLogRadiusCI')[0] > pair(vb, 'meanLogRadiusCI')[1]);
  assert.ok(pair(vg, 'medianLogRadiusCI')[0] > pair(vb, 'medianLogRadiusCI')[1]);

  // The record: what the issue asks for, consistent with the arrays.
  const d = num(vg, 'd');
  const radii = arrayOf(g.outputs['radii']);
  const censored = arrayOf(g.outputs['censored']);
  assert.deepEqual([radii.dtype, radii.shape, censored.dtype, censored.shape], ['float64', [60], 'uint8', [60]]);
  const r = Array.from(radii.data as Float64Array);
  const span = (vg['span'] as Record<string, number>)['t'] as number;
  assert.ok(Math.abs(span - 4 * num(vg, 'thetaNorm')) < 1e-9 * span, 'relative span 4: t_max = 4 ||theta|| for unit directions');
  assert.ok(r.every((x, i) => x > 0 && x <= span && ((censored.data[i] === 1) === (x === span))));
  assert.equal(num(vg, 'censored'), Array.from(censored.data).filter((c) => c === 1).length);
  const logR = r.map(Math.log);
  assert.ok(Math.abs(num(vg, 'meanLogRadius') - logR.reduce((a, x) => a + x, 0) / 60) < 1e-12);
  const m = Math.max(...logR.map((x) => d * x));
  const lme = m + Math.log(logR.reduce((a, x) => a + Math.exp(d * x - m), 0) / 60);
  assert.ok(Math.abs(num(vg, 'logVolume') - (num(vg, 'logUnitBall') + lme)) < 1e-9);
  const [lo, hi] = pair(vg, 'logVolumeCI');
  assert.ok(lo <= num(vg, 'logVolume') && num(vg, 'logVolume') <= hi);
  const [blo, bhi] = pair(vg, 'logVolumeBracket');
  assert.ok(blo <= num(vg, 'logVolume') && num(vg, 'logVolume') <= bhi && bhi - blo <= d * 1e-3 * 1.01, `bracket [${blo}, ${bhi}]`);
  assert.deepEqual(vg['threshold'], { type: 'relative', value: 0.1, level: num(vg, 'lossAtTheta') + 0.1, offset: 0.1 });
  assert.equal(vg['kind'], 'sphere');
  assert.equal(vg['quadratic'], null);
  assert.deepEqual(vg['set'], { examples: 'train', train: 40, attack: 0, n: 40, chunk: 1000, loss: 'cross-entropy' });
  const ev = vg['evaluations'] as Record<string, number>;
  assert.equal(ev['calls'], 1 + 60 * (ev['callsPerDirection'] as number));
  assert.equal((g.info as Record<string, number>)['points'], ev['points']);
  // Progress: one event per direction, in order.
  assert.equal(progress.length, 60);
  assert.deepEqual(progress.map((p) => p.fraction), Array.from({ length: 60 }, (_, i) => (i + 1) / 60));
  assert.match(g.summary ?? '', /^log V -?[0-9.e+-]+ \[-?[0-9.e+-]+, -?[0-9.e+-]+\] \(d \d+, 60 sphere directions, \d+ censored\), mean log r -?[0-9.e+-]+$/);
});

test(`in-process (${backend}): same seed, same radii; threshold modes; S plus A; filter directions`, async () => {
  const { good, bad } = await minima;
  const lean: BasinVolumeParams = { ...DEFAULTS, directions: 12, bootstrap: 100 };
  const radii = async (p: BasinVolumeParams, inputs = good) => {
    const r = await basinVolume.run(context(p, inputs));
    return { radii: Array.from(arrayOf(r.outputs['radii']).data as Float64Array), volume: jsonOf(r.outputs['volume']) };
  };
  const a = await radii(lean);
  assert.deepEqual((await radii(lean)).radii, a.radii, 'same seed, same radii');
  assert.notDeepEqual((await radii({ ...lean, seed: 1 })).radii, a.radii);
  // A larger K keeps the first directions.
  assert.deepEqual((await radii({ ...lean, directions: 14 })).radii.slice(0, 12), a.radii);

  // An absolute level equal to L(theta) + 0.1 gives the same radii; a larger offset, larger radii.
  const level = num(a.volume, 'lossAtTheta') + 0.1;
  const abs = await radii({ ...lean, threshold: { type: 'absolute', value: level } });
  assert.deepEqual(abs.radii, a.radii);
  assert.equal((abs.volume['threshold'] as Record<string, JsonValue>)['type'], 'absolute');
  const higher = await radii({ ...lean, threshold: { type: 'relative', value: 0.5 } });
  assert.ok(higher.radii.every((r, i) => r >= (a.radii[i] as number)));
  await assert.rejects(basinVolume.run(context({ ...lean, threshold: { type: 'absolute', value: num(a.volume, 'lossAtTheta') / 2 } }, good)), (e: unknown) => e instanceof StageFailure && /threshold: the absolute level .* is not above the loss at the model \(good\).*use threshold: \{ type: relative, value: 0.1 \}/.test(e.message));

  // A tighter tolerance moves the interpolated radii by far less than the looser bracket.
  const tight = await radii({ ...lean, bisection: { tol: 1e-6, points: 7 } });
  assert.ok(tight.radii.every((r, i) => Math.abs(r - (a.radii[i] as number)) <= 1e-3 * r));

  // S plus the attack examples the bad model was trained on, with their wrong labels: the loss it was trained on.
  const both = await radii({ ...lean, examples: 'train+attack' }, bad);
  assert.deepEqual(both.volume['set'], { examples: 'train+attack', train: 40, attack: 12, n: 52, chunk: 1000, loss: 'cross-entropy' });

  // Filter-normalised directions: t in the directions' units; the record says so.
  const filter = await radii({ ...lean, kind: 'filter' });
  const span = filter.volume['span'] as Record<string, number>;
  assert.equal(filter.volume['kind'], 'filter');
  assert.match(filter.volume['identity'] as string, /own units/);
  assert.ok(Math.abs((span['t'] as number) * num(filter.volume, 'directionNorm') - 4 * num(filter.volume, 'thetaNorm')) < 1e-9 * num(filter.volume, 'thetaNorm'));
  assert.ok(filter.radii.every((r) => r > 0 && r <= (span['t'] as number)));
});

/** The quadratic prediction beside the sampled volume, with a hessian node of the same model (dense: d is small). */
async function withHessian(dataWith: string, trainWith: string, c: number) {
  const m = await trained(dataWith, trainWith);
  const inputs = { model: input('model', m.model), data: input('data', m.data) };
  const hp = paramsOf<HessianParams>('h', 'hessian', '{ hutchinson: 0, hutchpp: 0, slq: { runs: 2, steps: 10 }, deltas: [1e-9, 1e-3] }');
  const h = await hessian.run(context(hp, inputs));
  const r = await basinVolume.run(context({ ...DEFAULTS, directions: 300, bootstrap: 1000, threshold: { type: 'relative', value: c } }, { ...inputs, hessian: input('hess', h.outputs as Record<string, Artifact>) }));
  const spectrum = jsonOf(h.outputs['spectrum']);
  return { v: jsonOf(r.outputs['volume']), summary: r.summary ?? '', spectrum, eigen: Array.from(arrayOf(h.outputs['dense_eigenvalues']).data as Float64Array) };
}

interface Row {
  delta: number;
  source: string | null;
  logVolume: number;
  logdet: number;
}

test(`in-process (${backend}): with a hessian input, the quadratic prediction matches the sampled log V where the loss is quadratic`, async (t) => {
  // A linear model with the MSE loss is exactly quadratic in its parameters: the sampled volume must match the ellipsoid's within its interval.
  const exact = await withHessian(
    '{ source: gaussian-mixture, dims: 3, classes: 3, train: 60, attack: 0, test: 10, separation: 1, std: 1 }',
    '{ model: { hidden: [] }, loss: mse, optimizer: { name: gd, lr: 0.5 }, batchSize: 60, maxEpochs: 150, tolerance: 1e-12, seed: 0 }',
    0.1,
  );
  const q = exact.v['quadratic'] as unknown as { hessian: string; offset: number; rows: Row[]; notes: string[] };
  assert.equal(q.hessian, 'hess');
  assert.deepEqual(q.rows.map((r) => [r.delta, r.source]), [[1e-9, 'dense'], [1e-3, 'dense']]);
  const [lo, hi] = pair(exact.v, 'logVolumeCI');
  const predicted = q.rows[0]!.logVolume;
  t.diagnostic(`linear + mse (d=${num(exact.v, 'd')}, eigenvalues ${Math.min(...exact.eigen).toPrecision(3)}..${Math.max(...exact.eigen).toPrecision(3)}): sampled ${num(exact.v, 'logVolume').toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}], quadratic ${predicted.toFixed(3)}`);
  assert.ok(Math.min(...exact.eigen) > 1e-3, 'positive definite');
  assert.ok(lo <= predicted && predicted <= hi, `${predicted} outside [${lo}, ${hi}]`);
  assert.ok(q.rows[1]!.logVolume < predicted, 'a larger delta predicts a smaller volume');
  assert.match(exact.summary, /; quadratic -?[0-9.e+-]+ \(dense, delta 1e-9\)$/);

  // A small smooth network (one tanh unit fitting a slow sine, MSE) at a minimum, with a small
  // threshold: the loss is quadratic only near theta, and the sampled volume is close to the prediction.
  const smooth = await withHessian(
    '{ source: regression-1d, train: 40, test: 10, frequency: 0.25 }',
    '{ model: { hidden: [1], activation: tanh }, loss: mse, optimizer: { name: adam, lr: 0.05 }, batchSize: 40, maxEpochs: 400, tolerance: 1e-12, seed: 0 }',
    0.001,
  );
  const sq = (smooth.v['quadratic'] as unknown as { rows: Row[] }).rows[0]!;
  const [slo, shi] = pair(smooth.v, 'logVolumeCI');
  t.diagnostic(`tanh [1] + mse (d=${num(smooth.v, 'd')}, eigenvalues ${Math.min(...smooth.eigen).toPrecision(3)}..${Math.max(...smooth.eigen).toPrecision(3)}, gradient ${(smooth.spectrum['gradientNorm'] as number).toExponential(2)}): sampled ${num(smooth.v, 'logVolume').toFixed(3)} [${slo.toFixed(3)}, ${shi.toFixed(3)}], quadratic ${sq.logVolume.toFixed(3)}`);
  assert.ok(Math.min(...smooth.eigen) > 0, 'positive definite at this minimum');
  assert.ok((smooth.spectrum['gradientNorm'] as number) < 1e-4, 'at a minimum');
  assert.ok(slo <= sq.logVolume && sq.logVolume <= shi, `quadratic ${sq.logVolume} outside [${slo}, ${shi}]`);
  assert.ok(Math.abs(num(smooth.v, 'logVolume') - sq.logVolume) < 0.5, `sampled ${num(smooth.v, 'logVolume')} vs quadratic ${sq.logVolume}`);
});

test(`in-process (${backend}): failures name the remedy; an abort stops between directions`, async () => {
  const { good, goodModel, bad } = await minima;
  const lean: BasinVolumeParams = { ...DEFAULTS, directions: 8, bootstrap: 0 };
  const fails = (inputs: StageContext['inputs'], pattern: RegExp, p: BasinVolumeParams = lean) =>
    assert.rejects(basinVolume.run(context(p, inputs)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  await fails({ data: good.data }, /^basin-volume needs exactly one train node as input `model` \(found inputs data\)/);
  await fails({ model: good.model }, /^basin-volume needs exactly one dataset node as input `data`/);
  await fails({ model: good.data, data: good.data }, /^input model \(data\) has no manifest output: point `inputs.model` at a stage of kind train/);
  await fails({ model: good.model, data: good.model }, /^input data \(good\) is not a dataset stage/);
  await fails({ ...good, hessian: good.model }, /^input hessian \(good\) has no spectrum output: point `inputs.hessian` at a stage of kind hessian/);
  await fails({ ...good, hessian: [...good.data, ...good.data] }, /^basin-volume needs exactly one hessian node as input `hessian` \(found 2 nodes under hessian\)/);
  const spectrumOf = (value: Record<string, JsonValue>) => input('hess', { spectrum: { type: 'json', value } });
  await fails({ ...good, hessian: spectrumOf({ logdet: [], set: { examples: 'train' }, model: { parameters: 7 } }) }, /^input hessian \(hess\) is of a model with 7 parameters, but the model \(good\) has \d+: point `inputs.hessian` at the hessian node of this model/);
  const d = (jsonOf(goodModel['manifest'])['layout'] as Record<string, number>)['size'] as number;
  await fails({ ...good, hessian: spectrumOf({ logdet: [], set: { examples: 'train+attack' }, model: { parameters: d } }) }, /is of the loss over examples: train\+attack, and this stage measures examples: train: set the same `examples` on both/);
  await fails({ ...good, hessian: spectrumOf({ logdet: [], loss: 0.5, set: { examples: 'train', subset: false }, model: { parameters: d } }) }, /^input hessian \(hess\) was measured where the loss is 0.5, but the model \(good\) has loss [0-9.e-]+ on the same examples: it is the Hessian of another model; point `inputs.hessian` at the hessian node of this model/);
  const other = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 4, classes: 3, train: 20, attack: 0, test: 10 }'), {}), nodeId: 'other' as NodeId })).outputs as Record<string, Artifact>;
  await fails({ model: good.model, data: input('other', other) }, /^the model \(good\) takes 3 inputs but other has 4 features: point `inputs.data` at the dataset the model was trained on$/);
  const nan = Float32Array.from(arrayOf(goodModel['params']).data as Float32Array);
  nan[2] = Number.NaN;
  await fails({ model: input('good', { ...goodModel, params: { type: 'array', dtype: 'float32', shape: [nan.length], data: nan } }), data: good.data }, /non-finite parameter \(NaN at index 2\): its training diverged/);
  const zero = new Float32Array(nan.length);
  await fails({ model: input('good', { ...goodModel, params: { type: 'array', dtype: 'float32', shape: [zero.length], data: zero } }), data: good.data }, /span: relative spans scale with \|\|theta\|\|.*use span: \{ type: absolute/);
  const { attack: _dropped, ...oldManifest } = jsonOf(goodModel['manifest']);
  await fails({ model: input('good', { ...goodModel, manifest: { type: 'json', value: oldManifest } }), data: bad.data }, /manifest does not say/, { ...lean, examples: 'train+attack' });

  const controller = new AbortController();
  const progress: Progress[] = [];
  const running = basinVolume.run({ ...context(lean, good, progress, controller.signal), progress: (p) => (progress.push(p), progress.length === 3 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 3);
});

// ---- the real CLI ----

const pipeline = (directions = 16) => `version: 1
name: basins
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 20, test: 30, separation: 4, std: 0.8 } }
  train:
    kind: train
    matrix: { attack: [0, 20] }
    inputs: { data: data }
    with: { model: { hidden: [6], activation: tanh }, optimizer: { name: adam, lr: 0.05 }, batchSize: 100, maxEpochs: 200, attack: "\${matrix.attack}", seed: 1 }
  hessian:
    kind: hessian
    foreach: train
    inputs: { model: train, data: data }
    with: { topK: 2, hutchinson: 0, hutchpp: 0, slq: { runs: 0 }, deltas: [0.001] }
  volume:
    kind: basin-volume
    foreach: train
    inputs: { model: train, data: data, hessian: hessian }
    with: { directions: ${directions}, bootstrap: 200 }
`;

test('CLI: a basin-volume node per trained model; show prints the results; export writes volume.json, radii.npy and censored.npy', async () => {
  const ws = workspaceWith(pipeline());
  const first = await ws.basin('run');
  assert.equal(first.code, 0, first.stderr + first.stdout);
  for (const node of ['volume[attack=0]', 'volume[attack=20]']) assert.match(first.stdout, new RegExp(`done\\s+${node.replace(/[[\]]/g, '\\$&')}\\s+\\S+\\s+log V -?[0-9.]+ \\[.*\\] \\(d 45, 16 sphere directions, \\d+ censored\\), mean log r .*; quadratic .* \\(dense, delta 0.001\\)`));

  const shown = await ws.basin('show', 'volume[attack=20]');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}summary {3}log V /m);
  assert.match(shown.stdout, /^ {2}results {3}\(output volume\)$/m);
  assert.match(shown.stdout, /^ {4}logVolume: -?[0-9.]+$/m);
  assert.match(shown.stdout, /^ {4}logVolumeCI: \[-?[0-9.]+, -?[0-9.]+\]$/m);
  assert.match(shown.stdout, /^ {4}censored: \d+$/m);
  assert.match(shown.stdout, /^ {4}quadratic\.rows\[0\]\.source: "dense"$/m);

  const out = join(ws.dir, 'out');
  const exported = await ws.basin('export', 'volume[attack=20]', '--out', out);
  assert.equal(exported.code, 0, exported.stderr);
  const volume = JSON.parse(readFileSync(join(out, 'volume.json'), 'utf8')) as { logVolume: number; d: number; directions: number; quadratic: { hessian: string } };
  assert.deepEqual([volume.d, volume.directions, volume.quadratic.hessian], [45, 16, 'hessian[attack=20]']);
  const npy = readFileSync(join(out, 'radii.npy'));
  assert.equal(npy.subarray(1, 6).toString('latin1'), 'NUMPY');
  assert.match(npy.toString('latin1', 10, 80), /'descr': '<f8'.*'shape': \(16,\)/);
  assert.match(readFileSync(join(out, 'censored.npy')).toString('latin1', 10, 80), /'descr': '\|u1'.*'shape': \(16,\)/);

  // A basin-volume-only edit reruns only the volume nodes.
  ws.write('basin.yaml', pipeline(20));
  const rerun = await ws.basin('run');
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, /done: 2 ran, 5 cached/);
});
