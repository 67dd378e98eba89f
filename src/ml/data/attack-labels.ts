import type { Rng } from '../rng.js';

/**
 * The wrong labels of the attack pool: for true class y, a class drawn uniformly from the other
 * classes-1. Draw r in [0, classes-1) and skip over y (r >= y maps to r+1): every other class has
 * probability 1/(classes-1) and y none. (Drawing from 0..classes-2 without the skip, or skipping by
 * `(y + 1 + r) % classes` with r < classes-2, misses a class: the bug science.md warns about.)
 */
export function wrongLabels(trueLabels: Int32Array, classes: number, rng: Rng): Int32Array {
  if (classes < 2) throw new Error(`internal error: wrong labels need at least 2 classes, got ${classes}`);
  const out = new Int32Array(trueLabels.length);
  for (let i = 0; i < trueLabels.length; i++) {
    const y = trueLabels[i]!;
    const r = rng.int(classes - 1);
    out[i] = r >= y ? r + 1 : r;
  }
  return out;
}
