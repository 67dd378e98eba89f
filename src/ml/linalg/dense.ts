import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { SymOperator } from './operator.js';
import { applyChecked, checkInt, checkOperator, type ProductProgress } from './vec.js';

/**
 * Ground truth for small models (dim up to a few thousand): the whole Hessian from dim products, and
 * its full eigendecomposition in float64. Every estimator in this folder is checked against these.
 */

export interface DenseOperator {
  /** Row-major [dim, dim], exactly symmetric: (H + H^T) / 2 of the columns H e_j. */
  readonly matrix: Float64Array;
  readonly dim: number;
  /**
   * max_ij |H_ij - H_ji| / max_ij |H_ij| before symmetrising (0 for a zero matrix). The products of
   * an exact Hessian are symmetric, so this measures the product's rounding error: about 1e-7 to
   * 1e-5 for float32 HVPs, 1e-16 for float64 ones.
   */
  readonly asymmetry: number;
  /** Operator products used: dim. */
  readonly products: number;
}

/**
 * Builds the dense matrix column by column from products with the unit vectors e_j, then symmetrises
 * it. Symmetrising halves the antisymmetric part of the product error and gives the symmetric
 * eigensolver a matrix it can trust; the asymmetry removed is reported.
 */
export async function denseFromOperator(op: SymOperator, onProduct?: ProductProgress, signal?: AbortSignal): Promise<DenseOperator> {
  checkOperator(op);
  const dim = op.dim;
  const H = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    signal?.throwIfAborted();
    const e = new Float64Array(dim);
    e[j] = 1;
    const column = await applyChecked(op, e, j + 1);
    for (let i = 0; i < dim; i++) H[i * dim + j] = column[i] as number;
    await onProduct?.(j + 1, dim);
  }
  let maxAbs = 0;
  let maxAsym = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      const a = H[i * dim + j] as number;
      const b = H[j * dim + i] as number;
      maxAbs = Math.max(maxAbs, Math.abs(a), Math.abs(b));
      maxAsym = Math.max(maxAsym, Math.abs(a - b));
      const s = (a + b) / 2;
      H[i * dim + j] = s;
      H[j * dim + i] = s;
    }
  }
  return { matrix: H, dim, asymmetry: maxAbs > 0 ? maxAsym / maxAbs : 0, products: dim };
}

export interface SymmetricEigen {
  /** All eigenvalues, ascending. */
  readonly values: Float64Array;
  /** vectors[i]: the unit eigenvector of values[i] (length dim); only when asked for. */
  readonly vectors?: readonly Float64Array[];
}

/**
 * The full eigendecomposition of a dense symmetric row-major [dim, dim] matrix, in float64, by
 * ml-matrix's symmetric EVD (Householder tridiagonalisation + implicit QL; O(dim^3), a few seconds
 * at dim = 1000). The matrix is taken as symmetric without a check: pass a symmetrised one
 * (denseFromOperator's output is).
 */
export function symmetricEigen(M: ArrayLike<number>, dim: number, options: { readonly vectors?: boolean } = {}): SymmetricEigen {
  checkInt('symmetricEigen dim', dim, 1);
  if (M.length !== dim * dim) throw new RangeError(`a [${dim}, ${dim}] matrix needs ${dim * dim} entries, got ${M.length}`);
  const A = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) A.set(i, j, M[i * dim + j] as number);
  const evd = new EigenvalueDecomposition(A, { assumeSymmetric: true });
  const d = evd.realEigenvalues;
  // tql2 sorts ascending already; sorting the indices keeps that a guarantee of this function.
  const order = d.map((_, i) => i).sort((a, b) => (d[a] as number) - (d[b] as number));
  const values = Float64Array.from(order, (i) => d[i] as number);
  if (!options.vectors) return { values };
  const V = evd.eigenvectorMatrix;
  return { values, vectors: order.map((col) => Float64Array.from(V.getColumn(col))) };
}
