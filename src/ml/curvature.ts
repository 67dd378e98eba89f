import type { Tensor1D } from '@tensorflow/tfjs';
import { curvatureOperator, setGradient, type CurvatureKind, type CurvatureOperator } from './hvp.js';
import { denseFromOperator, symmetricEigen } from './linalg/dense.js';
import { lanczos, type LanczosResult } from './linalg/lanczos.js';
import { logDetProxySlq, logDetProxyTopK } from './linalg/logdet.js';
import { slq, slqEstimate, type SlqResult } from './linalg/slq.js';
import { hutchinson, hutchPlusPlus } from './linalg/trace.js';
import type { LossName } from './loss.js';
import { disposeEvalSet, evaluateSet, uploadEvalSet } from './metrics.js';
import type { MlpLayout } from './mlp.js';
import { Rng } from './rng.js';
import type { TF } from './runtime.js';

/**
 * Every Hessian estimate of the `hessian` stage, for one model on one example set, in one place:
 * which estimator, how many products, and how exact each number is. Randomness: one stream per
 * estimator from `seed` (labels lanczos, hutchinson, hutchpp, slq, lanczos-gn), so turning one
 * estimator off or changing its budget never changes another's numbers.
 */
export interface CurvatureOptions {
  readonly seed: number | string;
  readonly chunk: number;
  readonly topK: number;
  readonly bottom: number;
  readonly lanczos: { readonly maxSteps: number; readonly tol: number };
  /** Hutchinson probes (trace and Frobenius); 0 skips. */
  readonly hutchinson: number;
  /** Hutch++ products; 0 skips. */
  readonly hutchpp: number;
  /** SLQ runs and steps; runs 0 skips. */
  readonly slq: { readonly runs: number; readonly steps: number };
  readonly deltas: readonly number[];
  /** Build the dense Hessian (d products) and diagonalise it. */
  readonly dense: boolean;
  readonly gaussNewton: boolean;
  readonly signal?: AbortSignal;
  /** Products done so far, the planned total (an upper bound: Lanczos may stop early) and the phase. */
  readonly onProgress?: (done: number, planned: number, phase: string) => void;
}

export interface ExampleArrays {
  readonly x: Float32Array;
  readonly targets: Float32Array;
  /** Class labels (classification), for the accuracy at the point measured. */
  readonly labels?: Int32Array;
  readonly n: number;
  readonly features: number;
  readonly k: number;
}

export interface CurvatureReport {
  /** JSON-ready record of every estimate (see the `hessian` stage's output `spectrum`). */
  readonly spectrum: Record<string, unknown>;
  /** SLQ's raw quadrature, [runs, steps] row-major; short runs padded with their last node at weight 0. */
  readonly slq?: { readonly shape: [number, number]; readonly nodes: Float64Array; readonly weights: Float64Array };
  readonly denseEigenvalues?: Float64Array;
  readonly products: number;
  /** Mean wall time of one Hessian product. */
  readonly productMs: number;
  readonly summary: string;
}

