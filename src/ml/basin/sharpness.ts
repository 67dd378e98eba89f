import type { ExampleArrays } from '../curvature.js';
import { setGradient } from '../hvp.js';
import type { LossName } from '../loss.js';
import { disposeEvalSet, uploadEvalSet } from '../metrics.js';
import type { MlpLayout } from '../mlp.js';
import { Rng } from '../rng.js';
import type { TF } from '../runtime.js';
import { SurfaceEvaluator } from './surface.js';

/**
 * Two flatness measures of a minimum (docs/science.md "Sharpness"):
 *
 * Keskar et al. 2017 epsilon-sharpness, in the full parameter space:
 *
 *     phi_eps = 100 * (max_{delta in C_eps} L(theta + delta) - L(theta)) / (1 + L(theta)),
 *     C_eps = { delta : |delta_i| <= w_i },  w_i = eps (|theta_i| + 1).
 *
 * The maximum is searched by projected sign-gradient ascent (`boxAscent`), the steepest-ascent
 * method of a box (an L-infinity ball in the coordinates delta_i / w_i, as PGD in adversarial
 * training; Keskar used L-BFGS-B):
 *
 *   - a step moves every coordinate by f w_i in the direction of its gradient component, then clips
 *     to the box: cand_i = clip(delta_i + f w_i sign(g_i), -w_i, w_i). f starts at `stepFraction`,
 *     so the ascent can cross from the centre to a face in 1/f steps;
 *   - a candidate is kept only when its loss is higher than the best so far (the iterate is always
 *     the best point seen); a rejected step halves f, so f only shrinks;
 *   - it stops after `steps` candidate evaluations (the cap), after the `halvings`-th rejected step
 *     (no improvement: the last step tried was stepFraction / 2^halvings of the box, the resolution
 *     of a maximum inside the box), or at a fixed point, when a step would not move: every
 *     coordinate has a zero gradient or sits on the face its gradient points to (a first-order KKT
 *     point of the box problem). A loss that is nearly linear across the box, the usual case for
 *     small eps, ends there: at the vertex sign(g) w after 1 / f accepted steps;
 *   - `restarts` extra ascents start from points drawn uniformly in the box; the best is reported.
 *     The ascent from the centre cannot move when the gradient at theta is exactly zero, and where
 *     the gradient is tiny its sign is noise, so it may end at a vertex that is only a local maximum
 *     (on a quadratic at its exact least-squares minimum, up to 2% short of the box maximum in
 *     sharpness.test.ts; with 8 restarts every case there is within 1%).
 *
 * Cost per eps and start: one loss evaluation per step (SurfaceEvaluator) and one gradient per
 * accepted step (setGradient, mean loss over the set). The maximum found is a lower bound of the
 * true one (a nonconvex problem in general; for a convex loss the maximum is at a vertex).
 *
 * Wu-Ma-E 2018 random-perturbation flatness:
 *
 *     F_sigma = mean_k [L(theta + sigma xi_k) - L(theta)] / sigma^2,  xi_k ~ N(0, I_d),
 *
 * with its standard error over the draws. For a quadratic loss the expectation is exactly
 * tr(H) / 2 for every sigma; in general it tends to tr(H) / 2 as sigma -> 0. Away from an exact
 * minimum the term sigma g.xi dominates the spread of the draws (standard error about
 * ||g|| / (sigma sqrt(n))); `antithetic` draws average L(theta + sigma xi) and L(theta - sigma xi),
 * which has the same expectation, cancels that term exactly and costs two evaluations per draw.
 *
 * Randomness: streams `flatness` and `sharpness-starts/<eps>` of `seed`. Losses are float32 sums over
 * the EvalSet's fixed chunks, added in float64; every loss, L(theta) included, comes from one
 * SurfaceEvaluator, so differences are taken between numbers rounded alike.
 */

/** Why an ascent stopped. */
export type AscentStop = 'steps' | 'no-improvement' | 'stationary';

/** The loss and its gradient at theta + delta (delta in float64). */
export interface BoxObjective {
  loss(delta: Float64Array): number | Promise<number>;
  gradient(delta: Float64Array): Float64Array | Promise<Float64Array>;
}

export interface AscentOptions {
  /** Cap on candidate evaluations per start. */
  readonly steps: number;
  /** Initial step as a fraction of each coordinate's half-width w_i, in (0, 1]. */
  readonly stepFraction: number;
  /** Rejected steps (each halving the step) after which the ascent stops. */
  readonly halvings: number;
  /** Extra starts uniform in the box, from `rng`. */
  readonly restarts: number;
  readonly rng?: Rng;
  readonly signal?: AbortSignal;
  /** After each candidate evaluation. */
  readonly onStep?: () => void;
}

