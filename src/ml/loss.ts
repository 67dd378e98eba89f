import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { TF } from './runtime.js';

export type LossName = 'cross-entropy' | 'mse';
export const LOSS_NAMES: readonly LossName[] = ['cross-entropy', 'mse'];

/**
 * Mean over the batch. targets: float32 [batch, k]: one-hot rows for classification, real targets
 * for regression.
 *
 * - cross-entropy: -(1/n) sum_i sum_k t_ik log softmax(o_i)_k, with a hand-written log-softmax.
 *   tf.losses.softmaxCrossEntropy and tf.logSoftmax use custom gradients built on saved outputs,
 *   which makes Hessian-vector products silently wrong (docs/tfjs.md: ~72% off). Here log-softmax is
 *   o - m - log(sum(exp(o - m))) from ordinary ops whose gradients installGradientFixes makes
 *   differentiable; m is the row max, for stability only, taken through stopGradient (the value is
 *   invariant to m, so its exact derivative contribution is zero anyway).
 * - mse: (1/n) sum_i 0.5 * sum_k (o_ik - t_ik)^2. The 0.5 makes the gradient w.r.t. the outputs
 *   exactly (o - t)/n and the Gauss-Newton part of the Hessian J^T J / n (the convention of the
 *   paper's squared-loss theory); reference.ts uses the same convention.
 */
export function lossFn(tf: TF, loss: LossName, outputs: Tensor2D, targets: Tensor2D): Scalar {
  if (outputs.shape[0] !== targets.shape[0] || outputs.shape[1] !== targets.shape[1]) {
    throw new Error(`internal error: loss of outputs [${outputs.shape.join(', ')}] against targets [${targets.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    switch (loss) {
      case 'cross-entropy': {
        const logp = logSoftmaxRows(tf, outputs);
        return tf.neg(tf.mean(tf.sum(tf.mul(targets, logp), 1)));
      }
      case 'mse': {
        const r = tf.sub(outputs, targets);
        return tf.mul(0.5, tf.mean(tf.sum(tf.square(r), 1)));
      }
    }
  }) as Scalar;
}

/** Stable, second-order-safe log-softmax over the last axis of a [batch, k] tensor. */
export function logSoftmaxRows(tf: TF, logits: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const shifted = tf.sub(logits, rowMaxConstant(tf, logits));
    return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true))) as Tensor2D;
  });
}

/**
 * The row max [batch, 1] as a constant of differentiation. TF.js has no stopGradient op; a customGrad
 * runs its forward with the tape off, so the Max never enters the tape and its zero gradient is
 * exact at every order.
 */
function rowMaxConstant(tf: TF, logits: Tensor2D): Tensor {
  const op = tf.customGrad((...args) => {
    const x = args[0] as Tensor;
    return { value: tf.max(x, 1, true), gradFunc: () => tf.zeros(x.shape) };
  });
  return op(logits);
}

/**
 * Accuracy helper: fraction of rows whose argmax matches the label (int32 labels). Downloads one
 * number. An empty batch has no accuracy: NaN, for the caller to report as missing.
 */
export function accuracy(tf: TF, outputs: Tensor2D, labels: Tensor1D): number {
  const n = outputs.shape[0];
  if (labels.shape[0] !== n) throw new Error(`internal error: accuracy of ${n} outputs against ${labels.shape[0]} labels`);
  if (n === 0) return Number.NaN;
  const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(outputs, 1), tf.cast(labels, 'int32')), 'float32')));
  const count = correct.dataSync()[0] as number;
  correct.dispose();
  return count / n;
}
