import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { mlpLayout, type MlpLayout } from '../../src/ml/mlp.js';
import { referenceHessian } from '../../src/ml/reference.js';
import { oneHot } from '../../src/ml/train-loop.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageAborted, StageFailure } from '../../src/stages/failure.js';
import { hessian, type HessianParams } from '../../src/stages/hessian.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import { workspaceWith } from '../engine/rig.js';
import { arrayOf, backend, get, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `hessian` stage: schema defaults; the stage in-process on a real trained model, checked
 * against an independent float64 dense Hessian (reference.ts + ml-matrix) and against its own
 * dense ground truth; the example sets; failures; and the CLI end to end (foreach over a sweep,
 * show, export, cached rerun, a hessian-only change leaving training cached).
 */
const { paramsOf, context, rejects } = stageRig(['dataset', 'train', 'hessian'], 'h');

const DEFAULTS: HessianParams = {
  examples: 'train',
  subset: 0,
  chunk: 1000,
  seed: 0,
  topK: 5,
  bottom: 1,
  lanczos: { maxSteps: 100, tol: 1e-3 },
  hutchinson: 30,
  hutchpp: 30,
  slq: { runs: 4, steps: 30 },
  deltas: [1e-4, 1e-3, 1e-2],
  dense: 'auto',
  denseMaxParams: 1000,
  gaussNewton: false,
};

test('schema: every default is filled in; bad values are config errors', () => {
  assert.deepEqual(paramsOf('h', 'hessian', '{}'), DEFAULTS);
  assert.deepEqual(paramsOf<HessianParams>('h', 'hessian', '{ lanczos: { tol: 1e-6 }, slq: { runs: 0 } }').lanczos, { maxSteps: 100, tol: 1e-6 });
  for (const bad of ['{ hutchinson: 1 }', '{ hutchpp: 2 }', '{ slq: { runs: 1 } }', '{ examples: test }', '{ dense: yes }', '{ deltas: [0] }', '{ topK: 0 }']) {
    assert.ok(rejects('hessian', bad), bad);
  }
});

// ---- in-process, on a real trained model ----


const fixture = (async () => {
  const dataParams = paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 12, test: 30, separation: 4, std: 0.8 }');
  const data = (await dataset.run({ ...context<DatasetParams>(dataParams, {}), nodeId: 'data' as NodeId })).outputs;
  const trainParams = paramsOf<TrainParams>('train', 'train', '{ model: { hidden: [6], activation: tanh }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 400, attack: 12, seed: 1 }');
  const model = (await train.run(context(trainParams, { data: [{ nodeId: 'data' as NodeId, outputs: data }] }))).outputs;
  return { data, model, inputs: { model: [{ nodeId: 'train' as NodeId, outputs: model }], data: [{ nodeId: 'data' as NodeId, outputs: data }] } };
})();

/** The dense float64 Hessian of the mean loss over S (or S + A) and its eigenvalues, descending: an independent reference. */
async function referenceSpectrum(withAttack: boolean): Promise<{ layout: MlpLayout; values: number[] }> {
  const { data, model } = await fixture;
  const manifest = jsonOf(model['manifest']);
  const layout = mlpLayout((manifest['layout'] as unknown as MlpLayout).spec);
  const params = arrayOf(model['params']).data as Float32Array;
  const xs = [arrayOf(data['x_train']).data as Float32Array];
  const ys = [arrayOf(data['y_train']).data as Int32Array];
  if (withAttack) {
    xs.push(arrayOf(data['x_attack']).data as Float32Array);
    ys.push(arrayOf(data['y_attack']).data as Int32Array);
  }
  const x = Float32Array.from(xs.flatMap((a) => Array.from(a)));
  const labels = Int32Array.from(ys.flatMap((a) => Array.from(a)));
  const H = referenceHessian(layout, 'cross-entropy', params, { x, targets: oneHot(labels, 3), n: labels.length });
  const d = layout.size;
  const rows = Array.from({ length: d }, (_, i) => Array.from(H.subarray(i * d, (i + 1) * d)));
  const values = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true }).realEigenvalues.sort((a, b) => b - a);
  return { layout, values };
}

