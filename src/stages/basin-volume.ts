import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { DirectionKind } from '../ml/basin/directions.js';
import type { MlpLayout } from '../ml/mlp.js';
import type { JsonValue } from '../util/json.js';
import type { Outputs } from './artifact.js';
import { StageAborted, StageFailure, throwIfAborted } from './failure.js';
import { jsonOutput, singleInput } from './inputs.js';
import { readLossSet, readModel, type ModelInput } from './model-input.js';
import type { InputNode, StageContext, StageDefinition } from './types.js';

/**
 * The `basin-volume` stage: the volume of a trained model's basin on the clean loss L_S, by radii
 * along K random directions, as docs/science.md "Basin volume by sampling" asks. The radius search is
 * src/ml/basin/radius.ts (grid, then multi-point bisection, on a line-loss callback), the statistics
 * src/ml/basin/volume.ts (log V = log omega_d + logmeanexp_k(d log r_k), bootstrap intervals), the
 * loss evaluations src/ml/basin/surface.ts (every point of one call in one evaluate(), over the whole
 * set); this file wires params, inputs, progress and outputs.
 *
 * Conventions:
 * - Directions: one seeded stream (`seed`, label `directions`), drawn in order, so the first K
 *   directions of a larger K are the same directions. `sphere` (default) is the one the volume identity
 *   holds for; `filter` radii are in the directions' own units (t = 1 is a perturbation as large as
 *   theta's weights), so their log V is comparable within one architecture only. The record says which.
 * - Threshold: `relative` puts the level at L_S(theta) + value (an offset, not a factor); `absolute`
 *   at value, which must be above L_S(theta). L_S(theta) is computed by the same evaluator as every
 *   point of the search, so float32 rounding never makes t = 0 look like a crossing.
 * - Span (the largest t searched): `relative` makes the largest perturbation value x ||theta||, so
 *   t_max = value ||theta|| / ||u|| (||u|| = 1 for sphere directions, ||theta's weights|| for filter
 *   ones); `absolute` is t_max itself. A direction that does not cross by t_max is censored: its radius
 *   is t_max in `radii` and every statistic (lower bounds then), and `censored` marks it.
 * - Bootstrap: `seed`, label `bootstrap`. The quadratic prediction (with a `hessian` input) is
 *   log omega_d + (d/2) log 2c + logdet, with c the level's offset above L_S(theta) and logdet the
 *   hessian stage's -1/2 sum log(max(lambda, 0) + delta) per delta, from its dense spectrum when it
 *   has one, else from SLQ (the record names the source; top-k alone covers too few directions).
 *
 * Outputs: `metrics` (flat JSON for `correlate`: log V, log V per parameter, mean and median log r,
 * censored fraction, quadratic predictions), `volume` (JSON, below), `radii` float64 [K] and `censored` uint8 [K] (1: censored), in
 * direction order. Timings go to the record's info only.
 */
export interface BasinVolumeParams {
  readonly examples: 'train' | 'train+attack';
  readonly directions: number;
  readonly kind: DirectionKind;
  readonly threshold: { readonly type: 'relative' | 'absolute'; readonly value: number };
  readonly span: { readonly type: 'relative' | 'absolute'; readonly value: number };
  readonly grid: { readonly points: number; readonly power: number };
  readonly bisection: { readonly tol: number; readonly points: number };
  readonly bootstrap: number;
  readonly seed: number | string;
  readonly chunk: number;
}

const LEVEL = 0.95;

