/**
 * Training-step throughput of the `train` stage's inner step (src/ml/train-loop.ts trainStep):
 * steps per second for a 784-100-10 ReLU MLP, cross-entropy, batch 128, on one backend per
 * process. Compare with docs/tfjs.md (PyTorch 1.13 CPU, 1 thread: 672 steps/s).
 *
 *   npm run build && node dist/test/bench/train-step.bench.js [wasm|cpu] [--optimizer sgd|momentum|adam] [--hidden 100] [--steps 300] [--flat]
 *
 * --flat times the alternative the loop does not use: differentiating mlpForward with respect to
 * the flat parameter vector (same numbers, slower on wasm; see src/ml/train-step.ts).
 *
 * --floor times only the kernel work no training step can avoid: for each layer, the forward
 * product x W and the weight-gradient product x^T g (x transposed once, untransposed multiply, as
 * the BatchMatMul gradient fix does), plus the input-gradient product g W^T for every layer but the
 * first. Nothing else (no activation, loss, optimiser, upload or tidy): an upper bound on the steps/s
 * any TF.js training step can reach on this backend.
 */
import { parseArgs } from 'node:util';
import type { BackendName } from '../../src/ml/backend.js';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { lossFn } from '../../src/ml/loss.js';
import { initParams, mlpForward, mlpLayout } from '../../src/ml/mlp.js';
import { initOptimizerState, optimizerStep, type OptimizerName } from '../../src/ml/optim.js';
import { Rng } from '../../src/ml/rng.js';
import { loadTf } from '../../src/ml/runtime.js';
import { oneHot } from '../../src/ml/train-loop.js';
import { initTrainee, trainStep, type Trainee } from '../../src/ml/train-step.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { floor: { type: 'boolean', default: false }, optimizer: { type: 'string', default: 'sgd' }, hidden: { type: 'string', default: '100' }, steps: { type: 'string', default: '300' }, batch: { type: 'string', default: '128' }, flat: { type: 'boolean', default: false } },
});
const backend = (positionals[0] ?? 'wasm') as BackendName;
const hidden = values.hidden.split(',').map(Number);
const steps = Number(values.steps);
const batch = Number(values.batch);
const tf = await loadTf(backend);

const n = batch * 40;
const rng = new Rng('bench');
const x = Float32Array.from({ length: n * 784 }, () => rng.uniform());
const labels = Int32Array.from({ length: n }, () => rng.int(10));
const layout = mlpLayout({ inputs: 784, hidden, outputs: 10, activation: 'relu', init: 'he' });
const spec = {
  name: values.optimizer as OptimizerName,
  lr: 0.01,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  schedule: { type: 'constant', every: 1, gamma: 1 },
} as const;
const targets = oneHot(labels, 10);
const bx = new Float32Array(batch * 784);
const by = new Float32Array(batch * 10);
const init = initParams(layout, rng.derive('init'));
let current: Trainee = initTrainee(tf, layout, spec, init);
let flat = { params: tf.tensor1d(init), state: initOptimizerState(tf, spec, [layout.size]) };

/** The flat-vector step, for comparison. */
function flatStep(x: Tensor2D, y: Tensor2D): void {
  const { params, state } = flat;
  const next = tf.tidy(() => {
    const grad = tf.grad((q: Tensor) => lossFn(tf, 'cross-entropy', mlpForward(tf, layout, q as Tensor1D, x), y))(params) as Tensor1D;
    const r = optimizerStep(tf, spec, spec.lr, params, grad, state);
    return { params: r.params, slots: [...r.state.slots] };
  });
  tf.dispose([params, ...state.slots]);
  flat = { params: next.params, state: { t: state.t + 1, slots: next.slots } };
}
const order = rng.permutation(n);

/** The unavoidable matrix products of one step on the batch xb (see --floor above). */
function floorStep(xb: Tensor2D): void {
  tf.tidy(() => {
    let a: Tensor2D = xb;
    const weights = current.tensors.filter((_, i) => i % 2 === 0) as Tensor2D[];
    const outs: Tensor2D[] = [];
    for (const w of weights) {
      outs.push(a);
      a = tf.matMul(a, w);
    }
    let g = a;
    for (let l = weights.length - 1; l >= 0; l--) {
      tf.matMul(tf.transpose(outs[l] as Tensor2D), g);
      if (l > 0) g = tf.matMul(g, tf.transpose(weights[l] as Tensor2D));
    }
  });
}

function run(count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    // As the training loop does: copy the batch's rows on the host, upload, step.
    const start = (i * batch) % n;
    order.subarray(start, start + batch).forEach((row, r) => {
      bx.set(x.subarray(row * 784, (row + 1) * 784), r * 784);
      by.set(targets.subarray(row * 10, (row + 1) * 10), r * 10);
    });
    const xb = tf.tensor2d(bx, [batch, 784]);
    const yb = tf.tensor2d(by, [batch, 10]);
    if (values.floor) floorStep(xb);
    else if (values.flat) flatStep(xb, yb);
    else current = trainStep(tf, layout, 'cross-entropy', spec, spec.lr, current, xb, yb);
    tf.dispose([xb, yb]);
  }
  (values.flat ? flat.params : (current.tensors[0] as Tensor)).dataSync(); // wait for the last step
  return performance.now() - t0;
}

run(20); // warm-up
const ms = run(steps);
const perSec = (steps / ms) * 1000;
const gflops = (6 * layout.size * batch * perSec) / 1e9;
console.log(
  `${backend} ${values.floor ? 'kernel floor' : values.optimizer}${values.flat ? ' (flat)' : ''} 784-${hidden.join('-')}-10 batch ${batch}: ${perSec.toFixed(1)} steps/s (${(ms / steps).toFixed(2)} ms/step, ${gflops.toFixed(1)} GFLOP/s), tensors ${tf.memory().numTensors}`,
);
