import type { Tensor } from '@tensorflow/tfjs';
import type { TF } from './runtime.js';

/**
 * First-order optimisers as pure functions over float32 tensors: `optimizerStep` takes one
 * parameter tensor (the flat vector, or one layer's weights), its gradient and its optimiser state
 * and returns new ones, touching nothing it was given. The rules are elementwise, so updating a
 * vector piecewise gives exactly the numbers of updating it whole. Call it inside the caller's `tf.tidy` (the training
 * step), keep what it returns and dispose what it replaced.
 *
 * The update rules are PyTorch's (torch.optim, default flags), so runs can be compared with it:
 * - `sgd` and `gd`:  theta <- theta - lr g. (`gd` is the same rule; the training loop feeds it the
 *   gradient of the WHOLE training set, one step per epoch.)
 * - `momentum` (heavy ball, no dampening): v <- mu v + g;  theta <- theta - lr v   (v_0 = 0).
 * - `adam`: m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
 *           theta <- theta - (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps)   (t = 1, 2, ...).
 *   The bias corrections are computed in float64 on the host; only the vectors live in float32.
 */
export type OptimizerName = 'sgd' | 'momentum' | 'adam' | 'gd';

/** The learning rate over epochs: `constant`, or `step` (multiply by `gamma` every `every` epochs). */
export interface ScheduleSpec {
  readonly type: 'constant' | 'step';
  /** Epochs between decays (step schedule). */
  readonly every: number;
  /** Decay factor (step schedule). */
  readonly gamma: number;
}

export interface OptimizerSpec {
  readonly name: OptimizerName;
  readonly lr: number;
  /** Momentum coefficient mu (`momentum` only). */
  readonly momentum: number;
  /** Adam's first-moment decay. */
  readonly beta1: number;
  /** Adam's second-moment decay. */
  readonly beta2: number;
  /** Adam's denominator offset. */
  readonly eps: number;
  readonly schedule: ScheduleSpec;
}

/** The optimiser's state for one tensor: the step count and its slots (none, v, or m and v), shaped like it. */
export interface OptimizerState {
  /** Steps taken so far (Adam's bias corrections use t + 1 for the next step). */
  readonly t: number;
  readonly slots: readonly Tensor[];
}

export interface StepResult<T extends Tensor> {
  readonly params: T;
  readonly state: OptimizerState;
}

/**
 * The learning rate for 1-based `epoch`: lr for the first `every` epochs, then lr * gamma, and so
 * on (PyTorch's StepLR stepped once per epoch).
 */
export function learningRate(spec: OptimizerSpec, epoch: number): number {
  switch (spec.schedule.type) {
    case 'constant':
      return spec.lr;
    case 'step':
      return spec.lr * spec.schedule.gamma ** Math.floor((epoch - 1) / spec.schedule.every);
  }
}

/** Zero state for a parameter tensor of `shape`. The caller owns (and disposes) the slots. */
export function initOptimizerState(tf: TF, spec: OptimizerSpec, shape: readonly number[]): OptimizerState {
  switch (spec.name) {
    case 'sgd':
    case 'gd':
      return { t: 0, slots: [] };
    case 'momentum':
      return { t: 0, slots: [tf.zeros([...shape])] };
    case 'adam':
      return { t: 0, slots: [tf.zeros([...shape]), tf.zeros([...shape])] };
  }
}

/** One update with learning rate `lr` (from `learningRate`). Pure: returns new tensors. */
export function optimizerStep<T extends Tensor>(tf: TF, spec: OptimizerSpec, lr: number, params: T, grad: T, state: OptimizerState): StepResult<T> {
  const t = state.t + 1;
  switch (spec.name) {
    case 'sgd':
    case 'gd':
      return { params: tf.sub(params, tf.mul(grad, lr)) as T, state: { t, slots: [] } };
    case 'momentum': {
      const v = tf.add(tf.mul(slot(state, 0), spec.momentum), grad);
      return { params: tf.sub(params, tf.mul(v, lr)) as T, state: { t, slots: [v] } };
    }
    case 'adam': {
      const m = tf.add(tf.mul(slot(state, 0), spec.beta1), tf.mul(grad, 1 - spec.beta1));
      const v = tf.add(tf.mul(slot(state, 1), spec.beta2), tf.mul(tf.square(grad), 1 - spec.beta2));
      const stepSize = lr / (1 - spec.beta1 ** t);
      const denom = tf.add(tf.mul(tf.sqrt(v), 1 / Math.sqrt(1 - spec.beta2 ** t)), spec.eps);
      return { params: tf.sub(params, tf.mul(tf.div(m, denom), stepSize)) as T, state: { t, slots: [m, v] } };
    }
  }
}

function slot(state: OptimizerState, i: number): Tensor {
  const s = state.slots[i];
  if (!s) throw new Error(`internal error: optimizer state has no slot ${i}`);
  return s;
}
