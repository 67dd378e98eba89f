import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { lossFn, type LossName } from './loss.js';
import { layerForward, type MlpLayout } from './mlp.js';
import { initOptimizerState, optimizerStep, type OptimizerSpec, type OptimizerState } from './optim.js';
import type { TF } from './runtime.js';

/**
 * The training step, with the parameters held PER LAYER while training. The model is still
 * mlp.ts's: `layerForward` (mlp.ts) is what mlpForward runs (same matMul, add and activation, in
 * the same order) on the weight tensors mlpForward would slice from the flat vector, so outputs,
 * gradients and updates are bit-identical to training the flat vector (train-step.test.ts checks
 * this for every activation and optimiser); `flatParams` gives the flat vector back.
 *
 * Why not differentiate the flat vector directly: on the wasm backend every tf.slice copies its
 * whole input to the host (Slice reads it with readSync), and the gradient of each slice is a
 * full-length pad added into the others. For 784-100-10 that is 4 copies, 4 pads and 3 adds of a
 * 79,510-float vector per step, about 20% of the step (measured in test/bench/train-step.bench.ts).
 */
export interface Trainee {
  /** In layout order: weight [in, out] then bias [out], layer by layer. */
  readonly tensors: readonly Tensor[];
  /** One optimiser state per tensor. */
  readonly states: readonly OptimizerState[];
}

/** Tensors for the flat parameter vector `flat` (in `layout`), and zero optimiser state. */
export function initTrainee(tf: TF, layout: MlpLayout, spec: OptimizerSpec, flat: Float32Array): Trainee {
  const tensors: Tensor[] = [];
  let offset = 0;
  for (const part of layout.layers.flatMap(({ weight, bias }) => [weight, bias])) {
    // flatParams concatenates in this order: the layout must be exactly that, without gaps.
    if (part.offset !== offset) throw new Error(`internal error: MLP layout is not [W0, b0, W1, b1, ...] back to back (offset ${part.offset}, expected ${offset})`);
    const size = part.shape.reduce((a, b) => a * b, 1);
    tensors.push(tf.tensor(flat.subarray(offset, offset + size), [...part.shape]));
    offset += size;
  }
  return { tensors, states: tensors.map((t) => initOptimizerState(tf, spec, t.shape)) };
}

/** The flat parameter vector (mlp.ts layout) as a new tensor; the caller disposes it. */
export function flatParams(tf: TF, trainee: Trainee): Tensor1D {
  return tf.tidy(() => tf.concat(trainee.tensors.map((t) => tf.reshape(t, [-1]))) as Tensor1D);
}

export function disposeTrainee(tf: TF, trainee: Trainee): void {
  tf.dispose([...trainee.tensors, ...trainee.states.flatMap((s) => s.slots)]);
}

/**
 * One optimiser step on the batch (x, y), in one tf.tidy: gradient of the batch-mean loss with
 * respect to every layer tensor, then the update. Disposes `current` (not the batch) and returns
 * its successor, so a caller holding only the latest Trainee never leaks.
 */
export function trainStep(tf: TF, layout: MlpLayout, loss: LossName, spec: OptimizerSpec, lr: number, current: Trainee, x: Tensor2D, y: Tensor2D): Trainee {
  const next = tf.tidy(() => {
    const grads = tf.grads((...ws: Tensor[]) => lossFn(tf, loss, layerForward(tf, layout, ws, x), y))([...current.tensors]);
    const tensors: Tensor[] = [];
    const slots: Tensor[][] = [];
    current.tensors.forEach((t, i) => {
      const r = optimizerStep(tf, spec, lr, t, grads[i] as Tensor, current.states[i] as OptimizerState);
      tensors.push(r.params);
      slots.push([...r.state.slots]);
    });
    return { tensors, slots };
  });
  disposeTrainee(tf, current);
  return { tensors: next.tensors, states: next.slots.map((slots, i) => ({ t: (current.states[i] as OptimizerState).t + 1, slots })) };
}
