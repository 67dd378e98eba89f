import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { JsonValue } from '../util/json.js';
import { StageAborted, StageFailure, throwIfAborted } from './failure.js';
import { readLossSet, readModel } from './model-input.js';
import type { StageDefinition } from './types.js';

/**
 * The `two-layer` stage: the quantities of the paper's 2-layer theory (docs/science.md, "2-layer
 * theory") at a trained network f(x) = sum_k a_k s(b_k . x + c_k) (+ an output bias) with squared
 * loss, on the clean training set S:
 *
 * - complexity: the input-gradient energy (1/n) sum_i ||grad_x f(x_i)||^2;
 * - ||H_c||_F^2: the squared Frobenius norm of the Hessian of L_S with respect to the hidden biases
 *   c alone (an m x m block: m exact Hessian-vector products with unit vectors on c, hvp.ts);
 * - ||B||_F^2 and ||B||_F^4 (B: the first-layer weights), ||a||_2^2, sqrt(L_S);
 * - tr H_c, and tr G_c of the Gauss-Newton part G = J^T J / n (m more products). With
 *   grad_x f = sum_k a_k s'_k b_k, Cauchy-Schwarz gives, exactly and at every theta,
 *       complexity <= ||B||_F^2 * (1/n) sum_i sum_k a_k^2 s'_ik^2 = ||B||_F^2 * tr G_c,
 *   and tr G_c = tr H_c - (1/n) sum_i r_i sum_k a_k s''_ik, whose last term is at most
 *   sqrt(2 L_S) * (...) by Cauchy-Schwarz again: a small Hessian w.r.t. c (and bounded B) means
 *   low complexity, up to a term that vanishes with sqrt(L_S). `complexityBound` is that right-hand
 *   side, `boundRatio` = complexity / complexityBound (never above 1), `curvatureResidual` =
 *   |tr H_c - tr G_c|.
 *
 * Only the abstract, the introduction and one theory passage of the paper could be read, so the
 * bound's exact constants are not used: the stage reports each term and the bound's shape
 * (complexity against ||H_c||_F, ||B||_F^4 and sqrt(L_S)) is examined across models by `correlate`
 * ("small Hessian => low complexity").
 */
export type TwoLayerParams = Record<string, never>;

export const twoLayer: StageDefinition<TwoLayerParams> = {
  kind: 'two-layer',
  version: 2,
  schema: 'two-layer.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'metrics',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const model = readModel(ctx, 'two-layer', 'model');
    const { spec } = model.layout;
    if (spec.hidden.length !== 1 || spec.outputs !== 1 || model.loss !== 'mse') {
      throw new StageFailure(
        `the 2-layer theory is about f(x) = sum_k a_k s(b_k . x + c_k) with squared loss; the model (${model.nodeId}) is ${[spec.inputs, ...spec.hidden, spec.outputs].join('-')} trained on ${model.loss}: train one hidden layer, one output (a regression set) and loss: mse`,
      );
    }
    const set = readLossSet(ctx, 'two-layer', model, 'train');
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, { uploadEvalSet, disposeEvalSet, evaluateSet, inputGradEnergy }, { curvatureOperator }] = await Promise.all([
      import('../ml/runtime.js'),
      import('../ml/metrics.js'),
      import('../ml/hvp.js'),
    ]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    const evalSet = uploadEvalSet(tf, set.x, set.targets, undefined, set.features, set.k);
    const H = curvatureOperator(tf, model.layout, model.loss, model.params, evalSet, 'hessian', { signal: ctx.signal });
    const G = curvatureOperator(tf, model.layout, model.loss, model.params, evalSet, 'gauss-newton', { signal: ctx.signal });
    try {
      const theta = tf.tensor1d(model.params);
      const fit = evaluateSet(tf, model.layout, theta, model.loss, evalSet);
      const complexity = inputGradEnergy(tf, model.layout, theta, evalSet);
      theta.dispose();
      const [first, second] = model.layout.layers as [(typeof model.layout.layers)[number], (typeof model.layout.layers)[number]];
      const m = first.bias.shape[0] as number;
      // The c-blocks of H and G: column j is (H e_j) restricted to the c coordinates.
      let hcSq = 0;
      let traceHc = 0;
      let traceGc = 0;
      for (let j = 0; j < m; j++) {
        const e = new Float64Array(model.layout.size);
        e[first.bias.offset + j] = 1;
        const col = await H.apply(e);
        for (let i = 0; i < m; i++) hcSq += (col[first.bias.offset + i] as number) ** 2;
        traceHc += col[first.bias.offset + j] as number;
        traceGc += (await G.apply(e))[first.bias.offset + j] as number;
        ctx.progress({ fraction: (j + 1) / m, message: `Hessian and Gauss-Newton w.r.t. c: ${j + 1}/${m}` });
      }
      const sumSq = (offset: number, size: number) => {
        let s = 0;
        for (let i = offset; i < offset + size; i++) s += (model.params[i] as number) ** 2;
        return s;
      };
      const bSq = sumSq(first.weight.offset, (first.weight.shape[0] as number) * m);
      const aSq = sumSq(second.weight.offset, m);
      const bound = bSq * traceGc;
      const metrics = {
        inputGradEnergy: complexity,
        hessianCFrobeniusSq: hcSq,
        hessianCFrobenius: Math.sqrt(hcSq),
        weightsBFrobeniusSq: bSq,
        weightsBFrobenius4: bSq * bSq,
        outputWeightsSq: aSq,
        trainLoss: fit.loss,
        sqrtTrainLoss: Math.sqrt(Math.max(0, fit.loss)),
        traceHc,
        traceGc,
        curvatureResidual: Math.abs(traceHc - traceGc),
        complexityBound: bound,
        boundRatio: bound > 0 ? complexity / bound : 0,
        width: m,
        examples: set.n,
      };
      const g = (v: number) => Number(v.toPrecision(4)).toString();
      return {
        outputs: { metrics: { type: 'json', value: metrics as unknown as JsonValue } },
        info: { products: H.products + G.products, backend },
        summary:
          `complexity ${g(complexity)} <= ||B||_F^2 tr G_c ${g(bound)} (ratio ${g(bound > 0 ? complexity / bound : 0)}), ` +
          `tr H_c ${g(traceHc)}, ||H_c||_F^2 ${g(hcSq)}, ||B||_F^4 ${g(bSq * bSq)}, sqrt(L_S) ${g(Math.sqrt(Math.max(0, fit.loss)))} (width ${m}, ${set.n} examples)`,
      };
    } catch (e) {
      if (ctx.signal.aborted && !(e instanceof StageFailure)) throw new StageAborted();
      throw e;
    } finally {
      H.dispose();
      G.dispose();
      disposeEvalSet(evalSet);
    }
  },
};
