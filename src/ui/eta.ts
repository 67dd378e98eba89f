import type { StageName } from '../fingerprint/ids.js';
import type { RunningNode, StageRow } from './run-state.js';

export interface Eta {
  readonly ms: number;
  /** Some stage with nodes left has no measurement yet: `ms` covers only the others (a lower bound). */
  readonly partial: boolean;
}

/** A running node's own extrapolation is trusted once it has done this much of its work. */
const MIN_FRACTION = 0.05;

/**
 * How long until the nodes still to run have finished, from durations measured in this run.
 *
 * - Per stage, the expected duration of one node is the mean duration of the stage's nodes that ran
 *   to completion in this run (`ranMs / done`). Before any has finished, the running nodes of the
 *   stage stand in with their own extrapolation, elapsed / fraction (once fraction >= 5%).
 * - A running node needs elapsed * (1 - f) / f more when it reports a fraction f >= 5% (its own
 *   pace, which adapts to this node's size), else the stage's mean minus its elapsed time (at least 0).
 * - A pending node needs its stage's mean. Cached nodes need nothing, failed and skipped ones too.
 * - The work left is the sum of these; `jobs` slots do it in work / jobs, but never in less than
 *   the longest remaining time of a single running node (one node cannot be split across slots).
 *
 * Dependencies between stages are ignored (a stage waiting for another is assumed to overlap it),
 * so a long chain still to run makes the estimate optimistic; nodes that will turn out to be cache
 * hits make it pessimistic. Undefined until something has been measured.
 */
export function estimateRemaining(stages: readonly StageRow[], running: readonly RunningNode[], jobs: number, now: number): Eta | undefined {
  const extrapolated = new Map<StageName, number[]>();
  for (const r of running) {
    if (r.fraction !== undefined && r.fraction >= MIN_FRACTION) {
      const list = extrapolated.get(r.stage) ?? [];
      list.push((now - r.startedAt) / r.fraction);
      extrapolated.set(r.stage, list);
    }
  }
  const mean = new Map<StageName, number>();
  for (const s of stages) {
    if (s.done > 0) mean.set(s.name, s.ranMs / s.done);
    else {
      const guesses = extrapolated.get(s.name);
      if (guesses?.length) mean.set(s.name, guesses.reduce((a, b) => a + b, 0) / guesses.length);
    }
  }

  let work = 0;
  let longest = 0;
  let measured = false;
  let partial = false;
  for (const r of running) {
    const elapsed = Math.max(0, now - r.startedAt);
    const m = mean.get(r.stage);
    let left: number | undefined;
    if (r.fraction !== undefined && r.fraction >= MIN_FRACTION) left = (elapsed * (1 - r.fraction)) / r.fraction;
    else if (m !== undefined) left = Math.max(0, m - elapsed);
    if (left === undefined) {
      partial = true;
      continue;
    }
    measured = true;
    work += left;
    longest = Math.max(longest, left);
  }
  for (const s of stages) {
    const pending = Math.max(0, s.total - s.done - s.cached - s.running - s.failed - s.skipped);
    if (pending === 0) continue;
    const m = mean.get(s.name);
    if (m === undefined) {
      partial = true;
      continue;
    }
    measured = true;
    work += pending * m;
  }
  if (!measured) return undefined;
  return { ms: Math.max(work / Math.max(1, jobs), longest), partial };
}
