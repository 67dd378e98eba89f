/**
 * Every example a source provides, before the split: features row-major [n, d] in float32, and
 * labels or targets. Sources differ only in how they fill one of these; the split, the attack
 * labels and the outputs (see types.ts) are the same for all.
 */
export interface ClassificationPool {
  readonly task: 'classification';
  readonly n: number;
  /** One example before flattening, e.g. [28, 28] or [2]. */
  readonly inputShape: readonly number[];
  readonly x: Float32Array;
  /** Class of each example, in 0..classes-1. */
  readonly labels: Int32Array;
  readonly classes: number;
  /** Names of the classes when the source has them (CSV label strings), index = class. */
  readonly classNames?: readonly string[];
}

export interface RegressionPool {
  readonly task: 'regression';
  readonly n: number;
  readonly inputShape: readonly number[];
  readonly x: Float32Array;
  /** Targets row-major [n, targetDim]. */
  readonly targets: Float32Array;
  readonly targetDim: number;
}

export type DataPool = ClassificationPool | RegressionPool;

export function featuresOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
