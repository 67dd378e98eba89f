import type { BackendName } from '../ml/backend.js';
import { numericFacts } from '../ml/backend.js';
import type { Artifact, Outputs } from './artifact.js';
import { StageAborted, StageFailure, throwIfAborted } from './failure.js';
import { readModel, readSets, type SetName } from './model-input.js';
import { fmt, json, norm } from './slice.js';
import type { StageDefinition } from './types.js';

/**
 * The `sharpness` stage (docs/science.md "Sharpness"): Keskar et al.'s epsilon-sharpness for each
 * eps, found by projected sign-gradient ascent in the box |delta_i| <= eps (|theta_i| + 1), and
 * Wu-Ma-E's random-perturbation flatness. The algorithms, their step and stopping rules and what
 * each number means are src/ml/basin/sharpness.ts; this file wires params, inputs, progress and
 * outputs: `sharpness` (JSON headline), `trajectories` (float64 [eps, steps]: per eps the best loss
 * after each ascent step of the start that found the maximum, NaN after it stopped; absent when eps
 * is empty) and `increases` (float64 [draws]: each flatness draw's loss increase, so the estimate
 * can be re-analysed; absent when draws is 0).
 *
 * Scale caveat (Dinh et al. 2017): both measures change when a ReLU net is rescaled layer by layer
 * without changing its function; the output reports ||theta|| so values are compared within one
 * architecture only.
 */
export interface SharpnessParams {
  readonly set: SetName;
  readonly eps: readonly number[];
  readonly steps: number;
  readonly stepFraction: number;
  readonly halvings: number;
  readonly restarts: number;
  readonly sigma: number;
  readonly draws: number;
  readonly antithetic: boolean;
  readonly seed: number | string;
}

export const sharpness: StageDefinition<SharpnessParams> = {
  kind: 'sharpness',
  version: 1,
  schema: 'sharpness.schema.json',
  placement: 'pool',
  loadsInputs: true,
  numeric: true,
  headline: 'sharpness',
  facts(_params, env) {
    return { runtime: numericFacts(env.backend) };
  },
  async run(ctx) {
    const p = ctx.params;
    const started = performance.now();
    if (p.eps.length === 0 && p.draws === 0) {
      throw new StageFailure('nothing to measure: eps is empty and draws is 0; list at least one eps (e.g. `eps: [1e-3, 5e-4]`) or set draws (e.g. 100)');
    }
    const model = readModel(ctx, 'sharpness', 'model');
    const [set] = readSets(ctx, 'sharpness', model, [p.set]);
    const examples = set as NonNullable<typeof set>;
    const backend = ctx.runtime['backend'] as BackendName;
    const [{ loadTf }, { measureSharpness }] = await Promise.all([import('../ml/runtime.js'), import('../ml/basin/sharpness.js')]);
    const tf = await loadTf(backend);
    throwIfAborted(ctx.signal);
    const r = await measureSharpness(tf, model.layout, model.loss, model.params, examples, {
      eps: p.eps,
      steps: p.steps,
      stepFraction: p.stepFraction,
      halvings: p.halvings,
      restarts: p.restarts,
      sigma: p.sigma,
      draws: p.draws,
      antithetic: p.antithetic,
      seed: p.seed,
      signal: ctx.signal,
      onProgress: (done, planned, phase) => ctx.progress({ fraction: Math.min(1, done / planned), message: `${phase}: ${done}/${planned}` }),
    }).catch((e: unknown) => {
      if (ctx.signal.aborted) throw new StageAborted();
      throw e;
    });
    const wallMs = performance.now() - started;
    const record = {
      set: { name: p.set, n: examples.n },
      model: { parameters: model.layout.size, norm: norm(model.params), stop: model.stop ?? null, node: model.nodeId },
      loss: r.loss,
      acc: r.acc,
      ascent: { rule: 'projected sign-gradient', steps: p.steps, stepFraction: p.stepFraction, halvings: p.halvings, restarts: p.restarts },
      eps: r.eps.map((e) => ({
        eps: e.eps,
        sharpness: e.sharpness,
        maxLoss: e.maxLoss,
        increase: e.maxLoss - e.loss0,
        steps: e.steps,
        accepted: e.accepted,
        gradients: e.gradients,
        stop: e.stop,
        converged: e.stop !== 'steps',
        reachedBoundary: e.boundaryFraction > 0,
        boundaryFraction: e.boundaryFraction,
        start: e.start,
        totalSteps: e.totalSteps,
        trajectory: e.trajectory,
      })),
      flatness: r.flatness && {
        sigma: r.flatness.sigma,
        draws: r.flatness.draws,
        antithetic: r.flatness.antithetic,
        value: r.flatness.value,
        stdErr: r.flatness.stdErr,
        meanIncrease: r.flatness.meanIncrease,
      },
      gradients: r.gradients,
      evaluations: r.evaluations,
    };
    const parts = r.eps.map((e) => `${fmt(e.sharpness)} (eps ${e.eps}, ${e.steps} steps, ${e.stop})`);
    const flat = r.flatness ? `flatness ${fmt(r.flatness.value)} +- ${fmt(r.flatness.stdErr)} (sigma ${r.flatness.sigma}, ${r.flatness.draws}${r.flatness.antithetic ? ' antithetic' : ''} draws)` : '';
    const summary = [parts.length ? `eps-sharpness ${parts.join(', ')}` : '', flat].filter((s) => s).join('; ') + `; loss ${fmt(r.loss)} on ${p.set}`;
    ctx.log(`${r.gradients} gradients and ${r.evaluations} loss evaluations over ${examples.n} examples in ${(wallMs / 1000).toFixed(1)} s on ${backend}`);
    const outputs: Record<string, Artifact> = {
      sharpness: { type: 'json', value: json(record) },
      // The flat per-model scalars `correlate` gathers: sharpness per eps, flatness.
      metrics: {
        type: 'json',
        value: json({ ...Object.fromEntries(r.eps.map((e) => [`sharpness_${e.eps}`, e.sharpness])), ...(r.flatness ? { flatness: r.flatness.value } : {}) }),
      },
    };
    if (r.eps.length) {
      // [eps, steps]: the best loss after each step of the start that found the maximum, NaN after it stopped.
      const trajectories = new Float64Array(r.eps.length * p.steps).fill(Number.NaN);
      r.eps.forEach((e, k) => trajectories.set(e.trajectory, k * p.steps));
      outputs['trajectories'] = { type: 'array', dtype: 'float64', shape: [r.eps.length, p.steps], data: trajectories };
    }
    if (r.flatness) outputs['increases'] = { type: 'array', dtype: 'float64', shape: [r.flatness.draws], data: r.flatness.increases };
    return {
      outputs: outputs as Outputs,
      info: { wallMs: Math.round(wallMs), gradients: r.gradients, evaluations: r.evaluations, backend },
      summary,
    };
  },
};
