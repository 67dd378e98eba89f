import type { ExampleArrays } from '../curvature.js';
import type { LossName } from '../loss.js';
import { disposeEvalSet, uploadEvalSet } from '../metrics.js';
import type { MlpLayout } from '../mlp.js';
import { Rng } from '../rng.js';
import type { TF } from '../runtime.js';
import { randomDirection, type DirectionKind } from './directions.js';
import { SurfaceEvaluator } from './surface.js';

/**
 * Loss slices (docs/science.md "Metrics per trained model"): the loss and accuracy over an example
 * set on a line or a plane through theta, as in Li et al. 2018, and on the line through two models.
 *
 * - 1-D: L(theta + a u) for a on a centred axis; 2-D: L(theta + a u + b v) on the square grid of
 *   that axis, row i along u (a = axis[i]), column j along v (b = axis[j]).
 * - Interpolation: L((1 - alpha) theta_a + alpha theta_b) = L(theta_a + alpha (theta_b - theta_a)),
 *   the same line evaluator with u = theta_b - theta_a (float64 difference of the float32 vectors).
 *
 * Every point goes through one SurfaceEvaluator per set (surface.ts: the first layer's product is
 * linear in the point, so X W_1 is computed once), theta itself included, so the centre and the
 * rest of the grid round alike. The evaluator recomputes X U_1 for every call, so a line is one call
 * and a plane one call per row (progress and abort per row, for about two first-layer products per
 * row on top of the grid's points).
 */

/** Coordinates span * i / steps for i = -steps..steps: 2 steps + 1 points, 0 exactly at the centre, a[n-1-i] = -a[i] exactly. */
export function centredAxis(span: number, steps: number): Float64Array {
  if (!(span > 0) || !Number.isInteger(steps) || steps < 1) throw new RangeError(`a centred axis needs span > 0 and steps >= 1, got span ${span}, steps ${steps}`);
  return Float64Array.from({ length: 2 * steps + 1 }, (_, k) => (span * (k - steps)) / steps);
}

/**
 * alpha = k / perUnit for the integers k with from <= alpha <= to: a uniform grid on which 0 and 1
 * fall exactly whenever from <= 0 and to >= 1 (what the endpoints and the barrier need).
 */
export function alphaAxis(from: number, to: number, perUnit: number): Float64Array {
  if (!(from <= 0 && to >= 1) || !Number.isInteger(perUnit) || perUnit < 1) {
    throw new RangeError(`an interpolation axis needs from <= 0, to >= 1 and perUnit >= 1, got from ${from}, to ${to}, perUnit ${perUnit}`);
  }
  // The 1e-9 slack keeps a bound like 1.5 * 20 = 30.000000000000004 from losing its last point.
  const first = Math.ceil(from * perUnit - 1e-9);
  const last = Math.floor(to * perUnit + 1e-9);
  return Float64Array.from({ length: last - first + 1 }, (_, i) => (first + i) / perUnit);
}

/**
 * The `count` directions of a slice, drawn in order from the stream `slice` of `seed` (directions.ts:
 * d normals each, then sphere- or filter-normalised). A 1-D slice's direction is therefore the first
 * direction of the 2-D slice with the same seed.
 */
export function sliceDirections(layout: MlpLayout, theta: Float32Array, kind: DirectionKind, seed: number | string, count: number): Float64Array[] {
  const rng = new Rng(seed).derive('slice');
  return Array.from({ length: count }, () => randomDirection(layout, theta, kind, rng));
}

/** A grid's values, row-major: [n] for a line, [n, n] for a plane. */
export interface SliceGrid {
  readonly loss: Float64Array;
  /** Accuracy at each point; null without class labels. */
  readonly acc: Float64Array | null;
}

export interface SliceOptions {
  readonly signal?: AbortSignal;
  /** After each row: rows done so far over all sets, and rows planned. */
  readonly onRow?: (done: number, planned: number) => void;
}

/**
 * Loss and accuracy of each set on the line (one direction) or plane (two directions) through theta
 * at the coordinates `axis` (per direction). Sets are uploaded one at a time and freed after use.
 */
