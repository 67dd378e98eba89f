import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { Rng } from './rng.js';
import type { TF } from './runtime.js';

/**
 * Fully connected networks as pure functions of ONE flat parameter vector. Every landscape metric
 * (Hessian-vector products, random directions, basin radii, interpolation between minima) works on
 * that vector, so the model has no tf.variable and no layers API: params go in, outputs come out,
 * and tf.grad / nested tf.grad with respect to params just work.
 *
 * Layout of the flat vector, layer by layer: W_l as [in, out] row-major, then b_l as [out].
 */
export type Activation = 'relu' | 'tanh' | 'softplus' | 'sigmoid';
export type InitScheme = 'he' | 'glorot' | 'scaled';

export interface MlpSpec {
  readonly inputs: number;
  readonly hidden: readonly number[];
  readonly outputs: number;
  readonly activation: Activation;
  readonly init: InitScheme;
  /** std multiplier for 'scaled' (std = scale/sqrt(fan_in)), default 1 */
  readonly initScale?: number;
  /**
   * Biases start uniform in [-biasScale, biasScale] (absent or 0: all zero). With zero biases every
   * first-layer ReLU hyperplane passes through the origin, which makes memorising points in a
   * low-dimensional input (2-D spirals) very slow.
   */
  readonly biasScale?: number;
}

export interface LayerSlice {
  readonly offset: number;
  readonly shape: readonly number[];
}

export interface MlpLayout {
  readonly spec: MlpSpec;
  /** Total number of parameters d. */
  readonly size: number;
  readonly layers: readonly { readonly weight: LayerSlice /* [in, out] row-major */; readonly bias: LayerSlice /* [out] */ }[];
}

export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'softplus', 'sigmoid'];
export const INIT_SCHEMES: readonly InitScheme[] = ['he', 'glorot', 'scaled'];

export function mlpLayout(spec: MlpSpec): MlpLayout {
  const widths = [spec.inputs, ...spec.hidden, spec.outputs];
  for (const w of widths) {
    if (!Number.isInteger(w) || w < 1) throw new RangeError(`MLP widths must be positive integers, got [${widths.join(', ')}]`);
  }
  const layers: { weight: LayerSlice; bias: LayerSlice }[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    const fanIn = widths[l] as number;
    const fanOut = widths[l + 1] as number;
    const weight = { offset, shape: [fanIn, fanOut] };
    offset += fanIn * fanOut;
    const bias = { offset, shape: [fanOut] };
    offset += fanOut;
    layers.push({ weight, bias });
  }
  return { spec, size: offset, layers };
}

/** The standard deviation of layer weights under each scheme. */
export function initStd(spec: MlpSpec, fanIn: number, fanOut: number): number {
  switch (spec.init) {
    case 'he':
      return Math.sqrt(2 / fanIn);
    case 'glorot':
      return Math.sqrt(2 / (fanIn + fanOut));
    case 'scaled':
      return (spec.initScale ?? 1) / Math.sqrt(fanIn);
  }
}

/**
 * Deterministic init from rng (He: N(0, 2/fan_in), Glorot: N(0, 2/(fan_in+fan_out)), scaled:
 * N(0, scale^2/fan_in)); biases 0, or uniform in [-biasScale, biasScale] drawn after ALL weights (so
 * the weights of a model are the same with and without it). Draws are taken layer by layer in
 * storage order, so the same rng state gives the same vector on every backend (no TF.js random ops,
 * whose streams differ by backend).
 */
export function initParams(layout: MlpLayout, rng: Rng): Float32Array {
  const params = new Float32Array(layout.size);
  for (const { weight } of layout.layers) {
    const [fanIn, fanOut] = weight.shape as [number, number];
    const std = initStd(layout.spec, fanIn, fanOut);
    const end = weight.offset + fanIn * fanOut;
    for (let i = weight.offset; i < end; i++) params[i] = std * rng.normal();
  }
  const b = layout.spec.biasScale ?? 0;
  if (b > 0) {
    for (const { bias } of layout.layers) {
      const end = bias.offset + (bias.shape[0] as number);
      for (let i = bias.offset; i < end; i++) params[i] = b * (2 * rng.uniform() - 1);
    }
  }
  return params;
}

/**
 * Pure function of the flat parameter vector: outputs [batch, outputs], last layer linear (logits
 * for cross-entropy). Weights are tf.slice + reshape views of `params`, so first- and second-order
 * gradients with respect to the flat vector flow through Slice/Reshape. Intermediates are freed by
 * tf.tidy (inside tf.grad the engine keeps what backprop needs).
 */
export function mlpForward(tf: TF, layout: MlpLayout, params: Tensor1D, x: Tensor2D): Tensor2D {
  if (params.shape[0] !== layout.size) {
    throw new Error(`internal error: MLP expects ${layout.size} parameters, got ${params.shape[0]}`);
  }
  return tf.tidy(() => {
    const tensors = layout.layers.flatMap(({ weight, bias }) => {
      const [fanIn, fanOut] = weight.shape as [number, number];
      return [tf.reshape(tf.slice(params, [weight.offset], [fanIn * fanOut]), [fanIn, fanOut]), tf.slice(params, [bias.offset], [fanOut])];
    });
    return layerForward(tf, layout, tensors, x);
  });
}

/**
 * The same network on per-layer tensors [W0, b0, W1, b1, ...] (the training loop keeps weights per
 * layer: on wasm every slice of the flat vector copies it whole).
 */
export function layerForward(tf: TF, layout: MlpLayout, tensors: readonly Tensor[], x: Tensor2D): Tensor2D {
  const last = layout.layers.length - 1;
  return tf.tidy(() => {
    let h: Tensor2D = x;
    layout.layers.forEach((_, l) => {
      const z = tf.add(tf.matMul(h, tensors[2 * l] as Tensor2D), tensors[2 * l + 1] as Tensor1D) as Tensor2D;
      h = l === last ? z : (activate(tf, layout.spec.activation, z) as Tensor2D);
    });
    return h;
  });
}

/** The hidden-layer nonlinearity (layerForward's; exported for evaluators that split the network). */
export function activate(tf: TF, activation: Activation, z: Tensor): Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(z);
    case 'tanh':
      return tf.tanh(z);
    case 'softplus':
      return tf.softplus(z);
    case 'sigmoid':
      return tf.sigmoid(z);
  }
}
