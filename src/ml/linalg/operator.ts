/**
 * A symmetric linear operator on R^dim, seen only through products: the Hessian of a loss (each
 * product a reverse-over-reverse pass on TF.js, in float32) or, in tests, a dense matrix. Every
 * estimator in this folder keeps its own vectors and scalars in Float64Array and calls `apply` once
 * per product, so `products` counts are exact.
 *
 * `apply` must not keep or modify `v`; it returns a new array. It is async so a long product can
 * yield (progress, abort) without the estimators knowing about TF.js.
 */
export interface SymOperator {
  readonly dim: number;
  apply(v: Float64Array): Promise<Float64Array>;
}

/** An operator from a dense row-major symmetric [dim, dim] matrix (tests, ground truth). */
export function denseOperator(M: ArrayLike<number>, dim: number): SymOperator {
  if (M.length !== dim * dim) throw new Error(`internal error: dense operator of dim ${dim} from ${M.length} entries`);
  return {
    dim,
    apply(v) {
      const y = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        let s = 0;
        const row = i * dim;
        for (let j = 0; j < dim; j++) s += (M[row + j] as number) * (v[j] as number);
        y[i] = s;
      }
      return Promise.resolve(y);
    },
  };
}
