import type { LossName } from './loss.js';
import { initParams, mlpLayout, type Activation, type MlpLayout, type MlpSpec } from './mlp.js';
import { Rng } from './rng.js';

/**
 * An independent float64 plain-JS MLP for tests: forward, loss, analytic gradient (hand-written
 * backprop, no TF.js) and a dense Hessian. It follows mlp.ts's flat layout and loss.ts's
 * conventions (mean over the batch; mse = mean of 0.5 * sum_k (o - t)^2), and nothing else from them.
 *
 * The Hessian is central differences of the analytic float64 gradient, column by column, then
 * symmetrised. Its error is O(h^2) truncation plus ~1e-16/h rounding: about 1e-9 relative at the
 * default h = 1e-5, far below float32's 1e-7 and any test tolerance. For ReLU nets the gradient is
 * smooth only while no pre-activation changes sign; referenceHessian checks that every perturbed
 * evaluation kept the activation pattern and throws otherwise (pick another seed or a smaller h).
 */
export interface ReferenceBatch {
  /** Row-major [n, inputs]. */
  readonly x: ArrayLike<number>;
  /** Row-major [n, outputs]: one-hot rows or real targets. */
  readonly targets: ArrayLike<number>;
  readonly n: number;
}

interface Pass {
  /** Pre-activations per layer, [n, width] each. */
  readonly z: Float64Array[];
  /** Layer inputs: a[0] = x, a[l] = act(z[l-1]). */
  readonly a: Float64Array[];
}

function forwardPass(layout: MlpLayout, params: ArrayLike<number>, x: ArrayLike<number>, n: number): Pass {
  const z: Float64Array[] = [];
  const a: Float64Array[] = [Float64Array.from(x)];
  const last = layout.layers.length - 1;
  layout.layers.forEach(({ weight, bias }, l) => {
    const [fanIn, fanOut] = weight.shape as [number, number];
    const input = a[l] as Float64Array;
    const out = new Float64Array(n * fanOut);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fanOut; j++) {
        let s = params[bias.offset + j] as number;
        for (let k = 0; k < fanIn; k++) s += (input[i * fanIn + k] as number) * (params[weight.offset + k * fanOut + j] as number);
        out[i * fanOut + j] = s;
      }
    }
    z.push(out);
    if (l < last) a.push(out.map((v) => act(layout.spec.activation, v)));
  });
  return { z, a };
}

function act(f: Activation, v: number): number {
  switch (f) {
    case 'relu':
      return v > 0 ? v : 0;
    case 'tanh':
      return Math.tanh(v);
    case 'softplus':
      return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
    case 'sigmoid':
      return sigmoid(v);
  }
}

/** d act / d z. ReLU's derivative at exactly 0 is 0, as in TF.js (step(0) = 0). */
function actPrime(f: Activation, v: number): number {
  switch (f) {
    case 'relu':
      return v > 0 ? 1 : 0;
    case 'tanh': {
      const t = Math.tanh(v);
      return 1 - t * t;
    }
    case 'softplus':
      return sigmoid(v);
    case 'sigmoid': {
      const s = sigmoid(v);
      return s * (1 - s);
    }
  }
}

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** Outputs (logits) [n, outputs], row-major. */
export function referenceForward(layout: MlpLayout, params: ArrayLike<number>, x: ArrayLike<number>, n: number): Float64Array {
  return forwardPass(layout, params, x, n).z.at(-1) as Float64Array;
}

/** The loss of given outputs [n, k] and its gradient with respect to them, in float64. */
export function referenceOutputLoss(loss: LossName, out: ArrayLike<number>, targets: ArrayLike<number>, n: number, k: number): { value: number; dOut: Float64Array } {
  const dOut = new Float64Array(n * k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = Float64Array.from({ length: k }, (_, j) => out[i * k + j] as number);
    if (loss === 'mse') {
      for (let j = 0; j < k; j++) {
        const r = (row[j] as number) - (targets[i * k + j] as number);
        total += 0.5 * r * r;
        dOut[i * k + j] = r / n;
      }
    } else {
      const m = Math.max(...row);
      let se = 0;
      for (let j = 0; j < k; j++) se += Math.exp((row[j] as number) - m);
      const lse = m + Math.log(se);
      let tsum = 0;
      for (let j = 0; j < k; j++) {
        const t = targets[i * k + j] as number;
        total -= t * ((row[j] as number) - lse);
        tsum += t;
      }
      // d/do_j of -sum_k t_k log p_k = p_j * sum_k t_k - t_j (sum t = 1 for one-hot rows).
      for (let j = 0; j < k; j++) dOut[i * k + j] = (Math.exp((row[j] as number) - lse) * tsum - (targets[i * k + j] as number)) / n;
    }
  }
  return { value: total / n, dOut };
}

export function referenceLoss(layout: MlpLayout, loss: LossName, params: ArrayLike<number>, batch: ReferenceBatch): number {
  const out = referenceForward(layout, params, batch.x, batch.n);
  return referenceOutputLoss(loss, out, batch.targets, batch.n, layout.spec.outputs).value;
}

/** Analytic gradient of the loss w.r.t. the flat parameter vector, by hand-written backprop. */
export function referenceGradient(layout: MlpLayout, loss: LossName, params: ArrayLike<number>, batch: ReferenceBatch): Float64Array {
  return backprop(layout, loss, params, batch).grad;
}