export const basinVolume: StageDefinition<BasinVolumeParams> = {
  kind: 'basin-volume',
  version: 1,
  schema: 'basin-volume.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'volume',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const started = performance.now();
    const model = readModel(ctx, 'basin-volume', 'model');
    const set = exampleSet(ctx, model);
    const hessian = hessianInput(ctx, model, set.description.examples);
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, { uploadEvalSet, disposeEvalSet }, { SurfaceEvaluator }, { randomDirection }, { findRadius }, volume, { Rng }] = await Promise.all([
      import('../ml/runtime.js'),
      import('../ml/metrics.js'),
      import('../ml/basin/surface.js'),
      import('../ml/basin/directions.js'),
      import('../ml/basin/radius.js'),
      import('../ml/basin/volume.js'),
      import('../ml/rng.js'),
    ]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    const d = model.layout.size;
    const K = p.directions;
    const evalSet = uploadEvalSet(tf, set.x, set.targets, set.labels, set.features, set.k, p.chunk);
    let ev: InstanceType<typeof SurfaceEvaluator> | undefined;
    try {
      const surface = (ev = new SurfaceEvaluator(tf, model.layout, model.loss, model.params, evalSet));
      const at = surface.evaluate([], [[]])[0]!;
      if (!Number.isFinite(at.loss)) throw new StageFailure(`the loss at the model (${model.nodeId}) is ${at.loss} on ${set.n} examples: its training diverged; fix the train stage first`);
      const level = p.threshold.type === 'relative' ? at.loss + p.threshold.value : p.threshold.value;
      if (!(at.loss < level)) {
        throw new StageFailure(`threshold: the absolute level ${level} is not above the loss at the model (${model.nodeId}), ${at.loss}: every radius would be 0; raise threshold.value above it or use threshold: { type: relative, value: 0.1 }`);
      }
      // The level's height above L(theta): exactly the value for a relative threshold.
      const offset = p.threshold.type === 'relative' ? p.threshold.value : level - at.loss;
      if (hessian) checkSameModel(hessian, at.loss, model.nodeId);
      const thetaNorm = norm(model.params);
      const dirNorm = p.kind === 'sphere' ? 1 : weightNorm(model.layout, model.params);
      if (p.span.type === 'relative' && !(thetaNorm > 0 && dirNorm > 0)) {
        throw new StageFailure(`span: relative spans scale with ||theta||, and the model (${model.nodeId}) has ${thetaNorm > 0 ? 'all weights' : 'all parameters'} zero: use span: { type: absolute, value: <largest t> }`);
      }
      const span = p.span.type === 'relative' ? (p.span.value * thetaNorm) / dirNorm : p.span.value;

      const rng = new Rng(p.seed).derive('directions');
      const radii = new Float64Array(K);
      const lo = new Float64Array(K);
      const hi = new Float64Array(K);
      const censored = new Uint8Array(K);
      let unconverged = 0;
      let points = 1;
      let calls = 1;
      for (let i = 0; i < K; i++) {
        throwIfAborted(ctx.signal);
        const u = randomDirection(model.layout, model.params, p.kind, rng);
        // The direction's first-layer product once, for the grid and every refinement call.
        const line = surface.prepare([u]);
        let r: ReturnType<typeof findRadius>;
        try {
          r = findRadius((ts) => line.evaluate(ts.map((t) => [t])).map((q) => q.loss), {
            level,
            lossAtZero: at.loss,
            span,
            grid: p.grid,
            tol: p.bisection.tol,
            sectionPoints: p.bisection.points,
          });
        } finally {
          line.dispose();
        }
        radii[i] = r.radius;
        lo[i] = r.lo;
        hi[i] = r.hi;
        censored[i] = r.censored ? 1 : 0;
        if (!r.converged) unconverged++;
        points += r.points;
        calls += r.calls;
        ctx.progress({ fraction: (i + 1) / K, message: `direction ${i + 1}/${K}`, metrics: { radius: r.radius } });
      }
      throwIfAborted(ctx.signal);
      const est = volume.estimateVolume(radii, d, { resamples: p.bootstrap, level: LEVEL, rng: new Rng(p.seed).derive('bootstrap') });
      const bound = (rs: Float64Array) => est.logUnitBall + volume.logMeanExp(rs.map((r) => d * Math.log(r)));
      const nCensored = censored.reduce((s, c) => s + c, 0);
      const quadratic = hessian ? quadraticPrediction(hessian, d, offset, p.threshold.type, volume.quadraticLogVolume) : null;
      const record = {
        logVolume: est.logVolume,
        logVolumeCI: est.ci.logVolume,
        d,
        directions: K,
        censored: nCensored,
        logUnitBall: est.logUnitBall,
        meanLogRadius: est.meanLogRadius,
        meanLogRadiusCI: est.ci.meanLogRadius,
        medianLogRadius: est.medianLogRadius,
        medianLogRadiusCI: est.ci.medianLogRadius,
        effectiveDirections: est.effectiveDirections,
        // log V from every bracket's lower and upper ends: how far the tolerance alone can move it.
        logVolumeBracket: [bound(lo), bound(hi)],
        radius: { min: radii.reduce((a, b) => Math.min(a, b), Infinity), max: radii.reduce((a, b) => Math.max(a, b), 0), unconverged },
        kind: p.kind,
        identity: p.kind === 'sphere' ? 'V = omega_d E_u[r(u)^d], u uniform on the unit sphere' : 'filter-normalised directions: log V is in their own units (not a Euclidean volume); compare within one architecture',
        threshold: { type: p.threshold.type, value: p.threshold.value, level, offset },
        lossAtTheta: at.loss,
        accuracyAtTheta: at.acc,
        span: { type: p.span.type, value: p.span.value, t: span, distance: span * dirNorm },
        thetaNorm,
        directionNorm: dirNorm,
        quadratic,
        search: { grid: p.grid, bisection: p.bisection },
        bootstrap: { resamples: p.bootstrap, level: LEVEL, method: 'percentile over directions' },
        seed: p.seed,
        model: { node: model.nodeId, parameters: d, stop: model.stop ?? null },
        set: set.description,
        evaluations: { points, calls, pointsPerDirection: (points - 1) / K, callsPerDirection: (calls - 1) / K },
        outputs: { radii: 'radii', censored: 'censored' },
      };
      const wallMs = performance.now() - started;
      ctx.log(`${K} directions in ${(wallMs / 1000).toFixed(1)} s (${(wallMs / K).toFixed(0)} ms each on ${backend}: ${record.evaluations.pointsPerDirection.toFixed(1)} points in ${record.evaluations.callsPerDirection.toFixed(1)} calls, ${set.n} examples)`);
      const outputs: Outputs = {
        volume: { type: 'json', value: json(record) },
        // The flat per-model scalars `correlate` gathers.
        metrics: {
          type: 'json',
          value: json({
            logVolume: record.logVolume,
            logVolumePerParameter: record.logVolume / d,
            meanLogRadius: est.meanLogRadius,
            medianLogRadius: est.medianLogRadius,
            censoredFraction: nCensored / K,
            ...Object.fromEntries((quadratic?.rows ?? []).map((row) => [`quadraticLogVolume_${row.delta}`, row.logVolume])),
          }),
        },
        radii: { type: 'array', dtype: 'float64', shape: [K], data: radii },
        censored: { type: 'array', dtype: 'uint8', shape: [K], data: censored },
      };
      return {
        outputs,
        info: { wallMs: Math.round(wallMs), msPerDirection: Number((wallMs / K).toFixed(1)), points, calls, backend },
        summary: summaryLine(record.logVolume, est.ci.logVolume, d, K, p.kind, nCensored, est.meanLogRadius, quadratic),
      };
    } catch (e) {
      if (ctx.signal.aborted && !(e instanceof StageFailure)) throw new StageAborted();
      throw e;
    } finally {
      ev?.dispose();
      disposeEvalSet(evalSet);
    }
  },
};