export interface AscentResult {
  /** L(theta). */
  readonly loss0: number;
  /** The highest loss found in the box (>= loss0). */
  readonly maxLoss: number;
  /** The point where it was found. */
  readonly delta: Float64Array;
  /** Which start found it: 0 the centre, 1.. the restarts. */
  readonly start: number;
  /** Of that start: candidate evaluations, accepted steps, gradients computed, why it stopped. */
  readonly steps: number;
  readonly accepted: number;
  readonly gradients: number;
  readonly stop: AscentStop;
  /** Of that start: the best loss after each step (length `steps`). */
  readonly trajectory: readonly number[];
  /** Over all starts. */
  readonly totalSteps: number;
  readonly totalGradients: number;
  /** Fraction of coordinates of `delta` on the box boundary (|delta_i| = w_i). */
  readonly boundaryFraction: number;
}

/** Half-widths of the Keskar box: w_i = eps (|theta_i| + 1). */
export function boxHalfWidths(theta: ArrayLike<number>, eps: number): Float64Array {
  return Float64Array.from({ length: theta.length }, (_, i) => eps * (Math.abs(theta[i] as number) + 1));
}

/** 100 (maxLoss - loss0) / (1 + loss0): Keskar's definition. */
export function keskarSharpness(loss0: number, maxLoss: number): number {
  return (100 * (maxLoss - loss0)) / (1 + loss0);
}

/**
 * Maximises objective.loss over the box |delta_i| <= w_i (see the file comment for the rule).
 * `loss0` and `gradient0` are L and its gradient at delta = 0, shared by every eps of one model.
 */
export async function boxAscent(objective: BoxObjective, w: Float64Array, loss0: number, gradient0: Float64Array, o: AscentOptions): Promise<AscentResult> {
  const d = w.length;
  let best: StartResult | undefined;
  let totalSteps = 0;
  let totalGradients = 0;
  for (let start = 0; start <= o.restarts; start++) {
    let r: StartResult;
    if (start === 0) {
      r = await ascendFrom(objective, w, new Float64Array(d), loss0, gradient0, 0, o);
    } else {
      const rng = o.rng;
      if (!rng) throw new Error('internal error: restarts need an rng');
      const delta = Float64Array.from(w, (wi) => wi * (2 * rng.uniform() - 1));
      r = await ascendFrom(objective, w, delta, await objective.loss(delta), await objective.gradient(delta), 1, o);
    }
    totalSteps += r.steps;
    totalGradients += r.gradients;
    if (!best || r.maxLoss > best.maxLoss) best = { ...r, start };
  }
  const b = best as StartResult;
  let onBoundary = 0;
  for (let i = 0; i < d; i++) if (Math.abs(b.delta[i] as number) >= (w[i] as number)) onBoundary++;
  return { ...b, loss0, totalSteps, totalGradients, boundaryFraction: d === 0 ? 0 : onBoundary / d };
}

type StartResult = Omit<AscentResult, 'loss0' | 'totalSteps' | 'totalGradients' | 'boundaryFraction'>;

/** One ascent from `delta` (loss `value`, gradient `g`, `gradients` already spent on it). */
async function ascendFrom(objective: BoxObjective, w: Float64Array, delta: Float64Array, value: number, g: Float64Array, gradients: number, o: AscentOptions): Promise<StartResult> {
  const d = w.length;
  let f = o.stepFraction;
  let rejections = 0;
  let steps = 0;
  let accepted = 0;
  let stop: AscentStop = 'steps';
  const trajectory: number[] = [];
  while (steps < o.steps) {
    o.signal?.throwIfAborted();
    const cand = new Float64Array(d);
    let moved = false;
    for (let i = 0; i < d; i++) {
      const wi = w[i] as number;
      const c = Math.min(wi, Math.max(-wi, (delta[i] as number) + f * wi * Math.sign(g[i] as number)));
      cand[i] = c;
      if (c !== delta[i]) moved = true;
    }
    if (!moved) {
      stop = 'stationary';
      break;
    }
    steps++;
    const candValue = await objective.loss(cand);
    o.onStep?.();
    if (candValue > value) {
      delta = cand;
      value = candValue;
      accepted++;
      // No gradient after the last step: nothing would use it.
      if (steps < o.steps) {
        g = await objective.gradient(delta);
        gradients++;
      }
    } else {
      rejections++;
      f /= 2;
    }
    trajectory.push(value);
    if (rejections >= o.halvings) {
      stop = 'no-improvement';
      break;
    }
  }
  return { maxLoss: value, delta, start: 0, steps, accepted, gradients, stop, trajectory };
}

export interface FlatnessResult {
  readonly sigma: number;
  readonly draws: number;
  readonly antithetic: boolean;
  /** mean_k [L(theta + sigma xi_k) - L(theta)] / sigma^2. */
  readonly value: number;
  /** Its standard error: sd_k / sqrt(draws) / sigma^2 (sample sd, n - 1). */
  readonly stdErr: number;
  /** mean_k L(theta + sigma xi_k) - L(theta), not divided by sigma^2. */
  readonly meanIncrease: number;
  /** Each draw's increase L(theta + sigma xi_k) - L(theta) (antithetic: the pair's mean). */
  readonly increases: Float64Array;
}

/**
 * Random-perturbation flatness from `lossAt(xi, s)` = L(theta + s xi); xi ~ N(0, I_d) drawn from
 * `rng`, d normals per draw in storage order. Antithetic: each draw's increase is
 * (L(theta + sigma xi) + L(theta - sigma xi)) / 2 - L(theta).
 */