export async function measureCurvature(tf: TF, layout: MlpLayout, loss: LossName, params: Float32Array, data: ExampleArrays, o: CurvatureOptions): Promise<CurvatureReport> {
  const set = uploadEvalSet(tf, data.x, data.targets, data.labels, data.features, data.k, o.chunk);
  const rng = new Rng(o.seed);
  const d = layout.size;
  const lanczosSteps = Math.min(o.lanczos.maxSteps, d);
  const planned =
    lanczosSteps + Math.min(o.topK, d) + o.hutchinson + o.hutchpp + o.slq.runs * Math.min(o.slq.steps, d) + (o.dense ? d : 0) + (o.gaussNewton ? lanczosSteps : 0);
  let done = 0;
  let phase = 'lanczos';
  let hessianMs = 0;
  const operator = (kind: CurvatureKind): CurvatureOperator =>
    curvatureOperator(tf, layout, loss, params, set, kind, {
      ...(o.signal ? { signal: o.signal } : {}),
      onProduct: () => {
        done++;
        o.onProgress?.(done, planned, phase);
      },
    });
  const H = operator('hessian');
  const timed = { dim: H.dim, apply: async (v: Float64Array) => {
    const t0 = performance.now();
    const r = await H.apply(v);
    hessianMs += performance.now() - t0;
    return r;
  } };
  try {
    // Where we are: a Hessian is read as the curvature of a minimum only if the gradient is small.
    const fit = fitAt(tf, layout, loss, params, set);
    const grad = setGradient(tf, layout, loss, params, set);
    const gradientNorm = Math.sqrt(grad.reduce((s, g) => s + g * g, 0));

    const signal = o.signal ? { signal: o.signal } : {};
    const top = await lanczos(timed, rng.derive('lanczos'), { k: Math.min(o.topK, d), bottom: Math.min(o.bottom, d), maxSteps: lanczosSteps, tol: o.lanczos.tol, ritzVectors: true, ...signal });
    // Lanczos's residual |beta_m s_mi| assumes exact products; with float32 products it keeps
    // shrinking below their error. One more product per Ritz pair measures the true one.
    phase = 'ritz check';
    const measured: number[] = [];
    for (const [i, y] of (top.ritzVectors ?? []).entries()) {
      const hy = await timed.apply(y);
      const theta = top.eigenvalues[i] as number;
      measured.push(Math.sqrt(hy.reduce((s, h, j) => s + (h - theta * (y[j] as number)) ** 2, 0)));
    }
    const spectrum: Record<string, unknown> = {
      loss: fit.loss,
      accuracy: fit.acc,
      gradientNorm,
      lambdaMax: top.eigenvalues[0],
      lanczos: { ...lanczosRecord(top, o.lanczos.tol), measuredResiduals: measured },
    };

    let hutch: Awaited<ReturnType<typeof hutchinson>> | undefined;
    if (o.hutchinson > 0) {
      phase = 'hutchinson';
      hutch = await hutchinson(timed, rng.derive('hutchinson'), { probes: o.hutchinson, ...signal });
    }
    let hpp: Awaited<ReturnType<typeof hutchPlusPlus>> | undefined;
    if (o.hutchpp > 0) {
      phase = 'hutch++';
      hpp = await hutchPlusPlus(timed, rng.derive('hutchpp'), { products: o.hutchpp, ...signal });
    }
    spectrum['trace'] = {
      hutchinson: hutch ? { estimate: hutch.trace, stdErr: hutch.traceStdErr, probes: hutch.probes } : null,
      hutchpp: hpp ? { estimate: hpp.trace, stdErr: hpp.stdErr, products: hpp.products, sketch: hpp.sketchSize, residualProbes: hpp.residualProbes } : null,
    };
    spectrum['frobenius'] = hutch
      ? {
          squared: hutch.frobeniusSq,
          squaredStdErr: hutch.frobeniusSqStdErr,
          norm: Math.sqrt(Math.max(0, hutch.frobeniusSq)),
          // Delta method: se(sqrt(F)) = se(F) / (2 sqrt(F)).
          normStdErr: hutch.frobeniusSq > 0 ? hutch.frobeniusSqStdErr / (2 * Math.sqrt(hutch.frobeniusSq)) : null,
          probes: hutch.probes,
        }
      : null;

    let quad: SlqResult | undefined;
    if (o.slq.runs > 0) {
      phase = 'slq';
      quad = await slq(timed, rng.derive('slq'), { runs: o.slq.runs, steps: Math.min(o.slq.steps, d), ...signal });
      const trace = slqEstimate(quad, d, (x) => x);
      spectrum['slq'] = { runs: quad.runs.length, steps: quad.steps, trace: { estimate: trace.value, stdErr: trace.stdErr }, nodesOutput: 'slq_nodes', weightsOutput: 'slq_weights' };
    } else spectrum['slq'] = null;

    const logdet: Record<string, unknown>[] = o.deltas.map((delta) => ({ delta }));
    logDetProxyTopK(top.eigenvalues, o.deltas).forEach((r, i) => Object.assign(logdet[i] as object, { topK: { value: r.value, clipped: r.clipped, count: top.eigenvalues.length } }));
    if (quad) logDetProxySlq(quad, d, o.deltas).forEach((r, i) => Object.assign(logdet[i] as object, { slq: { value: r.value, stdErr: r.stdErr, clippedFraction: r.clippedFraction } }));

    let denseEigenvalues: Float64Array | undefined;
    if (o.dense) {
      phase = 'dense';
      const M = await denseFromOperator(timed, undefined, o.signal);
      denseEigenvalues = symmetricEigen(M.matrix, d).values;
      const exact = denseSummary(denseEigenvalues);
      logDetProxyTopK(denseEigenvalues, o.deltas).forEach((r, i) => Object.assign(logdet[i] as object, { dense: { value: r.value, clipped: r.clipped } }));
      spectrum['dense'] = {
        ...exact,
        // max |H - H^T| / max |H| of the matrix built from float32 products: their accuracy.
        asymmetry: M.asymmetry,
        errors: estimateErrors(exact, top, hutch, hpp, denseEigenvalues),
        eigenvaluesOutput: 'dense_eigenvalues',
      };
    } else spectrum['dense'] = null;
    spectrum['logdet'] = logdet;

    let gn: LanczosResult | undefined;
    let gnProducts = 0;
    if (o.gaussNewton) {
      phase = 'gauss-newton';
      const G = operator('gauss-newton');
      try {
        gn = await lanczos(G, rng.derive('lanczos-gn'), { k: Math.min(o.topK, d), maxSteps: lanczosSteps, tol: o.lanczos.tol, ...signal });
        gnProducts = G.products;
      } finally {
        G.dispose();
      }
      spectrum['gaussNewton'] = { lambdaMax: gn.eigenvalues[0], lanczos: lanczosRecord(gn, o.lanczos.tol) };
    } else spectrum['gaussNewton'] = null;

    const products = {
      lanczos: top.products + measured.length,
      hutchinson: hutch?.products ?? 0,
      hutchpp: hpp?.products ?? 0,
      slq: quad?.products ?? 0,
      dense: o.dense ? d : 0,
      gaussNewton: gnProducts,
      total: H.products + gnProducts,
    };
    spectrum['products'] = products;
    return {
      spectrum,
      ...(quad ? { slq: packSlq(quad) } : {}),
      ...(denseEigenvalues ? { denseEigenvalues } : {}),
      products: products.total,
      productMs: H.products ? hessianMs / H.products : 0,
      summary: summaryLine(top, measured[0], hutch, hpp, products.total),
    };
  } finally {
    H.dispose();
    disposeEvalSet(set);
  }
}