test(`in-process (${backend}): every estimate against an independent dense float64 Hessian`, async (t) => {
  const { inputs } = await fixture;
  const progress: Progress[] = [];
  const r = await hessian.run(context({ ...DEFAULTS, gaussNewton: true }, inputs, progress));
  const s = jsonOf(r.outputs['spectrum']);
  const ref = await referenceSpectrum(false);
  const d = ref.layout.size;
  assert.equal(get(s, 'model.parameters'), d);
  assert.deepEqual(get(s, 'set'), { examples: 'train', train: 40, attack: 0, n: 40, subset: false, chunk: 1000, loss: 'cross-entropy' });

  // The stage's dense ground truth IS the Hessian: its eigenvalues match the reference's.
  const dense = Array.from(arrayOf(r.outputs['dense_eigenvalues']).data as Float64Array).reverse();
  const lmax = ref.values[0] as number;
  const worst = Math.max(...dense.map((v, i) => Math.abs(v - (ref.values[i] as number))));
  t.diagnostic(`d=${d}: lambda_max ${lmax.toPrecision(6)}, dense eigenvalues within ${(worst / lmax).toExponential(2)} lambda_max of the float64 reference`);
  assert.ok(worst <= 1e-4 * lmax, `dense eigenvalues off by ${worst}`);

  // Lanczos top-5 against the reference: relative error <= 1e-3, with residuals reported.
  const top = get(s, 'lanczos.top') as { value: number; residual: number }[];
  assert.equal(top.length, 5);
  top.forEach((e, i) => assert.ok(Math.abs(e.value - (ref.values[i] as number)) <= 1e-3 * Math.abs(ref.values[i] as number), `top ${i}: ${e.value} vs ${ref.values[i]}`));
  assert.ok((get(s, 'lanczos.measuredResiduals') as number[]).every((m, i) => m <= 1e-3 * Math.abs(top[i]!.value)));
  assert.equal(get(s, 'lambdaMax'), top[0]!.value);

  // Stochastic estimates within 3 standard errors of the exact values.
  const exactTrace = ref.values.reduce((a, b) => a + b, 0);
  const exactFrobSq = ref.values.reduce((a, b) => a + b * b, 0);
  for (const [path, se, exact] of [
    ['trace.hutchinson.estimate', 'trace.hutchinson.stdErr', exactTrace],
    ['trace.hutchpp.estimate', 'trace.hutchpp.stdErr', exactTrace],
    ['frobenius.squared', 'frobenius.squaredStdErr', exactFrobSq],
    ['slq.trace.estimate', 'slq.trace.stdErr', exactTrace],
  ] as const) {
    const z = ((get(s, path) as number) - exact) / (get(s, se) as number);
    t.diagnostic(`${path}: ${(get(s, path) as number).toPrecision(5)} vs exact ${exact.toPrecision(5)} (z = ${z.toFixed(2)})`);
    assert.ok(Math.abs(z) <= 3 && (get(s, se) as number) > 0, `${path}: z = ${z}`);
  }

  // SLQ raw quadrature: [runs, steps], weights summing to 1 per run.
  const w = arrayOf(r.outputs['slq_weights']);
  assert.deepEqual(w.shape, [4, 30]);
  for (let run = 0; run < 4; run++) {
    const sum = Array.from((w.data as Float64Array).subarray(run * 30, (run + 1) * 30)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `run ${run}: weights sum to ${sum}`);
  }
  assert.deepEqual(arrayOf(r.outputs['slq_nodes']).shape, [4, 30]);

  // Log-det proxies: over the dense spectrum exactly -1/2 sum log(max(lambda, 0) + delta).
  const logdet = get(s, 'logdet') as { delta: number; dense: { value: number }; topK: { value: number }; slq: { value: number } }[];
  for (const row of logdet) {
    const exact = -0.5 * ref.values.reduce((acc, v) => acc + Math.log(Math.max(v, 0) + row.delta), 0);
    assert.ok(Math.abs(row.dense.value - exact) <= 1e-4 * Math.abs(exact), `delta ${row.delta}: ${row.dense.value} vs ${exact}`);
    const topExact = -0.5 * ref.values.slice(0, 5).reduce((acc, v) => acc + Math.log(Math.max(v, 0) + row.delta), 0);
    assert.ok(Math.abs(row.topK.value - topExact) <= 1e-3 * Math.abs(topExact));
    assert.equal(typeof row.slq.value, 'number');
  }

  // Gauss-Newton: positive semi-definite, and its top eigenvalue near the Hessian's at a minimum.
  const gnMax = get(s, 'gaussNewton.lambdaMax') as number;
  assert.ok(gnMax > 0 && Math.abs(gnMax - lmax) <= 0.5 * lmax, `Gauss-Newton lambda_max ${gnMax} vs Hessian ${lmax}`);

  // Counts, progress, summary.
  const products = get(s, 'products') as Record<string, number>;
  assert.equal(products['dense'], d);
  assert.equal(products['hutchinson'], 30);
  assert.equal(products['total'], (r.info as Record<string, number>)['products']);
  assert.ok(progress.length > 0 && progress.every((p, i) => i === 0 || (p.fraction ?? 0) >= (progress[i - 1]!.fraction ?? 0)));
  assert.ok(progress.every((p) => (p.fraction ?? 0) <= 1));
  assert.match(r.summary ?? '', /^lambda_max [0-9.e-]+ \(relative residual [0-9.e+-]+\), trace [0-9.e-]+ \+- [0-9.e-]+, \|\|H\|\|_F [0-9.e-]+, \d+ products$/);
});

