import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { TF } from './runtime.js';

/**
 * Replacement gradients for TF.js kernels, registered globally with `tf.registerGradient`.
 *
 * Why (see docs/tfjs.md):
 * - Second order. Stock gradients of Exp, Sigmoid, Tanh, Elu, Softmax, LogSoftmax, Pow and Max/Min
 *   use the op's saved OUTPUT. The engine saves a clone of that output made before the op is on the
 *   tape, so differentiating the gradient again loses the output's dependence on the input:
 *   Hessian-vector products come out silently wrong (tanh nets 5-83% off) or throw. Every gradient
 *   here recomputes what it needs from the saved INPUT with ordinary ops, so it is itself
 *   differentiable, to any order.
 * - Equal, Greater, Less... have no gradient at all, so differentiating a gradient that builds a mask
 *   (Max, Min, Elu, Pow) throws. Their outputs are piecewise constant in the inputs: we register a
 *   zero gradient.
 * - Speed. The wasm BatchMatMul kernel is ~10x slower with transposeA/transposeB set, and the stock
 *   matMul gradient always sets one. We transpose explicitly and multiply untransposed: the same
 *   numbers (a 784-100-10 gradient is bit-identical on cpu and wasm), faster training on wasm. Measured
 *   for this file (784-100-10, batch 128, relu, cross-entropy, wasm, on a shared 2-core machine under
 *   load 4-6, so absolute numbers are low): 33-40 SGD steps/s stock or with every fix but this one,
 *   89-156 steps/s with it; HVPs 15-25/s vs 41-60/s. docs/tfjs.md has quiet-machine numbers (55-77 vs 334).
 *
 * Relu needs no fix: its gradient is dy * step(x) and Step's gradient is zero, which is right (the
 * second derivative of relu is zero almost everywhere). Softplus is re-registered only to make the
 * dependency explicit: its stock gradient already uses sigmoid(x) of the input, and the Sigmoid fix
 * below makes that differentiable.
 */
export function installGradientFixes(tf: TF): void {
  if (installed.has(tf)) return;
  for (const config of gradientFixes(tf)) tf.registerGradient(config);
  installed.add(tf);
}

const installed = new WeakSet<object>();

/** The replacement configs (exported for tests that compare against the stock ones). */
export function gradientFixes(tf: TF): GradConfig[] {
  const unary = (kernelName: string, derivative: (x: Tensor) => Tensor): GradConfig => ({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as Tensor, derivative(first(saved))) }),
  });

  return [
    batchMatMul(tf),
    unary('Exp', (x) => tf.exp(x)),
    unary('Sigmoid', (x) => {
      const s = tf.sigmoid(x);
      return tf.mul(s, tf.sub(1, s));
    }),
    unary('Tanh', (x) => tf.sub(1, tf.square(tf.tanh(x)))),
    unary('Softplus', (x) => tf.sigmoid(x)),
    // exp(min(x, 0)) rather than exp(x): the untaken branch of `where` still gets differentiated, and
    // exp of a large positive x would overflow to inf and turn 0 * inf into NaN.
    unary('Elu', (x) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(tf.minimum(x, 0)))),
    reduceMinMax(tf, 'Max', 'reductionIndices', (x, axes) => tf.max(x, axes, true)),
    reduceMinMax(tf, 'Min', 'axis', (x, axes) => tf.min(x, axes, true)),
    ...['Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual'].map((kernelName) => comparison(tf, kernelName)),
    softmaxLike(tf, 'Softmax', 'dim', false),
    softmaxLike(tf, 'LogSoftmax', 'axis', true),
    pow(tf),
  ];
}

function comparison(tf: TF, kernelName: string): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(first(saved)), b: () => tf.zerosLike(second(saved)) }),
  };
}

/** Transposes the last two axes (matMul's batch dimensions, if any, stay in front). */
function transposeLast2(tf: TF, x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

function batchMatMul(tf: TF): GradConfig {
  const t = (x: Tensor) => transposeLast2(tf, x);
  const mm = (a: Tensor, b: Tensor) => tf.matMul(a, b);
  return {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved, attrs) => {
      const dy = dyIn as Tensor;
      const a = first(saved);
      const b = second(saved);
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      // The four cases of C = op(A) op(B), each written as in the stock gradient but with every
      // transpose done by tf.transpose, so the kernel itself never runs transposed.
      if (!transposeA && !transposeB) return { a: () => mm(dy, t(b)), b: () => mm(t(a), dy) };
      if (!transposeA && transposeB) return { a: () => mm(dy, b), b: () => mm(t(dy), a) };
      if (transposeA && !transposeB) return { a: () => mm(b, t(dy)), b: () => mm(a, dy) };
      return { a: () => mm(t(b), t(dy)), b: () => mm(t(dy), t(a)) };
    },
  };
}

function reduceMinMax(tf: TF, kernelName: 'Max' | 'Min', axisAttr: string, reduce: (x: Tensor, axes: number[]) => Tensor): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dyIn, saved, attrs) => {
      const x = first(saved);
      const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
      const keptShape = x.shape.map((n, i) => (axes.includes(i) ? 1 : n));
      return {
        x: () => {
          // y recomputed from x, kept dims so it broadcasts; ties share the gradient, as in stock.
          const y = reduce(x, axes);
          const dy = tf.reshape(dyIn as Tensor, keptShape);
          return tf.mul(dy, tf.cast(tf.equal(x, y), 'float32'));
        },
      };
    },
  };
}

function softmaxLike(tf: TF, kernelName: 'Softmax' | 'LogSoftmax', axisAttr: string, log: boolean): GradConfig {
  return {
    kernelName,
    inputsToSave: ['logits'],
    gradFunc: (dyIn, saved, attrs: NamedAttrMap) => {
      const logits = first(saved);
      const dy = dyIn as Tensor;
      const raw = attrs[axisAttr] as number;
      const axis = raw < 0 ? logits.rank + raw : raw;
      return {
        logits: () => {
          const p = tf.softmax(logits, axis);
          if (log) return tf.sub(dy, tf.mul(tf.sum(dy, axis, true), p));
          const dyp = tf.mul(dy, p);
          return tf.sub(dyp, tf.mul(tf.sum(dyp, axis, true), p));
        },
      };
    },
  };
}

function pow(tf: TF): GradConfig {
  const { assertAndGetBroadcastShape, getReductionAxes } = tf.broadcast_util;
  // Sums a broadcast gradient back down to the shape of the input it belongs to.
  const unbroadcast = (g: Tensor, shape: number[], outShape: number[]) => {
    const axes = getReductionAxes(shape, outShape);
    return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
  };
  return {
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved) => {
      const dy = dyIn as Tensor;
      const base = first(saved);
      const exp = tf.cast(second(saved), 'float32');
      const outShape = assertAndGetBroadcastShape(base.shape, exp.shape);
      return {
        a: () => unbroadcast(tf.mul(dy, tf.mul(exp, tf.pow(base, tf.sub(exp, 1)))), base.shape, outShape),
        b: () => {
          const logBase = tf.where(tf.greater(base, 0), tf.log(base), tf.zerosLike(base));
          // base^exp recomputed from the inputs instead of the saved output.
          return unbroadcast(tf.mul(dy, tf.mul(tf.pow(base, exp), logBase)), exp.shape, outShape);
        },
      };
    },
  };
}

function first(saved: Tensor[]): Tensor {
  const t = saved[0];
  if (!t) throw new Error('internal error: gradient called without its saved input');
  return t;
}

function second(saved: Tensor[]): Tensor {
  const t = saved[1];
  if (!t) throw new Error('internal error: gradient called without its second saved input');
  return t;
}
