/**
 * The basin radius along one direction (docs/science.md "Basin volume by sampling"): the first
 * t > 0 at which the loss on the line, L(theta + t u), rises above a level. Pure JS on a batched
 * line-loss callback, so the search is tested on exact functions and runs unchanged on TF.js.
 *
 * Conventions:
 * - **Crossing** means `loss > level`; a non-finite loss (float32 overflow far out) counts as a
 *   crossing. L(0) must be at or below the level.
 * - **Grid**: one call evaluates t_i = span (i / points)^power, i = 1..points (power > 1 puts more
 *   points near theta, where sharp minima cross). The first grid point that crosses brackets the
 *   radius between it and the grid point before it (0 before the first). None crossing: the
 *   direction is right-censored at the span, reported as such and never dropped.
 * - **Refinement** (multi-point bisection): each further call evaluates `sectionPoints` equally
 *   spaced interior points of the bracket and keeps the sub-interval ending at the first one that
 *   crosses, so the bracket shrinks by sectionPoints + 1 per call (1 is classic bisection). Why more
 *   than one point per call: on TF.js a call's fixed cost (the first layer's product with the
 *   direction, see surface.ts) is several points' worth. Measured per direction (784-100-10 MLP, 1000
 *   MNIST examples, wasm, grid 16 points, tol 1e-3): 1 point per call 9.3 calls, 189 ms; 3 points 5.3
 *   calls, 122 ms; 7 points 4.0 calls, 124 ms (and a bracket half as wide); 15 points 3.3 calls, 151 ms.
 *   It stops when the bracket [lo, hi] has hi - lo <= tol * hi.
 * - **The radius reported** is the linear interpolation of the level crossing between the bracket's
 *   ends (always inside [lo, hi], so within the tolerance of the true crossing; for a smooth loss its
 *   error is second order in the bracket width). Why not hi or the midpoint: log V sums d log r, and a
 *   one-sided relative error tol in r would move log V by up to d * tol (80 nats for an MNIST MLP at
 *   tol 1e-3); [lo, hi] is returned too, so callers can bound that effect.
 * - "First" is first among the points evaluated: a loss that rises above the level and falls back
 *   between two grid points is not seen. A finer grid (more points) narrows that blind spot.
 */

/** Loss at theta + t u for each t, in order (one batched evaluation). */
export type LineLoss = (ts: readonly number[]) => readonly number[];

export interface RadiusOptions {
  /** Crossing: loss > level. */
  readonly level: number;
  /** L(0), the loss at theta; must be <= level. */
  readonly lossAtZero: number;
  /** The largest t searched (> 0). */
  readonly span: number;
  /** Coarse grid: `points` values t = span (i / points)^power. */
  readonly grid: { readonly points: number; readonly power: number };
  /** Relative bracket width to stop refining at: hi - lo <= tol * hi. */
  readonly tol: number;
  /** Interior points evaluated per refinement call (1: bisection). */
  readonly sectionPoints: number;
  /** Refinement calls allowed before giving up (the result is then marked unconverged). Default 200. */
  readonly maxRefinements?: number;
}

export interface RadiusResult {
  /** The interpolated crossing in [lo, hi]; the span when censored. */
  readonly radius: number;
  /** Whether the loss stayed at or below the level up to the span. */
  readonly censored: boolean;
  /** The final bracket: loss(lo) <= level < loss(hi). Censored: both are the span. */
  readonly lo: number;
  readonly hi: number;
  /** Whether hi - lo <= tol * hi was reached (censored directions count as converged). */
  readonly converged: boolean;
  /** Points evaluated (grid and refinement). */
  readonly points: number;
  /** Line-loss calls (1 for the grid, then one per refinement). */
  readonly calls: number;
}

/** The coarse grid t_i = span (i / points)^power, i = 1..points (ascending, ending at span). */
export function powerGrid(span: number, points: number, power: number): number[] {
  if (!(span > 0) || !Number.isFinite(span)) throw new RangeError(`the span must be a positive finite number, got ${span}`);
  if (!Number.isInteger(points) || points < 1) throw new RangeError(`grid points must be an integer >= 1, got ${points}`);
  if (!(power > 0) || !Number.isFinite(power)) throw new RangeError(`the grid power must be a positive finite number, got ${power}`);
  return Array.from({ length: points }, (_, i) => (i + 1 === points ? span : span * ((i + 1) / points) ** power));
}

const crosses = (loss: number, level: number): boolean => !(loss <= level);

export function findRadius(lineLoss: LineLoss, o: RadiusOptions): RadiusResult {
  if (!(o.tol > 0 && o.tol < 1)) throw new RangeError(`the tolerance must be in (0, 1), got ${o.tol}`);
  if (!Number.isInteger(o.sectionPoints) || o.sectionPoints < 1) throw new RangeError(`section points must be an integer >= 1, got ${o.sectionPoints}`);
  if (!Number.isFinite(o.level)) throw new RangeError(`the level must be finite, got ${o.level}`);
  if (!(o.lossAtZero <= o.level)) throw new RangeError(`the loss at t = 0 (${o.lossAtZero}) must be at or below the level (${o.level})`);
  const maxRefinements = o.maxRefinements ?? 200;
  const grid = powerGrid(o.span, o.grid.points, o.grid.power);
  let points = 0;
  let calls = 0;
  const evaluate = (ts: readonly number[]): readonly number[] => {
    const values = lineLoss(ts);
    if (values.length !== ts.length) throw new Error(`internal error: the line loss returned ${values.length} values for ${ts.length} points`);
    points += ts.length;
    calls++;
    return values;
  };

  const g = evaluate(grid);
  const first = g.findIndex((v) => crosses(v, o.level));
  if (first < 0) return { radius: o.span, censored: true, lo: o.span, hi: o.span, converged: true, points, calls };
  let lo = first === 0 ? 0 : (grid[first - 1] as number);
  let flo = first === 0 ? o.lossAtZero : (g[first - 1] as number);
  let hi = grid[first] as number;
  let fhi = g[first] as number;

  const m = o.sectionPoints;
  let refinements = 0;
  while (hi - lo > o.tol * hi && refinements < maxRefinements) {
    const step = (hi - lo) / (m + 1);
    const ts = Array.from({ length: m }, (_, j) => lo + (j + 1) * step);
    const f = evaluate(ts);
    refinements++;
    const j = f.findIndex((v) => crosses(v, o.level));
    if (j < 0) {
      lo = ts[m - 1] as number;
      flo = f[m - 1] as number;
    } else {
      hi = ts[j] as number;
      fhi = f[j] as number;
      if (j > 0) {
        lo = ts[j - 1] as number;
        flo = f[j - 1] as number;
      }
    }
  }
  return { radius: interpolate(lo, flo, hi, fhi, o.level), censored: false, lo, hi, converged: hi - lo <= o.tol * hi, points, calls };
}

/** Where the chord from (lo, flo) to (hi, fhi) meets the level; the midpoint when fhi is not finite. */
function interpolate(lo: number, flo: number, hi: number, fhi: number, level: number): number {
  if (!Number.isFinite(fhi) || !Number.isFinite(flo) || !(fhi > flo)) return (lo + hi) / 2;
  const t = lo + ((level - flo) / (fhi - flo)) * (hi - lo);
  return Math.min(hi, Math.max(lo, t));
}