test(`in-process (${backend}): train+attack is the loss the model was trained on; subsets are seeded and reproducible`, async () => {
  const { inputs } = await fixture;
  const lean = { ...DEFAULTS, hutchinson: 0, hutchpp: 0, slq: { runs: 0, steps: 30 }, dense: 'off' as const };
  const both = jsonOf((await hessian.run(context({ ...lean, examples: 'train+attack' as const }, inputs))).outputs['spectrum']);
  assert.deepEqual([get(both, 'set.attack'), get(both, 'set.n')], [12, 52]);
  // Accuracy against the labels trained on (the attack examples' wrong ones): the train stage's fit on S and A.
  const fit = jsonOf((await fixture).model['metrics']);
  const expectedAcc = (40 * (fit['trainAcc'] as number) + 12 * (fit['attackAcc'] as number)) / 52;
  assert.ok(Math.abs((get(both, 'accuracy') as number) - expectedAcc) < 1e-9, `${get(both, 'accuracy')} vs ${expectedAcc}`);
  const ref = await referenceSpectrum(true);
  assert.ok(Math.abs((get(both, 'lambdaMax') as number) - (ref.values[0] as number)) <= 1e-3 * (ref.values[0] as number));

  const sub = async (seed: number) => jsonOf((await hessian.run(context({ ...lean, subset: 20, seed }, inputs))).outputs['spectrum']);
  const [a, b, c] = [await sub(0), await sub(0), await sub(1)];
  assert.equal(get(a, 'set.n'), 20);
  assert.equal(get(a, 'set.subset'), true);
  assert.equal(get(a, 'lambdaMax'), get(b, 'lambdaMax'));
  assert.notEqual(get(a, 'lambdaMax'), get(c, 'lambdaMax'));
  // No dense, no SLQ: those outputs are absent, and the spectrum says so.
  assert.deepEqual([get(a, 'dense'), get(a, 'slq')], [null, null]);
});