// ---- inputs ----

/** The clean set S (or S plus the attack examples the model was trained on, with their wrong labels). */
function exampleSet(ctx: StageContext<BasinVolumeParams>, model: ModelInput) {
  const p = ctx.params;
  const set = readLossSet(ctx, 'basin-volume', model, p.examples);
  return { ...set, description: { examples: p.examples, train: set.train, attack: set.attack, n: set.n, chunk: p.chunk, loss: model.loss } };
}

/** The hessian stage's log-det rows this stage reads (see src/ml/curvature.ts). */
interface LogDetRow {
  readonly delta: number;
  readonly dense?: { readonly value: number; readonly clipped: number } | null;
  readonly slq?: { readonly value: number; readonly stdErr: number; readonly clippedFraction: number } | null;
}

interface HessianInput {
  readonly nodeId: string;
  readonly logdet: readonly LogDetRow[];
  readonly subset: boolean;
  /** The loss at the model over the hessian's set, as the hessian stage measured it. */
  readonly loss: number | undefined;
}

/** The optional `hessian` input: a hessian node of the same model on the same example set. */
function hessianInput(ctx: StageContext<BasinVolumeParams>, model: ModelInput, examples: string): HessianInput | undefined {
  const nodes = ctx.inputs['hessian'];
  if (!nodes || nodes.length === 0) return undefined;
  const node: InputNode = singleInput(ctx, 'basin-volume', 'hessian', 'hessian');
  const spectrum = jsonOutput(node, 'spectrum', 'hessian', 'hessian').value as unknown as {
    logdet?: LogDetRow[];
    loss?: number;
    model?: { parameters?: number };
    set?: { examples?: string; subset?: boolean };
  };
  if (!Array.isArray(spectrum.logdet) || spectrum.set === undefined) {
    throw new StageFailure(`input hessian (${node.nodeId}) has a spectrum without log-det rows: point \`inputs.hessian\` at a stage of kind hessian`);
  }
  if (spectrum.model?.parameters !== model.layout.size) {
    throw new StageFailure(`input hessian (${node.nodeId}) is of a model with ${spectrum.model?.parameters} parameters, but the model (${model.nodeId}) has ${model.layout.size}: point \`inputs.hessian\` at the hessian node of this model (\`foreach\` over the same train stage)`);
  }
  if (spectrum.set.examples !== examples) {
    throw new StageFailure(`input hessian (${node.nodeId}) is of the loss over examples: ${spectrum.set.examples}, and this stage measures examples: ${examples}: set the same \`examples\` on both`);
  }
  return { nodeId: node.nodeId, logdet: spectrum.logdet, subset: spectrum.set.subset === true, loss: spectrum.loss };
}