export async function sliceSurface(
  tf: TF,
  layout: MlpLayout,
  loss: LossName,
  theta: Float32Array,
  sets: readonly ExampleArrays[],
  dirs: readonly Float64Array[],
  axis: Float64Array,
  options: SliceOptions = {},
): Promise<SliceGrid[]> {
  if (dirs.length !== 1 && dirs.length !== 2) throw new Error(`internal error: a slice has 1 or 2 directions, got ${dirs.length}`);
  const n = axis.length;
  const rowBlocks: number[][][] =
    dirs.length === 1 ? [Array.from(axis, (a) => [a])] : Array.from(axis, (a) => Array.from(axis, (b) => [a, b]));
  const planned = sets.length * rowBlocks.length;
  let done = 0;
  const grids: SliceGrid[] = [];
  for (const data of sets) {
    const set = uploadEvalSet(tf, data.x, data.targets, data.labels, data.features, data.k);
    const ev = new SurfaceEvaluator(tf, layout, loss, theta, set);
    try {
      const size = dirs.length === 1 ? n : n * n;
      const lossGrid = new Float64Array(size);
      let accGrid: Float64Array | null = data.labels ? new Float64Array(size) : null;
      let offset = 0;
      for (const rows of rowBlocks) {
        options.signal?.throwIfAborted();
        const points = ev.evaluate(dirs, rows);
        points.forEach((p, i) => {
          lossGrid[offset + i] = p.loss;
          if (accGrid) {
            if (p.acc === null) accGrid = null;
            else accGrid[offset + i] = p.acc;
          }
        });
        offset += points.length;
        done++;
        options.onRow?.(done, planned);
        // One turn of the event loop per row: lets an abort message reach a worker thread.
        await new Promise((resolve) => setImmediate(resolve));
      }
      grids.push({ loss: lossGrid, acc: accGrid });
    } finally {
      ev.dispose();
      disposeEvalSet(set);
    }
  }
  return grids;
}

/** The theta_b - theta_a direction of an interpolation, in float64. */
export function interpolationDirection(a: Float32Array, b: Float32Array): Float64Array {
  if (a.length !== b.length) throw new Error(`internal error: interpolating vectors of ${a.length} and ${b.length} parameters`);
  return Float64Array.from(a, (w, i) => (b[i] as number) - w);
}

/** What one set shows along an interpolation path, from the grid on `alphas` (which holds 0 and 1). */
export interface PathSummary {
  readonly endpoints: { readonly a: PathPoint; readonly b: PathPoint };
  /** The highest loss on the grid between the models (0 <= alpha <= 1), and where. */
  readonly peak: PathPoint;
  /**
   * max over grid alphas in [0, 1] of L(theta(alpha)) - max(L(theta_a), L(theta_b)): 0 when the loss
   * never rises above the worse endpoint. A maximum over grid points, so it can only underestimate
   * the barrier of the continuous path (by how much the loss changes within one grid step).
   */
  readonly barrier: number;
  /** The lowest accuracy between the models, and where (null without labels). */
  readonly worstAcc: PathPoint | null;
}

export interface PathPoint {
  readonly alpha: number;
  readonly loss: number;
  readonly acc: number | null;
}

export function pathSummary(alphas: Float64Array, grid: SliceGrid): PathSummary {
  const at = (i: number): PathPoint => ({ alpha: alphas[i] as number, loss: grid.loss[i] as number, acc: grid.acc ? (grid.acc[i] as number) : null });
  const ia = alphas.indexOf(0);
  const ib = alphas.indexOf(1);
  if (ia < 0 || ib < 0) throw new Error('internal error: an interpolation grid without alpha 0 and 1');
  let peak = ia;
  let worst = ia;
  for (let i = ia; i <= ib; i++) {
    if ((grid.loss[i] as number) > (grid.loss[peak] as number)) peak = i;
    if (grid.acc && (grid.acc[i] as number) < (grid.acc[worst] as number)) worst = i;
  }
  const worseEnd = Math.max(grid.loss[ia] as number, grid.loss[ib] as number);
  return {
    endpoints: { a: at(ia), b: at(ib) },
    peak: at(peak),
    // The peak ranges over both endpoints, so this is >= 0.
    barrier: (grid.loss[peak] as number) - worseEnd,
    worstAcc: grid.acc ? at(worst) : null,
  };
}

/** Min and max of a grid and the index of the min (first occurrence). */
export function extremes(values: Float64Array): { readonly min: number; readonly max: number; readonly argmin: number } {
  let argmin = 0;
  let max = -Infinity;
  values.forEach((v, i) => {
    if (v < (values[argmin] as number)) argmin = i;
    if (v > max) max = v;
  });
  return { min: values[argmin] as number, max, argmin };
}