export async function perturbationFlatness(
  lossAt: (xi: Float64Array, s: number) => number | Promise<number>,
  d: number,
  loss0: number,
  sigma: number,
  draws: number,
  antithetic: boolean,
  rng: Rng,
  o: { readonly signal?: AbortSignal; readonly onDraw?: () => void } = {},
): Promise<FlatnessResult> {
  if (draws < 2) throw new RangeError(`flatness needs at least 2 draws for a standard error, got ${draws}`);
  const increases = new Float64Array(draws);
  for (let k = 0; k < draws; k++) {
    o.signal?.throwIfAborted();
    const xi = new Float64Array(d);
    for (let i = 0; i < d; i++) xi[i] = rng.normal();
    const plus = await lossAt(xi, sigma);
    increases[k] = (antithetic ? (plus + (await lossAt(xi, -sigma))) / 2 : plus) - loss0;
    o.onDraw?.();
  }
  const mean = increases.reduce((a, b) => a + b, 0) / draws;
  const variance = increases.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1);
  const s2 = sigma * sigma;
  return { sigma, draws, antithetic, value: mean / s2, stdErr: Math.sqrt(variance / draws) / s2, meanIncrease: mean, increases };
}

export interface SharpnessOptions {
  readonly eps: readonly number[];
  readonly steps: number;
  readonly stepFraction: number;
  readonly halvings: number;
  readonly restarts: number;
  readonly sigma: number;
  /** Flatness draws; 0 skips flatness. */
  readonly draws: number;
  readonly antithetic: boolean;
  readonly seed: number | string;
  readonly signal?: AbortSignal;
  /** Work done so far (candidate evaluations and draws), the planned total (an upper bound) and the phase. */
  readonly onProgress?: (done: number, planned: number, phase: string) => void;
}

export interface EpsSharpness extends AscentResult {
  readonly eps: number;
  /** 100 (maxLoss - loss0) / (1 + loss0). */
  readonly sharpness: number;
}

export interface SharpnessReport {
  /** L(theta) and the accuracy there (null without labels). */
  readonly loss: number;
  readonly acc: number | null;
  readonly eps: readonly EpsSharpness[];
  readonly flatness: FlatnessResult | null;
  /** Gradients over the set and loss evaluations, in all. */
  readonly gradients: number;
  readonly evaluations: number;
}

/** Every eps-sharpness and the flatness of one model on one example set. */
export async function measureSharpness(tf: TF, layout: MlpLayout, loss: LossName, theta: Float32Array, data: ExampleArrays, o: SharpnessOptions): Promise<SharpnessReport> {
  const set = uploadEvalSet(tf, data.x, data.targets, data.labels, data.features, data.k);
  const ev = new SurfaceEvaluator(tf, layout, loss, theta, set);
  try {
    const planned = o.eps.length * (o.restarts + 1) * o.steps + o.draws;
    let done = 0;
    let phase = '';
    const tick = () => o.onProgress?.(++done, planned, phase);
    let gradients = 0;
    const pointLoss = async (dir: Float64Array, scale: number): Promise<number> => {
      const [p] = ev.evaluate([dir], [[scale]]);
      // One turn of the event loop per evaluation: lets an abort message reach a worker thread.
      await new Promise((resolve) => setImmediate(resolve));
      return (p as { loss: number }).loss;
    };
    const objective: BoxObjective = {
      loss: (delta) => pointLoss(delta, 1),
      gradient: (delta) => {
        gradients++;
        return setGradient(tf, layout, loss, Float32Array.from(theta, (t, i) => t + (delta[i] as number)), set);
      },
    };
    const [centre] = ev.evaluate([], [[]]);
    const { loss: loss0, acc } = centre as { loss: number; acc: number | null };
    const gradient0 = await objective.gradient(new Float64Array(layout.size));
    const eps: EpsSharpness[] = [];
    for (const e of o.eps) {
      phase = `ascent eps ${e}`;
      const r = await boxAscent(objective, boxHalfWidths(theta, e), loss0, gradient0, {
        steps: o.steps,
        stepFraction: o.stepFraction,
        halvings: o.halvings,
        restarts: o.restarts,
        rng: new Rng(o.seed).derive(`sharpness-starts/${e}`),
        ...(o.signal ? { signal: o.signal } : {}),
        onStep: tick,
      });
      eps.push({ eps: e, sharpness: keskarSharpness(r.loss0, r.maxLoss), ...r });
    }
    phase = 'flatness';
    const flatness =
      o.draws > 0
        ? await perturbationFlatness(pointLoss, layout.size, loss0, o.sigma, o.draws, o.antithetic, new Rng(o.seed).derive('flatness'), {
            ...(o.signal ? { signal: o.signal } : {}),
            onDraw: tick,
          })
        : null;
    return { loss: loss0, acc, eps, flatness, gradients, evaluations: ev.evaluations };
  } finally {
    ev.dispose();
    disposeEvalSet(set);
  }
}
