import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { DirectionKind } from '../ml/basin/directions.js';
import type { SliceGrid } from '../ml/basin/slice.js';
import type { MlpLayout } from '../ml/mlp.js';
import type { JsonValue } from '../util/json.js';
import type { Artifact, Outputs } from './artifact.js';
import { StageAborted, StageFailure, throwIfAborted } from './failure.js';
import { readModel, readSets, type ModelInput, type NamedSet, type SetName } from './model-input.js';
import type { StageContext, StageDefinition } from './types.js';

/**
 * The `slice` stage: loss and accuracy surfaces of a trained model (docs/science.md "1D and 2D loss
 * slices"): along one or two random directions through theta (filter-normalised by default, Li et
 * al. 2018), or along the line between two models, theta(alpha) = (1 - alpha) theta_a + alpha theta_b.
 * The numerics are src/ml/basin/slice.ts; this file wires params, inputs, progress and outputs.
 *
 * Outputs: `surface` (JSON headline), the axis (`coords` float64 [n] for 1d and 2d, `alphas` float64
 * [n] for interpolate) and per set `<set>_loss` and `<set>_acc` (float64 [n], or [n, n] for 2d with
 * row i along the first direction at coords[i] and column j along the second at coords[j]; `_acc`
 * only for classification). Set names in outputs: train, test, attack, train_attack.
 *
 * Also exported for the sharpness stage: reading a model input and example sets (readModel,
 * readSets), which hessian.ts does for its own params only.
 */

export interface SliceParams {
  readonly mode: '1d' | '2d' | 'interpolate';
  readonly direction: DirectionKind;
  readonly seed: number | string;
  readonly grid: { readonly span: number; readonly steps: number };
  readonly alpha: { readonly from: number; readonly to: number; readonly perUnit: number };
  readonly sets: readonly SetName[];
}

export const slice: StageDefinition<SliceParams> = {
  kind: 'slice',
  version: 1,
  schema: 'slice.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'surface',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const started = performance.now();
    const model = readModel(ctx, 'slice', 'model');
    const other = p.mode === 'interpolate' ? otherModel(ctx, model) : undefined;
    if (p.mode !== 'interpolate' && ctx.inputs['other']) {
      throw new StageFailure(`input \`other\` is only read by mode: interpolate, and this slice has mode: ${p.mode}: remove \`inputs.other\`, or set \`mode: interpolate\``);
    }
    const sets = readSets(ctx, 'slice', model, p.sets);
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, s] = await Promise.all([import('../ml/runtime.js'), import('../ml/basin/slice.js')]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);

    const interpolate = other !== undefined;
    const axis = interpolate ? s.alphaAxis(p.alpha.from, p.alpha.to, p.alpha.perUnit) : s.centredAxis(p.grid.span, p.grid.steps);
    const dirs = interpolate ? [s.interpolationDirection(model.params, other.params)] : s.sliceDirections(model.layout, model.params, p.direction, p.seed, p.mode === '2d' ? 2 : 1);
    const grids = await s
      .sliceSurface(tf, model.layout, model.loss, model.params, sets, dirs, axis, {
        signal: ctx.signal,
        onRow: (done, planned) => ctx.progress({ fraction: done / planned, message: `${p.mode === '2d' ? 'row' : 'line'} ${done}/${planned}` }),
      })
      .catch((e: unknown) => {
        if (ctx.signal.aborted) throw new StageAborted();
        throw e;
      });

    const n = axis.length;
    const shape = p.mode === '2d' ? [n, n] : [n];
    const outputs: Record<string, Artifact> = { [interpolate ? 'alphas' : 'coords']: { type: 'array', dtype: 'float64', shape: [n], data: axis } };
    sets.forEach((set, k) => {
      const g = grids[k] as SliceGrid;
      outputs[`${outputKey(set.name)}_loss`] = { type: 'array', dtype: 'float64', shape, data: g.loss };
      if (g.acc) outputs[`${outputKey(set.name)}_acc`] = { type: 'array', dtype: 'float64', shape, data: g.acc };
    });
    const { surface, summary } = interpolate ? pathRecord(s, model, other, dirs[0] as Float64Array, axis, sets, grids, p) : sliceRecord(s, model, dirs, axis, sets, grids, p);
    const wallMs = performance.now() - started;
    const evaluations = sets.length * (p.mode === '2d' ? n * n : n);
    ctx.log(`${evaluations} points over ${sets.map((x) => `${x.name} (${x.n})`).join(', ')} in ${(wallMs / 1000).toFixed(1)} s on ${backend}`);
    outputs['surface'] = { type: 'json', value: json({ ...surface, evaluations }) };
    return { outputs: outputs as Outputs, info: { wallMs: Math.round(wallMs), evaluations, backend }, summary };
  },
};

type SliceModule = typeof import('../ml/basin/slice.js');

interface Headline {
  readonly surface: Record<string, unknown>;
  readonly summary: string;
}

const describe = (m: ModelInput) => ({ parameters: m.layout.size, norm: norm(m.params), stop: m.stop ?? null, node: m.nodeId });

