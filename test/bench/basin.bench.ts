/**
 * Loss-surface benchmark for the basin-geometry stages (basin-volume, slice, sharpness), MLP
 * 784-100-10 (ReLU, cross-entropy) on 1000 examples, wasm, one thread:
 * 1. loss evaluations per second at new points theta + t u, three ways: basin's SurfaceEvaluator (the
 *    first layer's product computed once per direction: src/ml/basin/surface.ts), a plain forward pass
 *    per point (metrics.ts evaluateSet), and PyTorch's forward pass with one thread
 *    (test/bench/torch_eval_peer.py) when `python3 -c "import torch"` works;
 * 2. the wall time of a 200-direction basin volume (the basin-volume stage's defaults) on a model
 *    trained on 1000 MNIST digits.
 *
 *   npm run bench:basin     (or node dist/test/bench/basin.bench.js after a build)
 *
 * Environment: BENCH_SECONDS (time per measured quantity, default 3), BENCH_DIRECTIONS (default 200).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { basinVolume, type BasinVolumeParams } from '../../src/stages/basin-volume.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { StageContext } from '../../src/stages/types.js';
import type { Tensor1D } from '@tensorflow/tfjs';
import { randomDirection } from '../../src/ml/basin/directions.js';
import { SurfaceEvaluator } from '../../src/ml/basin/surface.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet } from '../../src/ml/metrics.js';
import { initParams, mlpLayout } from '../../src/ml/mlp.js';
import { Rng } from '../../src/ml/rng.js';
import { loadTf } from '../../src/ml/runtime.js';
import { oneHot } from '../../src/ml/train-loop.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const DIRECTIONS = Number(process.env['BENCH_DIRECTIONS'] ?? 200);
const TORCH_PEER = fileURLToPath(new URL('../../../test/bench/torch_eval_peer.py', import.meta.url));

function python(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

/** Evaluations per second of `batch` (which evaluates `per` points), over about SECONDS. */
function rate(batch: () => void, per: number): number {
  batch();
  let count = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    batch();
    count += per;
  }
  return (count / (performance.now() - t0)) * 1000;
}

const tf = await loadTf('wasm');
const n = 1000;
const rng = new Rng('basin-bench');
const layout = mlpLayout({ inputs: 784, hidden: [100], outputs: 10, activation: 'relu', init: 'he' });
const theta = initParams(layout, rng.derive('init'));
const x = Float32Array.from({ length: n * 784 }, () => rng.uniform());
const labels = Int32Array.from({ length: n }, () => rng.int(10));
const set = uploadEvalSet(tf, x, oneHot(labels, 10), labels, 784, 10);
const u = randomDirection(layout, theta, 'sphere', rng.derive('direction'));
const ts = Array.from({ length: 24 }, (_, i) => [0.05 * (i + 1)]);

const ev = new SurfaceEvaluator(tf, layout, 'cross-entropy', theta, set);
const surface = rate(() => ev.evaluate([u], ts), ts.length);
ev.dispose();
let step = 0;
const plain = rate(() => {
  const t = 0.01 * ++step;
  const p = tf.tensor1d(Float32Array.from(theta, (w, i) => w + t * (u[i] as number))) as Tensor1D;
  evaluateSet(tf, layout, p, 'cross-entropy', set);
  p.dispose();
}, 1);
disposeEvalSet(set);
const py = python();
let peer: number | undefined;
if (py) {
  const r = spawnSync(py, [TORCH_PEER, '784,100,10', String(n), String(SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch peer failed:\n${r.stderr}`);
  peer = Number(r.stdout.trim());
}
console.log(`basin loss-surface benchmark: wasm, MLP 784-100-10 relu, cross-entropy, ${n} examples (PyTorch peer: ${py ? `${py}, 1 thread` : 'not available'})`);
console.log(`${'loss evaluations/s'.padEnd(44)} ${'evals/s'.padStart(9)} ${'vs PyTorch'.padStart(11)}`);
const row = (name: string, v: number) => console.log(`${name.padEnd(44)} ${v.toFixed(0).padStart(9)} ${(peer ? `${(v / peer).toFixed(2)}x` : '-').padStart(11)}`);
row('basin SurfaceEvaluator (24 points/direction)', surface);
row('basin plain forward pass per point', plain);
if (peer) row('PyTorch forward pass per point (1 thread)', peer);

// ---- 2. a 200-direction basin volume of a trained model ----

function context<P>(params: P, inputs: StageContext['inputs']): StageContext<P> {
  return { nodeId: 'bench' as NodeId, params, inputs, workdir: process.cwd(), runtime: { backend: 'wasm' }, signal: new AbortController().signal, progress: () => {}, log: () => {} };
}
const dataParams = { source: 'mnist', seed: 0, train: 1000, attack: 0, test: 1000, balanced: false, downsample: 1 } as DatasetParams;
const data = (await dataset.run(context(dataParams, {}))).outputs;
const trainParams: TrainParams = {
  model: { hidden: [100], activation: 'relu', init: 'he', initScale: 1 },
  loss: 'cross-entropy',
  optimizer: { name: 'adam', lr: 0.002, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, schedule: { type: 'constant', every: 100, gamma: 0.1 } },
  batchSize: 100,
  attack: 0,
  seed: 0,
  maxEpochs: 300,
  tolerance: 1e-3,
  evalEvery: 1,
};
const model = await train.run(context(trainParams, { data: [{ nodeId: 'data' as NodeId, outputs: data }] }));
const volumeParams: BasinVolumeParams = {
  examples: 'train',
  directions: DIRECTIONS,
  kind: 'sphere',
  threshold: { type: 'relative', value: 0.1 },
  span: { type: 'relative', value: 4 },
  grid: { points: 16, power: 2 },
  bisection: { tol: 1e-3, points: 7 },
  bootstrap: 2000,
  seed: 0,
  chunk: 1000,
};
const t0 = performance.now();
const v = await basinVolume.run(context(volumeParams, { model: [{ nodeId: 'train' as NodeId, outputs: model.outputs }], data: [{ nodeId: 'data' as NodeId, outputs: data }] }));
const seconds = (performance.now() - t0) / 1000;
const info = v.info as { points?: number } | undefined;
console.log(`basin volume, ${DIRECTIONS} unit-sphere directions, MLP 784-100-10 trained on 1000 digits (${model.summary}): ${seconds.toFixed(1)} s (${((seconds / DIRECTIONS) * 1000).toFixed(0)} ms per direction${info?.points ? `, ${info.points} loss evaluations` : ''})`);
console.log(`  ${v.summary}`);