/**
 * A hessian node of another model of the same size cannot be told apart by its parameter count; its
 * loss at theta can: on the same examples it must equal ours up to float32 rounding (the two are
 * computed by different, equally exact, evaluation paths).
 */
function checkSameModel(h: HessianInput, loss: number, modelId: string): void {
  if (h.subset || typeof h.loss !== 'number') return;
  if (Math.abs(h.loss - loss) > 1e-4 * Math.max(Math.abs(h.loss), Math.abs(loss)) + 1e-6) {
    throw new StageFailure(`input hessian (${h.nodeId}) was measured where the loss is ${h.loss}, but the model (${modelId}) has loss ${loss} on the same examples: it is the Hessian of another model; point \`inputs.hessian\` at the hessian node of this model (\`foreach\` over the same train stage)`);
  }
}

// ---- the quadratic prediction ----

interface QuadraticRow {
  readonly delta: number;
  readonly source: 'dense' | 'slq' | null;
  readonly logdet: number | null;
  readonly logVolume: number | null;
  /** SLQ's standard error (it carries over to log V unchanged); null for dense. */
  readonly stdErr: number | null;
  /** Dense: eigenvalues below 0 clipped to 0; SLQ: the clipped weight fraction. */
  readonly clipped: number | null;
}

function quadraticPrediction(h: HessianInput, d: number, offset: number, type: 'relative' | 'absolute', logVol: (d: number, c: number, logdet: number) => number) {
  const rows: QuadraticRow[] = h.logdet.map((row) => {
    if (row.dense) return { delta: row.delta, source: 'dense', logdet: row.dense.value, logVolume: logVol(d, offset, row.dense.value), stdErr: null, clipped: row.dense.clipped };
    if (row.slq) return { delta: row.delta, source: 'slq', logdet: row.slq.value, logVolume: logVol(d, offset, row.slq.value), stdErr: row.slq.stdErr, clipped: row.slq.clippedFraction };
    return { delta: row.delta, source: null, logdet: null, logVolume: null, stdErr: null, clipped: null };
  });
  const notes: string[] = ['log V_quad = log omega_d + (d/2) log(2c) - 1/2 sum log(max(lambda, 0) + delta): the ellipsoid {1/2 x^T H x <= c}'];
  if (type === 'absolute') notes.push(`absolute threshold: c = level - L(theta) = ${offset}, as if theta were the minimum; the prediction is meant for a relative threshold, where c is the same for every model`);
  if (h.subset) notes.push('the Hessian is of a seeded subset of the examples: an estimate of this set\'s Hessian');
  if (rows.some((r) => r.source === null)) notes.push('rows without dense or SLQ log-dets have no prediction: top-k covers too few directions (run the hessian stage with slq runs > 0 or dense)');
  return { hessian: h.nodeId, offset, rows, notes };
}

// ---- helpers ----

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) ** 2;
  return Math.sqrt(s);
}

/** ||theta's weights|| (biases excluded): the norm of every filter-normalised direction. */
function weightNorm(layout: MlpLayout, theta: Float32Array): number {
  let s = 0;
  for (const { weight } of layout.layers) {
    const size = weight.shape.reduce((a, b) => a * b, 1);
    for (let i = weight.offset; i < weight.offset + size; i++) s += (theta[i] as number) ** 2;
  }
  return Math.sqrt(s);
}

function summaryLine(logV: number, ci: readonly [number, number], d: number, K: number, kind: DirectionKind, censored: number, meanLogR: number, q: ReturnType<typeof quadraticPrediction> | null): string {
  const g = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(5)).toString() : String(v));
  let line = `log V ${g(logV)} [${g(ci[0])}, ${g(ci[1])}] (d ${d}, ${K} ${kind} directions, ${censored} censored), mean log r ${g(meanLogR)}`;
  const best = q?.rows.find((r) => r.logVolume !== null);
  if (best && best.logVolume !== null) line += `; quadratic ${g(best.logVolume)} (${best.source}, delta ${best.delta})`;
  return line;
}

const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
