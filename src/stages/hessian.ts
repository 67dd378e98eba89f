import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import { Rng } from '../ml/rng.js';
import type { JsonValue } from '../util/json.js';
import type { Artifact, Outputs } from './artifact.js';
import { StageAborted, throwIfAborted } from './failure.js';
import { readLossSet, readModel, type ModelInput } from './model-input.js';
import type { StageContext, StageDefinition } from './types.js';

/**
 * The `hessian` stage: the curvature of a trained model's mean loss over a fixed example set, as
 * docs/science.md "Metrics per trained model" asks. Products are src/ml/hvp.ts (exact, float32 on
 * TF.js); the estimators are src/ml/linalg/ (float64); this file wires params, inputs, progress and
 * outputs, and is the one place that says how exact each number is (see `spectrum` below).
 *
 * Outputs: `spectrum` (JSON, everything below), `metrics` (JSON, the flat per-model scalars `correlate`
 * gathers: see flatMetrics), `slq_nodes` and `slq_weights` (float64 [runs,
 * steps]; a run that exhausted its Krylov space early is padded with NaN nodes of weight 0), and
 * `dense_eigenvalues` (float64 [d], ascending) when the dense Hessian was built. Timings go to the
 * record's info only, so identical numbers keep downstream nodes cached.
 */
export interface HessianParams {
  readonly examples: 'train' | 'train+attack';
  readonly subset: number;
  readonly chunk: number;
  readonly seed: number | string;
  readonly topK: number;
  readonly bottom: number;
  readonly lanczos: { readonly maxSteps: number; readonly tol: number };
  readonly hutchinson: number;
  readonly hutchpp: number;
  readonly slq: { readonly runs: number; readonly steps: number };
  readonly deltas: readonly number[];
  readonly dense: 'auto' | 'force' | 'off';
  readonly denseMaxParams: number;
  readonly gaussNewton: boolean;
}

export const hessian: StageDefinition<HessianParams> = {
  kind: 'hessian',
  version: 1,
  schema: 'hessian.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'spectrum',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const started = performance.now();
    const model = readModel(ctx, 'hessian', 'model');
    const examples = exampleSet(ctx, model);
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, { measureCurvature }] = await Promise.all([import('../ml/runtime.js'), import('../ml/curvature.js')]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    const r = await measureCurvature(tf, model.layout, model.loss, model.params, examples, {
      seed: p.seed,
      chunk: p.chunk,
      topK: p.topK,
      bottom: p.bottom,
      lanczos: p.lanczos,
      hutchinson: p.hutchinson,
      hutchpp: p.hutchpp,
      slq: p.slq,
      deltas: p.deltas,
      dense: p.dense === 'force' || (p.dense === 'auto' && model.layout.size <= p.denseMaxParams),
      gaussNewton: p.gaussNewton,
      signal: ctx.signal,
      onProgress: (done, planned, phase) => ctx.progress({ fraction: Math.min(1, done / planned), message: `${phase}: ${done}/${planned} products` }),
    }).catch((e: unknown) => {
      // The estimators stop with the signal's AbortError between products.
      if (ctx.signal.aborted) throw new StageAborted();
      throw e;
    });
    const wallMs = performance.now() - started;
    const spectrum = { model: { parameters: model.layout.size, stop: model.stop ?? null }, set: examples.description, ...r.spectrum };
    const outputs: Record<string, Artifact> = { spectrum: { type: 'json', value: json(spectrum) }, metrics: { type: 'json', value: json(flatMetrics(r.spectrum)) } };
    if (r.slq) {
      outputs['slq_nodes'] = { type: 'array', dtype: 'float64', shape: r.slq.shape, data: r.slq.nodes };
      outputs['slq_weights'] = { type: 'array', dtype: 'float64', shape: r.slq.shape, data: r.slq.weights };
    }
    if (r.denseEigenvalues) outputs['dense_eigenvalues'] = { type: 'array', dtype: 'float64', shape: [r.denseEigenvalues.length], data: r.denseEigenvalues };
    ctx.log(`${r.products} products in ${(wallMs / 1000).toFixed(1)} s (${(r.productMs).toFixed(1)} ms each on ${backend}, ${examples.n} examples)`);
    return {
      outputs: outputs as Outputs,
      info: { wallMs: Math.round(wallMs), products: r.products, productMs: Number(r.productMs.toFixed(2)), backend },
      summary: r.summary,
    };
  },
};

/**
 * The per-model scalars a `correlate` stage gathers (output `metrics`, flat): the top eigenvalue, the
 * trace (Hutch++ when computed, else Hutchinson), the Frobenius norm, and every log-det proxy as
 * `logdetTopK_<delta>` / `logdetSlq_<delta>` / `logdetDense_<delta>`. What was not computed (Gauss-Newton,
 * SLQ, dense) is left out; null means computed but not finite.
 */
export function flatMetrics(s: Record<string, unknown>): Record<string, number | null> {
  const at = (path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o === null || o === undefined ? undefined : (o as Record<string, unknown>)[k]), s);
  const out: Record<string, number | null> = {};
  const put = (name: string, v: unknown) => {
    if (typeof v === 'number') out[name] = Number.isFinite(v) ? v : null;
  };
  put('lambdaMax', at('lambdaMax'));
  put('trace', at('trace.hutchpp.estimate') ?? at('trace.hutchinson.estimate'));
  put('frobenius', at('frobenius.norm'));
  put('gradientNorm', at('gradientNorm'));
  put('gaussNewtonLambdaMax', at('gaussNewton.lambdaMax'));
  for (const row of (s['logdet'] ?? []) as Record<string, unknown>[]) {
    for (const [key, name] of [['topK', 'logdetTopK'], ['slq', 'logdetSlq'], ['dense', 'logdetDense']] as const) {
      put(`${name}_${String(row['delta'])}`, (row[key] as { value?: unknown } | undefined)?.value);
    }
  }
  return out;
}

/** The examples the curvature is of, as flat arrays, with a description for the spectrum record. */
export interface ExampleSet {
  readonly x: Float32Array;
  /** Loss targets [n, k]: one-hot rows or regression targets. */
  readonly targets: Float32Array;
  /** Class labels as trained on (attack examples: their wrong labels); classification only. */
  readonly labels?: Int32Array;
  readonly n: number;
  readonly features: number;
  readonly k: number;
  readonly description: JsonValue;
}

function exampleSet(ctx: StageContext<HessianParams>, model: ModelInput): ExampleSet {
  const p = ctx.params;
  const all = readLossSet(ctx, 'hessian', model, p.examples);
  const { features: d, k } = all;
  const total = all.n;
  let rows: number[] | undefined;
  if (p.subset > 0 && p.subset < total) {
    // A seeded choice, kept in data order: the same rows for every product of this node.
    rows = Array.from(new Rng(p.seed).derive('subset').permutation(total).subarray(0, p.subset)).sort((i, j) => i - j);
  }
  const pick = <T extends Float32Array | Int32Array>(a: T, width: number): T => (rows ? gather(a, rows, width) : a);
  const n = rows ? rows.length : total;
  const description = { examples: p.examples, train: all.train, attack: all.attack, n, subset: rows !== undefined, chunk: p.chunk, loss: model.loss };
  return { x: pick(all.x, d), targets: pick(all.targets, k), ...(all.labels ? { labels: pick(all.labels, 1) } : {}), n, features: d, k, description };
}

function gather<T extends Float32Array | Int32Array>(a: T, rows: readonly number[], width: number): T {
  const out = new (a.constructor as { new (n: number): T })(rows.length * width);
  rows.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
