import { Matrix, QrDecomposition } from 'ml-matrix';
import type { Rng } from '../rng.js';

/**
 * Ground truth for this folder's tests: a dense symmetric matrix with a prescribed spectrum,
 * M = Q diag(lambda) Q^T with Q orthogonal from the QR factorisation of a seeded Gaussian matrix
 * (Haar-distributed up to column signs, so eigenvectors are not aligned with the axes: a diagonal
 * test matrix would make Rademacher probes exact). Returned row-major and exactly symmetric.
 */
export function matrixWithSpectrum(lambdas: ArrayLike<number>, rng: Rng): Float64Array {
  const n = lambdas.length;
  const G = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G.set(i, j, rng.normal());
  const Q = new QrDecomposition(G).orthogonalMatrix;
  const rows = Array.from({ length: n }, (_, i) => Float64Array.from(Q.getRow(i)));
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const qi = rows[i] as Float64Array;
    for (let j = 0; j <= i; j++) {
      const qj = rows[j] as Float64Array;
      let s = 0;
      for (let k = 0; k < n; k++) s += (qi[k] as number) * (lambdas[k] as number) * (qj[k] as number);
      M[i * n + j] = s;
      M[j * n + i] = s;
    }
  }
  return M;
}

/** Relative error |a - b| / |b|. */
export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}