test(`in-process (${backend}): failures name the remedy; an abort stops between products`, async () => {
  const { data, model, inputs } = await fixture;
  const fails = async (inputsOf: StageContext['inputs'], pattern: RegExp, p: HessianParams = DEFAULTS) =>
    assert.rejects(hessian.run(context(p, inputsOf)), (e: unknown) => e instanceof StageFailure && pattern.test(e.message));
  await fails({ data: inputs.data }, /^hessian needs exactly one train node as input `model` \(found inputs data\)/);
  await fails({ model: inputs.model }, /^hessian needs exactly one dataset node as input `data`/);
  await fails({ model: inputs.data, data: inputs.data }, /^input model \(data\) has no manifest output: point `inputs.model` at a stage of kind train/);
  const other = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, dims: 4, classes: 3, train: 20, attack: 0, test: 10 }'), {}), nodeId: 'other' as NodeId })).outputs;
  await fails({ model: inputs.model, data: [{ nodeId: 'other' as NodeId, outputs: other }] }, /^the model \(train\) takes 3 inputs but other has 4 features: point `inputs.data` at the dataset the model was trained on$/);
  const nan = Float32Array.from(arrayOf(model['params']).data as Float32Array);
  nan[3] = Number.NaN;
  await fails({ model: [{ nodeId: 'train' as NodeId, outputs: { ...model, params: { type: 'array', dtype: 'float32', shape: [nan.length], data: nan } } }], data: inputs.data }, /non-finite parameter \(NaN at index 3\): its training diverged/);
  const { attack: _dropped, ...oldManifest } = jsonOf(model['manifest']);
  await fails({ model: [{ nodeId: 'train' as NodeId, outputs: { ...model, manifest: { type: 'json', value: oldManifest } } }], data: [{ nodeId: 'data' as NodeId, outputs: data }] }, /manifest does not say/, { ...DEFAULTS, examples: 'train+attack' });

  const controller = new AbortController();
  const progress: Progress[] = [];
  const running = hessian.run({ ...context(DEFAULTS, inputs, progress, controller.signal), progress: (p) => (progress.push(p), progress.length === 4 && controller.abort()) });
  await assert.rejects(running, (e: unknown) => e instanceof StageAborted);
  assert.equal(progress.length, 4);
});

// ---- the real CLI ----

const pipeline = (topK = 3) => `version: 1
name: curvature
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 8, test: 30, separation: 4, std: 0.8 } }
  train:
    kind: train
    matrix: { seed: [0, 1], attack: [0, 8] }
    inputs: { data: data }
    with: { model: { hidden: [6] }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 200, attack: "\${matrix.attack}", seed: "\${matrix.seed}" }
  hessian:
    kind: hessian
    foreach: train
    inputs: { model: train, data: data }
    with: { topK: ${topK}, hutchinson: 10, hutchpp: 12, slq: { runs: 2, steps: 10 } }
`;

test('CLI: a hessian node per trained model; show prints the results; export writes them; a hessian-only edit reruns only hessian', async () => {
  const ws = workspaceWith(pipeline());
  const first = await ws.basin('run');
  assert.equal(first.code, 0, first.stderr + first.stdout);
  for (const node of ['hessian[seed=0,attack=0]', 'hessian[seed=1,attack=8]']) assert.match(first.stdout, new RegExp(`done\\s+${node.replace(/[[\]]/g, '\\$&')}\\s+\\S+\\s+lambda_max `));

  const shown = await ws.basin('show', 'hessian[seed=0,attack=8]');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^ {2}summary {3}lambda_max /m);
  assert.match(shown.stdout, /^ {2}results {3}\(output spectrum\)$/m);
  assert.match(shown.stdout, /^ {4}lambdaMax: [0-9.]+$/m);
  assert.match(shown.stdout, /^ {4}dense\.lambdaMax: [0-9.]+$/m);

  const out = join(ws.dir, 'out');
  const exported = await ws.basin('export', 'hessian[seed=0,attack=8]', '--out', out);
  assert.equal(exported.code, 0, exported.stderr);
  const spectrum = JSON.parse(readFileSync(join(out, 'spectrum.json'), 'utf8')) as { lambdaMax: number; dense: { lambdaMax: number } };
  assert.ok(Math.abs(spectrum.lambdaMax - spectrum.dense.lambdaMax) <= 1e-3 * spectrum.dense.lambdaMax);
  const npy = readFileSync(join(out, 'slq_nodes.npy'));
  assert.equal(npy.subarray(1, 6).toString('latin1'), 'NUMPY');
  assert.match(npy.toString('latin1', 10, 80), /'descr': '<f8'.*'shape': \(2, 10\)/);

  const cached = await ws.basin('run');
  assert.equal(cached.code, 0);
  assert.match(cached.stdout, /done: 0 ran, 9 cached/);

  ws.write('basin.yaml', pipeline(4));
  const plan = await ws.basin('plan');
  assert.match(plan.stdout, /hessian\[seed=0,attack=0\].*params changed: topK 3 -> 4/);
  const rerun = await ws.basin('run');
  assert.match(rerun.stdout, /done: 4 ran, 5 cached/);
});