function fitAt(tf: TF, layout: MlpLayout, loss: LossName, params: Float32Array, set: ReturnType<typeof uploadEvalSet>): { loss: number; acc: number | null } {
  const p = tf.tensor1d(params) as Tensor1D;
  try {
    const fit = evaluateSet(tf, layout, p, loss, set);
    return { loss: fit.loss, acc: fit.acc };
  } finally {
    p.dispose();
  }
}

function lanczosRecord(r: LanczosResult, tol: number): Record<string, unknown> {
  const pairs = (values: Float64Array, residuals: Float64Array) =>
    Array.from(values, (value, i) => ({ value, residual: residuals[i] as number, relativeResidual: (residuals[i] as number) / Math.abs(value) }));
  return {
    top: pairs(r.eigenvalues, r.residuals),
    bottom: pairs(r.bottomEigenvalues, r.bottomResiduals),
    steps: r.steps,
    converged: r.converged,
    stopReason: r.stopReason,
    tol,
    alphas: Array.from(r.alphas),
    betas: Array.from(r.betas),
    lastBeta: r.lastBeta,
  };
}

interface DenseSummary {
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  readonly top: number[];
  readonly trace: number;
  readonly frobenius: number;
  readonly negative: number;
}

function denseSummary(values: Float64Array): DenseSummary {
  const n = values.length;
  let trace = 0;
  let sq = 0;
  let negative = 0;
  for (const v of values) {
    trace += v;
    sq += v * v;
    if (v < 0) negative++;
  }
  return {
    lambdaMax: values[n - 1] as number,
    lambdaMin: values[0] as number,
    top: Array.from(values.subarray(Math.max(0, n - 10))).reverse(),
    trace,
    frobenius: Math.sqrt(sq),
    negative,
  };
}

