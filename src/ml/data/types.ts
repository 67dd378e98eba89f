/**
 * The contract between the `dataset` stage and everything that reads it (train, hessian, basin
 * volume...). A dataset node's outputs:
 *
 * | output          | type                                   | meaning                                          |
 * | --------------- | -------------------------------------- | ------------------------------------------------ |
 * | `x_train`       | float32 [n, d]                         | clean training set S, features in row order      |
 * | `y_train`       | int32 [n] (classification) or float32 [n, k] (regression) | labels or targets |
 * | `x_attack`      | float32 [m, d]                         | the attack pool, disjoint from S and test        |
 * | `y_attack`      | int32 [m]                              | WRONG labels, uniform over the other classes     |
 * | `y_attack_true` | int32 [m]                              | the true labels of the attack pool               |
 * | `x_test`        | float32 [t, d]                         | test set                                         |
 * | `y_test`        | like `y_train`                         | test labels or targets                           |
 * | `meta`          | JSON, `DatasetMeta`                    | shapes, counts, class counts, source             |
 *
 * A training stage uses the FIRST |A| attack examples, so all attack sizes share one pool and a
 * larger attack set contains every smaller one. Regression sets have an empty attack pool (m = 0).
 */
export interface DatasetMeta {
  /** `mnist`, `idx`, `csv`, `gaussian-mixture`, `spirals`, `swiss-roll`, `regression-1d`. */
  readonly source: string;
  readonly task: 'classification' | 'regression';
  /** Shape of one example before flattening, e.g. [28, 28] or [14, 14] or [2]. */
  readonly inputShape: readonly number[];
  /** d: features per example (product of inputShape). */
  readonly features: number;
  /** Number of classes (classification) or 0 (regression). */
  readonly classes: number;
  /** k: target dimension for regression, else 0. */
  readonly targetDim: number;
  readonly counts: { readonly train: number; readonly attack: number; readonly test: number };
  /** Per class counts (classification), index = class. */
  readonly classCounts?: { readonly train: readonly number[]; readonly attack: readonly number[]; readonly test: readonly number[] };
  /** The seed of the split and of the attack labels. */
  readonly seed: number | string;
}