function backprop(layout: MlpLayout, loss: LossName, params: ArrayLike<number>, batch: ReferenceBatch): { grad: Float64Array; pattern: Uint8Array } {
  const { n } = batch;
  const { z, a } = forwardPass(layout, params, batch.x, n);
  const grad = new Float64Array(layout.size);
  let dz = referenceOutputLoss(loss, z.at(-1) as Float64Array, batch.targets, n, layout.spec.outputs).dOut;
  for (let l = layout.layers.length - 1; l >= 0; l--) {
    const { weight, bias } = layout.layers[l] as MlpLayout['layers'][number];
    const [fanIn, fanOut] = weight.shape as [number, number];
    const input = a[l] as Float64Array;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < fanOut; j++) {
        const d = dz[i * fanOut + j] as number;
        grad[bias.offset + j] = (grad[bias.offset + j] as number) + d;
        for (let k = 0; k < fanIn; k++) {
          const w = weight.offset + k * fanOut + j;
          grad[w] = (grad[w] as number) + (input[i * fanIn + k] as number) * d;
        }
      }
    }
    if (l === 0) break;
    const zPrev = z[l - 1] as Float64Array;
    const dPrev = new Float64Array(n * fanIn);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < fanIn; k++) {
        let s = 0;
        for (let j = 0; j < fanOut; j++) s += (dz[i * fanOut + j] as number) * (params[weight.offset + k * fanOut + j] as number);
        dPrev[i * fanIn + k] = s * actPrime(layout.spec.activation, zPrev[i * fanIn + k] as number);
      }
    }
    dz = dPrev;
  }
  const hidden = z.slice(0, -1);
  const pattern = new Uint8Array(hidden.reduce((s, h) => s + h.length, 0));
  let p = 0;
  for (const h of hidden) for (const v of h) pattern[p++] = v > 0 ? 1 : 0;
  return { grad, pattern };
}

/** Dense symmetric Hessian [d, d] row-major, by central differences of the analytic gradient. */
export function referenceHessian(layout: MlpLayout, loss: LossName, params: ArrayLike<number>, batch: ReferenceBatch, h = 1e-5): Float64Array {
  const d = layout.size;
  const w = Float64Array.from(params);
  const base = backprop(layout, loss, w, batch).pattern;
  const H = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const w0 = w[j] as number;
    w[j] = w0 + h;
    const plus = backprop(layout, loss, w, batch);
    w[j] = w0 - h;
    const minus = backprop(layout, loss, w, batch);
    w[j] = w0;
    if (layout.spec.activation === 'relu' && !(samePattern(base, plus.pattern) && samePattern(base, minus.pattern))) {
      throw new Error(`referenceHessian: a ReLU changed sign within h = ${h} of parameter ${j}; use another seed or a smaller h`);
    }
    for (let i = 0; i < d; i++) H[i * d + j] = ((plus.grad[i] as number) - (minus.grad[i] as number)) / (2 * h);
  }
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const s = ((H[i * d + j] as number) + (H[j * d + i] as number)) / 2;
      H[i * d + j] = s;
      H[j * d + i] = s;
    }
  }
  return H;
}

function samePattern(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** y = M v for a dense row-major [d, d] matrix. */
export function matVec(M: ArrayLike<number>, v: ArrayLike<number>): Float64Array {
  const d = v.length;
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (M[i * d + j] as number) * (v[j] as number);
    y[i] = s;
  }
  return y;
}

/** ||a - b|| / ||b|| in float64 (b is the reference). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const bi = b[i] as number;
    num += ((a[i] as number) - bi) ** 2;
    den += bi * bi;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export interface TinyProblem {
  readonly layout: MlpLayout;
  readonly loss: LossName;
  /** float32, so TF.js and the reference see exactly the same numbers. */
  readonly params: Float32Array;
  readonly x: Float32Array;
  readonly targets: Float32Array;
  /** Class labels (argmax of one-hot targets) for cross-entropy, else zeros. */
  readonly labels: Int32Array;
  readonly n: number;
}

/**
 * A seeded random problem for tests: inputs N(0, 1), one-hot targets for cross-entropy, N(0, 1)
 * targets for mse, params from initParams with biases set to N(0, 0.1^2) so bias gradients and
 * curvature are not special-cased by zeros.
 */
export function tinyProblem(spec: MlpSpec, loss: LossName, n: number, seed: number | string): TinyProblem {
  const rng = new Rng(seed);
  const layout = mlpLayout(spec);
  const params = initParams(layout, rng.derive('init'));
  const biasRng = rng.derive('bias');
  for (const { bias } of layout.layers) for (let j = 0; j < (bias.shape[0] as number); j++) params[bias.offset + j] = 0.1 * biasRng.normal();
  const data = rng.derive('data');
  const x = Float32Array.from({ length: n * spec.inputs }, () => data.normal());
  const k = spec.outputs;
  const targets = new Float32Array(n * k);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (loss === 'cross-entropy') {
      labels[i] = data.int(k);
      targets[i * k + (labels[i] as number)] = 1;
    } else {
      for (let j = 0; j < k; j++) targets[i * k + j] = data.normal();
    }
  }
  return { layout, loss, params, x, targets, labels, n };
}