/** How far each estimate is from the dense ground truth: relative errors, and z-scores for the stochastic ones. */
function estimateErrors(
  exact: DenseSummary,
  top: LanczosResult,
  hutch: Awaited<ReturnType<typeof hutchinson>> | undefined,
  hpp: Awaited<ReturnType<typeof hutchPlusPlus>> | undefined,
  values: Float64Array,
): Record<string, unknown> {
  const n = values.length;
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  return {
    lanczosTopRelative: Array.from(top.eigenvalues, (v, i) => rel(v, values[n - 1 - i] as number)),
    hutchinsonTraceZ: hutch ? (hutch.trace - exact.trace) / hutch.traceStdErr : null,
    hutchppTraceZ: hpp && hpp.stdErr > 0 ? (hpp.trace - exact.trace) / hpp.stdErr : null,
    frobeniusSqZ: hutch ? (hutch.frobeniusSq - exact.frobenius ** 2) / hutch.frobeniusSqStdErr : null,
  };
}

function packSlq(q: SlqResult): { shape: [number, number]; nodes: Float64Array; weights: Float64Array } {
  const runs = q.runs.length;
  const m = q.steps;
  const nodes = new Float64Array(runs * m);
  const weights = new Float64Array(runs * m);
  q.runs.forEach((r, i) => {
    for (let j = 0; j < m; j++) {
      const have = j < r.nodes.length;
      // A run whose Krylov space ran out early has fewer nodes: repeat its last one with weight 0
      // (finite, so densities and sums over the padded arrays stay right).
      nodes[i * m + j] = have ? (r.nodes[j] as number) : (r.nodes[r.nodes.length - 1] as number);
      weights[i * m + j] = have ? (r.weights[j] as number) : 0;
    }
  });
  return { shape: [runs, m], nodes, weights };
}

function summaryLine(
  top: LanczosResult,
  measured: number | undefined,
  hutch: Awaited<ReturnType<typeof hutchinson>> | undefined,
  hpp: Awaited<ReturnType<typeof hutchPlusPlus>> | undefined,
  products: number,
): string {
  const g = (v: number) => Number(v.toPrecision(4)).toString();
  const lmax = top.eigenvalues[0] as number;
  // The measured residual (one extra product), relative: what the number is good to.
  const residual = (measured ?? (top.residuals[0] as number)) / Math.abs(lmax);
  const parts = [`lambda_max ${g(lmax)} (relative residual ${residual.toExponential(0)}${top.converged ? '' : ', not converged'})`];
  const trace = hpp ?? undefined;
  const se = (v: number) => Number(v.toPrecision(2)).toString();
  if (trace) parts.push(`trace ${g(trace.trace)} +- ${se(trace.stdErr)}`);
  else if (hutch) parts.push(`trace ${g(hutch.trace)} +- ${se(hutch.traceStdErr)}`);
  if (hutch) parts.push(`||H||_F ${g(Math.sqrt(Math.max(0, hutch.frobeniusSq)))}`);
  parts.push(`${products} products`);
  return parts.join(', ');
}
