import { Rng } from '../rng.js';
import { wrongLabels } from './attack-labels.js';
import { featuresOf, type DataPool } from './pool.js';
import { splitIndices, type SplitSizes } from './split.js';
import type { DatasetMeta } from './types.js';

/** One output array; the stage wraps it as an artifact. */
export interface OutputArray {
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

export type DatasetArrayName = 'x_train' | 'y_train' | 'x_attack' | 'y_attack' | 'y_attack_true' | 'x_test' | 'y_test';

export interface AssembledDataset {
  readonly arrays: Readonly<Record<DatasetArrayName, OutputArray>>;
  readonly meta: DatasetMeta;
}

export interface AssembleOptions {
  readonly source: string;
  readonly sizes: SplitSizes;
  readonly seed: number | string;
  readonly balanced: boolean;
  /** What the pool is, for errors: `source mnist (10000 digits)`. */
  readonly what: string;
}

/**
 * The outputs of types.ts from a pool: a seeded split into S, attack pool and test set, then the
 * attack pool's wrong labels. Each use of randomness has its own derived stream (`split`,
 * `attack-labels`), so e.g. turning on `balanced` never changes which wrong labels are drawn for
 * the same attack examples' true classes.
 */
export function assemble(pool: DataPool, o: AssembleOptions): AssembledDataset {
  const rng = new Rng(o.seed);
  const balanced = o.balanced && pool.task === 'classification' ? { labels: pool.labels, classes: pool.classes } : undefined;
  const split = splitIndices(pool.n, o.sizes, rng.derive('split'), { what: o.what, ...(balanced ? { balanced } : {}) });
  const d = featuresOf(pool.inputShape);
  const rows = (idx: Int32Array): OutputArray => ({ dtype: 'float32', shape: [idx.length, d], data: gatherRows(pool.x, d, idx) });
  const counts = { train: split.train.length, attack: split.attack.length, test: split.test.length };
  const common = {
    source: o.source,
    inputShape: [...pool.inputShape],
    features: d,
    counts,
    seed: o.seed,
  };

  if (pool.task === 'regression') {
    const k = pool.targetDim;
    const targets = (idx: Int32Array): OutputArray => ({ dtype: 'float32', shape: [idx.length, k], data: gatherRows(pool.targets, k, idx) });
    if (split.attack.length > 0) throw new Error('internal error: a regression set has an attack pool');
    const none = (): OutputArray => ({ dtype: 'int32', shape: [0], data: new Int32Array(0) });
    return {
      arrays: {
        x_train: rows(split.train), y_train: targets(split.train),
        x_attack: rows(split.attack), y_attack: none(), y_attack_true: none(),
        x_test: rows(split.test), y_test: targets(split.test),
      },
      meta: { ...common, task: 'regression', classes: 0, targetDim: k },
    };
  }

  const labelsOf = (idx: Int32Array): Int32Array => Int32Array.from(idx, (i) => pool.labels[i]!);
  const yTrain = labelsOf(split.train);
  const yAttackTrue = labelsOf(split.attack);
  const yTest = labelsOf(split.test);
  const yAttack = wrongLabels(yAttackTrue, pool.classes, rng.derive('attack-labels'));
  const ints = (data: Int32Array): OutputArray => ({ dtype: 'int32', shape: [data.length], data });
  return {
    arrays: {
      x_train: rows(split.train), y_train: ints(yTrain),
      x_attack: rows(split.attack), y_attack: ints(yAttack), y_attack_true: ints(yAttackTrue),
      x_test: rows(split.test), y_test: ints(yTest),
    },
    meta: {
      ...common,
      task: 'classification',
      classes: pool.classes,
      targetDim: 0,
      // The attack pool is counted by its TRUE classes: that is what was taken from the pool.
      classCounts: { train: classCounts(yTrain, pool.classes), attack: classCounts(yAttackTrue, pool.classes), test: classCounts(yTest, pool.classes) },
    },
  };
}

export function gatherRows(x: Float32Array, d: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * d);
  idx.forEach((i, r) => out.set(x.subarray(i * d, (i + 1) * d), r * d));
  return out;
}

export function classCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]!++;
  return counts;
}
