import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { mlpLayout, type MlpLayout } from '../../src/ml/mlp.js';
import { referenceForward, referenceHessian } from '../../src/ml/reference.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageFailure } from '../../src/stages/failure.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import { twoLayer } from '../../src/stages/two-layer.js';
import type { Outputs } from '../../src/stages/artifact.js';
import { arrayOf, jsonOf, stageRig } from './stage-rig.js';

/**
 * The `two-layer` stage: each term of the 2-layer theory on a trained 1-50-1 tanh network, against
 * independent float64 computations (the c-block of the dense reference Hessian, central differences
 * of the reference forward pass for the input gradients, the weights themselves).
 */
const { paramsOf, context } = stageRig(['dataset', 'train', 'two-layer'], 't');
const node = (id: string, outputs: Outputs) => [{ nodeId: id as NodeId, outputs }];

const fixture = (async () => {
  const data = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: regression-1d, train: 12, test: 20 }'), {}), nodeId: 'data' as NodeId })).outputs;
  const model = (
    await train.run(context(paramsOf<TrainParams>('train', 'train', '{ model: { hidden: [8], activation: tanh }, loss: mse, optimizer: { name: adam, lr: 0.02 }, batchSize: 12, maxEpochs: 300 }'), { data: node('data', data) }))
  ).outputs;
  return { data, model };
})();

test('each term against an independent float64 computation', async () => {
  const { data, model } = await fixture;
  const r = await twoLayer.run(context({}, { model: node('train', model), data: node('data', data) }));
  const m = jsonOf(r.outputs['metrics']) as Record<string, number>;
  const layout = mlpLayout((jsonOf(model['manifest'])['layout'] as unknown as MlpLayout).spec);
  const theta = arrayOf(model['params']).data as Float32Array;
  const x = arrayOf(data['x_train']).data as Float32Array;
  const y = arrayOf(data['y_train']).data as Float32Array;
  const n = y.length;
  // The c-block of the dense Hessian of the 0.5 * MSE mean loss.
  const H = referenceHessian(layout, 'mse', theta, { x, targets: y, n });
  const d = layout.size;
  const c = layout.layers[0]!.bias;
  let hc = 0;
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) hc += (H[(c.offset + i) * d + c.offset + j] as number) ** 2;
  assert.ok(Math.abs(m['hessianCFrobeniusSq']! - hc) <= 1e-4 * hc, `${m['hessianCFrobeniusSq']} vs ${hc}`);
  // (1/n) sum (df/dx)^2 by central differences of the float64 forward pass (one input).
  const h = 1e-5;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const f = (v: number) => referenceForward(layout, theta, [v], 1)[0] as number;
    energy += ((f((x[i] as number) + h) - f((x[i] as number) - h)) / (2 * h)) ** 2;
  }
  energy /= n;
  assert.ok(Math.abs(m['inputGradEnergy']! - energy) <= 1e-4 * energy, `${m['inputGradEnergy']} vs ${energy}`);
  const w = layout.layers[0]!.weight;
  const b2 = Array.from(theta.subarray(w.offset, w.offset + 8)).reduce((s, v) => s + v * v, 0);
  assert.ok(Math.abs(m['weightsBFrobenius4']! - b2 * b2) <= 1e-9 * b2 * b2);
  // tr H_c from the dense Hessian; tr G_c = (1/n) sum_i sum_k a_k^2 tanh'(b_k x_i + c_k)^2 by hand.
  let trH = 0;
  for (let k = 0; k < 8; k++) trH += H[(c.offset + k) * d + c.offset + k] as number;
  const a = layout.layers[1]!.weight;
  let trG = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 8; k++) {
      const z = (theta[w.offset + k] as number) * (x[i] as number) + (theta[c.offset + k] as number);
      trG += ((theta[a.offset + k] as number) * (1 - Math.tanh(z) ** 2)) ** 2;
    }
  }
  trG /= n;
  assert.ok(Math.abs(m['traceHc']! - trH) <= 1e-4 * Math.abs(trH), `${m['traceHc']} vs ${trH}`);
  assert.ok(Math.abs(m['traceGc']! - trG) <= 1e-4 * trG, `${m['traceGc']} vs ${trG}`);
  assert.ok(Math.abs(m['complexityBound']! - b2 * trG) <= 1e-4 * b2 * trG);
  // The bound holds (Cauchy-Schwarz), and for one input it is not loose by orders of magnitude.
  assert.ok(m['boundRatio']! <= 1 + 1e-6 && m['boundRatio']! > 0.01, `ratio ${m['boundRatio']}`);
  assert.equal(m['width'], 8);
  assert.equal(m['examples'], n);
  assert.match(r.summary ?? '', /^complexity [0-9.e+-]+ <= \|\|B\|\|_F\^2 tr G_c [0-9.e+-]+ \(ratio [0-9.e+-]+\), tr H_c [0-9.e+-]+, \|\|H_c\|\|_F\^2 [0-9.e+-]+, \|\|B\|\|_F\^4 [0-9.e+-]+, sqrt\(L_S\) [0-9.e+-]+ \(width 8, 12 examples\)$/);
});

test('a network outside the theory (two hidden layers, cross-entropy) is refused with the remedy', async () => {
  const blobs = (await dataset.run({ ...context(paramsOf<DatasetParams>('data', 'dataset', '{ source: gaussian-mixture, train: 20, attack: 0, test: 10 }'), {}), nodeId: 'data' as NodeId })).outputs;
  const deep = (await train.run(context(paramsOf<TrainParams>('train', 'train', '{ model: { hidden: [4, 4] }, maxEpochs: 2 }'), { data: node('data', blobs) }))).outputs;
  await assert.rejects(
    twoLayer.run(context({}, { model: node('deep', deep), data: node('data', blobs) })),
    (e: unknown) => e instanceof StageFailure && /^the 2-layer theory is about .*the model \(deep\) is 2-4-4-2 trained on cross-entropy: train one hidden layer, one output \(a regression set\) and loss: mse$/.test(e.message),
  );
});
