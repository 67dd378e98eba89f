import type { Rng } from '../rng.js';
import { DataError } from './error.js';

export interface SplitSizes {
  /** |S|, the clean training set. */
  readonly train: number;
  /** The attack pool (a training stage uses its first |A| examples). */
  readonly attack: number;
  readonly test: number;
}

/** Indices into the pool, disjoint, each in the order the permutation drew them. */
export interface Split {
  readonly train: Int32Array;
  readonly attack: Int32Array;
  readonly test: Int32Array;
}

export interface SplitOptions {
  /** Draw S with equal class counts (the first `train mod classes` classes get one more). */
  readonly balanced?: { readonly labels: Int32Array; readonly classes: number };
  /** What the pool is, for errors: `source mnist (10000 digits)`. */
  readonly what: string;
}

/**
 * One seeded permutation of the pool assigns S, then the attack pool, then the test set, so the
 * three are disjoint by construction and a seed fixes all three. With `balanced`, S takes the
 * first examples of each class in permutation order until each class has its quota; the attack
 * pool and the test set come from the rest, still in permutation order.
 */
export function splitIndices(n: number, sizes: SplitSizes, rng: Rng, opts: SplitOptions): Split {
  const { train, attack, test } = sizes;
  const total = train + attack + test;
  if (total > n) {
    throw new DataError(
      `the split needs train ${train} + attack ${attack} + test ${test} = ${total} examples, but ${opts.what} has ${n}: lower train, attack or test`,
    );
  }
  const perm = rng.permutation(n);
  if (!opts.balanced) {
    return { train: perm.slice(0, train), attack: perm.slice(train, train + attack), test: perm.slice(train + attack, total) };
  }
  const { labels, classes } = opts.balanced;
  const quota = Array.from({ length: classes }, (_, c) => Math.floor(train / classes) + (c < train % classes ? 1 : 0));
  const taken = new Array<number>(classes).fill(0);
  const s = new Int32Array(train);
  const rest = new Int32Array(n - train);
  let si = 0;
  let ri = 0;
  for (const i of perm) {
    const c = labels[i]!;
    if (si < train && taken[c]! < quota[c]!) {
      taken[c]!++;
      s[si++] = i;
    } else if (ri < rest.length) {
      rest[ri++] = i;
    }
  }
  const short = quota.findIndex((q, c) => taken[c]! < q);
  if (short >= 0) {
    throw new DataError(
      `balanced: true needs ${quota[short]} examples of class ${short} in S, but ${opts.what} has only ${taken[short]}: lower train, or set balanced: false`,
    );
  }
  return { train: s, attack: rest.slice(0, attack), test: rest.slice(attack, attack + test) };
}