/** The headline of a 1d or 2d slice: per set the centre, the loss range and where its minimum lies. */
function sliceRecord(s: SliceModule, model: ModelInput, dirs: readonly Float64Array[], axis: Float64Array, sets: readonly NamedSet[], grids: readonly SliceGrid[], p: SliceParams): Headline {
  const n = axis.length;
  const plane = dirs.length === 2;
  const centre = plane ? (n * n - 1) / 2 : (n - 1) / 2;
  const at = (index: number) => (plane ? [axis[Math.floor(index / n)], axis[index % n]] : [axis[index]]);
  const perSet = sets.map((set, k) => {
    const g = grids[k] as SliceGrid;
    const range = s.extremes(g.loss);
    const accRange = g.acc ? s.extremes(g.acc) : null;
    return {
      name: set.name,
      centreLoss: g.loss[centre] as number,
      range,
      record: {
        n: set.n,
        centre: { loss: g.loss[centre], acc: g.acc ? g.acc[centre] : null },
        loss: { min: range.min, max: range.max, argmin: at(range.argmin) },
        acc: g.acc && accRange ? { min: accRange.min, max: accRange.max } : null,
      },
    };
  });
  const shape = plane ? [n, n] : [n];
  return {
    surface: {
      mode: p.mode,
      direction: p.direction,
      seed: p.seed,
      model: describe(model),
      grid: { span: p.grid.span, steps: p.grid.steps, points: n, shape },
      directions: dirs.map((u) => ({ norm: norm(u) })),
      ...(plane ? { cosine: cosine(dirs[0] as Float64Array, dirs[1] as Float64Array) } : {}),
      sets: Object.fromEntries(perSet.map((r) => [r.name, r.record])),
    },
    summary: `${p.mode} ${p.direction} slice, ${shape.join('x')} points: ` + perSet.map((r) => `${r.name} loss ${fmt(r.centreLoss)} at centre, ${fmt(r.range.min)}..${fmt(r.range.max)}`).join('; '),
  };
}

/** The headline of an interpolation: per set the endpoints, the peak and barrier on [0, 1], the lowest accuracy there. */
function pathRecord(s: SliceModule, model: ModelInput, other: ModelInput, direction: Float64Array, axis: Float64Array, sets: readonly NamedSet[], grids: readonly SliceGrid[], p: SliceParams): Headline {
  const paths = sets.map((set, k) => ({ set, path: s.pathSummary(axis, grids[k] as SliceGrid), range: s.extremes((grids[k] as SliceGrid).loss) }));
  return {
    surface: {
      mode: p.mode,
      model: describe(model),
      other: describe(other),
      distance: norm(direction),
      alpha: { from: axis[0], to: axis[axis.length - 1], perUnit: p.alpha.perUnit, points: axis.length },
      sets: Object.fromEntries(paths.map(({ set, path, range }) => [set.name, { n: set.n, loss: { min: range.min, max: range.max }, ...path }])),
    },
    summary: paths
      .map(({ set, path }) => {
        const acc = path.worstAcc ? `, acc ${pct(path.endpoints.a.acc)} -> min ${pct(path.worstAcc.acc)} at alpha ${path.worstAcc.alpha} -> ${pct(path.endpoints.b.acc)}` : '';
        return `${set.name}: barrier ${fmt(path.barrier)} at alpha ${path.peak.alpha}${acc}`;
      })
      .join('; '),
  };
}

// ---- the other model ----

/** The `other` model of an interpolation: the same architecture and loss as `model`. */
function otherModel(ctx: StageContext<SliceParams>, model: ModelInput): ModelInput {
  if (!ctx.inputs['other']) {
    throw new StageFailure('mode: interpolate needs a second model as input `other`: write `inputs: { model: <a train stage>, other: <another train stage>, data: <their dataset> }`');
  }
  const other = readModel(ctx, 'slice', 'other');
  const a = architecture(model.layout);
  const b = architecture(other.layout);
  if (a !== b) {
    throw new StageFailure(`the models differ in architecture: model (${model.nodeId}) is ${a}, other (${other.nodeId}) is ${b}: interpolation needs two models of one layout; point \`inputs.other\` at a train stage with the same \`model\` params`);
  }
  if (model.loss !== other.loss) {
    throw new StageFailure(`the models were trained on different losses: model (${model.nodeId}) on ${model.loss}, other (${other.nodeId}) on ${other.loss}: interpolate between models trained with one loss`);
  }
  return other;
}

/** `3-6-3 tanh`: what two models must share to be interpolated (the init scheme need not). */
function architecture(layout: MlpLayout): string {
  const { inputs, hidden, outputs, activation } = layout.spec;
  return `${[inputs, ...hidden, outputs].join('-')} ${hidden.length ? activation : 'linear'}`;
}

/** The set's name in output names: `train+attack` -> `train_attack`. */
export function outputKey(name: SetName): string {
  return name.replace('+', '_');
}

/** ||v||_2 in float64. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) ** 2;
  return Math.sqrt(s);
}

function cosine(u: Float64Array, v: Float64Array): number {
  let s = 0;
  u.forEach((a, i) => (s += a * (v[i] as number)));
  return s / (norm(u) * norm(v));
}

export const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
export const fmt = (v: number): string => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));
const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
