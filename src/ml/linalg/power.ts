import type { Rng } from '../rng.js';
import type { SymOperator } from './operator.js';
import { applyChecked, axpy, checkInt, checkOperator, checkPositive, dot, gaussianUnit, norm, scaleInPlace } from './vec.js';

export interface PowerStepInfo {
  /** Rayleigh quotient v^T H v of the current unit vector. */
  readonly eigenvalue: number;
  /** ||H v - eigenvalue v||. */
  readonly residual: number;
}

export interface PowerOptions {
  /** Step cap (= product cap). Default 1000. */
  readonly maxSteps?: number;
  /** Stop when ||H v - lambda v|| <= tol * |lambda|. Default 1e-6. */
  readonly tol?: number;
  /** Progress after each step (`step` = products used); awaited, so it may be async. */
  readonly onStep?: (step: number, info: PowerStepInfo) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface PowerResult {
  /** The Rayleigh quotient at the last step. */
  readonly eigenvalue: number;
  /** ||H v - eigenvalue v|| at the last step: |eigenvalue - lambda| <= residual for some eigenvalue lambda of H. */
  readonly residual: number;
  readonly steps: number;
  /** Operator products used: one per step. */
  readonly products: number;
  readonly converged: boolean;
  /** The last unit iterate v. */
  readonly vector: Float64Array;
}

/**
 * Power iteration, kept only as a baseline for Lanczos (it is what PyHessian reports as the top
 * eigenvalue). It converges to the eigenvalue of largest MAGNITUDE, which for an indefinite Hessian
 * may be the most negative one, at the rate |lambda_2 / lambda_1| per step.
 *
 * It stops on the residual ||H v - lambda v|| <= tol |lambda|, never on the relative change of lambda:
 * when |lambda_2 / lambda_1| is near 1, lambda changes slowly while still far off, and the common
 * "relative change < 1e-3" rule stops several percent short. The residual bounds the error.
 */
export async function powerIteration(op: SymOperator, rng: Rng, options: PowerOptions = {}): Promise<PowerResult> {
  checkOperator(op);
  const maxSteps = options.maxSteps ?? 1000;
  const tol = options.tol ?? 1e-6;
  checkInt('power iteration maxSteps', maxSteps, 1);
  checkPositive('power iteration tol', tol);
  let v = gaussianUnit(rng, op.dim);
  for (let step = 1; ; step++) {
    options.signal?.throwIfAborted();
    const w = await applyChecked(op, v, step);
    const eigenvalue = dot(v, w);
    const r = Float64Array.from(w);
    axpy(-eigenvalue, v, r);
    const residual = norm(r);
    await options.onStep?.(step, { eigenvalue, residual });
    const converged = residual <= tol * Math.abs(eigenvalue);
    const size = norm(w);
    // size = 0: v is in the null space, H v = 0 exactly; eigenvalue 0 with residual 0 is the answer.
    if (converged || step === maxSteps || size === 0) {
      return { eigenvalue, residual, steps: step, products: step, converged: converged || size === 0, vector: v };
    }
    scaleInPlace(w, 1 / size);
    v = w;
  }
}
