import type { NodeId, StageName } from '../fingerprint/ids.js';
import type { RunStartEvent } from '../run/events.js';
import type { NodeState, RunProgress } from '../store/types.js';
import type { Following, LogEntry, RunEnd, RunningNode, RunState, StageRow } from './run-state.js';

/**
 * `basin status --watch`: the live view's RunState built from what another process records in the
 * store (node states, records, leases, progress records), polled, instead of from events.
 */

/** What became of a node, as far as the store tells. */
export type NodeStatus =
  | { readonly status: 'pending' }
  | { readonly status: 'cached' }
  | { readonly status: 'done'; readonly durationMs: number; readonly summary?: string }
  | { readonly status: 'failed'; readonly message: string };

/** One poll of the store. */
export interface Observation {
  readonly now: number;
  readonly nodes: ReadonlyMap<NodeId, NodeStatus>;
  /** Live progress records of runs of this pipeline. */
  readonly runs: readonly RunProgress[];
}

export interface WatchedPipeline {
  /** As the run's own header would say it; `jobs` is the followed run's when there is one. */
  readonly start: RunStartEvent;
  readonly nodes: readonly { readonly node: NodeId; readonly stage: StageName }[];
}

/**
 * How a node stands, from its state (the last attempt the pipeline recorded) and, for a success,
 * its record: `since` is when the followed run started (or the watch, when none is known).
 * - a state written since then: `failed`, or `done` when its record was computed since then, else
 *   `cached` (the run found it in the cache, e.g. after early cutoff);
 * - otherwise: `cached` when the plan at the start of the watch found it cached, else `pending`.
 */
export function classifyNode(
  plannedCached: boolean,
  state: NodeState | undefined,
  record: { readonly startedAt: string; readonly durationMs: number; readonly summary?: string } | undefined,
  since: number,
): NodeStatus {
  if (state && Date.parse(state.at) >= since) {
    if (state.status === 'failed') return { status: 'failed', message: state.error ?? 'failed' };
    if (record && Date.parse(record.startedAt) >= since) return { status: 'done', durationMs: record.durationMs, ...(record.summary ? { summary: record.summary } : {}) };
    return { status: 'cached' };
  }
  return plannedCached ? { status: 'cached' } : { status: 'pending' };
}

/**
 * The next view: stage counts from the nodes' statuses and the runs' running nodes; a log entry
 * for each node that settled since the previous observation (all settled ones on the first).
 */
export function watchState(pipeline: WatchedPipeline, prev: { readonly state: RunState; readonly obs?: Observation }, obs: Observation): RunState {
  const running: RunningNode[] = obs.runs.flatMap((r) =>
    r.running.map((n) => ({
      node: n.node,
      stage: n.stage,
      startedAt: n.startedAt,
      ...(n.fraction === undefined ? {} : { fraction: n.fraction }),
      ...(n.message === undefined ? {} : { message: n.message }),
      ...(n.metric ? { metric: { name: n.metric.name, value: n.metric.value, trail: { values: n.metric.trail, stride: 1, pending: 0, last: n.metric.value } } } : {}),
    })),
  );
  const runningIds = new Set(running.map((r) => r.node));
  const rows = new Map<StageName, { -readonly [K in keyof StageRow]: StageRow[K] }>(
    pipeline.start.stages.map((s) => [s.name, { name: s.name, total: s.nodes, done: 0, cached: 0, running: 0, failed: 0, skipped: 0, ranMs: 0 }]),
  );
  const log: LogEntry[] = [...prev.state.log];
  const failures = [...prev.state.failures];
  for (const { node, stage } of pipeline.nodes) {
    const row = rows.get(stage);
    if (!row) continue;
    const s = obs.nodes.get(node) ?? { status: 'pending' };
    // Running wins over `cached`: a forced rerun runs a node whose earlier result is in the cache.
    if (runningIds.has(node) && (s.status === 'pending' || s.status === 'cached')) row.running++;
    else if (s.status === 'done') {
      row.done++;
      row.ranMs += s.durationMs;
    } else if (s.status === 'cached') row.cached++;
    else if (s.status === 'failed') row.failed++;
    const before = prev.obs?.nodes.get(node)?.status;
    if (before === s.status) continue;
    if (s.status === 'done') log.push({ id: log.length, kind: 'done', node, durationMs: s.durationMs, unchanged: false, ...(s.summary ? { summary: s.summary } : {}) });
    else if (s.status === 'failed') {
      log.push({ id: log.length, kind: 'failed', node, failure: { reason: 'stage', message: s.message } });
      failures.push({ node, message: s.message });
    } else if (s.status === 'cached' && prev.state.verbose) log.push({ id: log.length, kind: 'cached', node });
  }
  const lead = obs.runs.reduce<RunProgress | undefined>((a, r) => (a === undefined || r.startedAt < a.startedAt ? r : a), undefined);
  const following: Following | undefined = lead ? { owner: lead.owner, jobs: obs.runs.reduce((n, r) => n + r.jobs, 0), startedAt: lead.startedAt } : prev.state.watch?.following;
  return {
    ...prev.state,
    start: pipeline.start,
    startedAt: prev.state.startedAt ?? obs.now,
    stages: [...rows.values()],
    running: running.filter((r) => ['pending', 'cached'].includes(obs.nodes.get(r.node)?.status ?? 'pending')),
    log,
    failures,
    watch: following ? { following } : {},
  };
}

/** The summary when the watch ends: what the followed run (or runs) did, as far as the store tells. */
export function watchEnd(state: RunState, now: number): RunEnd {
  const sum = (k: 'done' | 'cached' | 'failed') => state.stages.reduce((n, s) => n + s[k], 0);
  const total = state.stages.reduce((n, s) => n + s.total, 0);
  const [ran, cached, failed] = [sum('done'), sum('cached'), sum('failed')];
  const left = total - ran - cached - failed;
  const since = state.watch?.following?.startedAt ?? state.startedAt ?? now;
  return { type: 'run-end', status: failed > 0 ? 'failed' : left > 0 ? 'aborted' : 'ok', ran, cached, failed, skipped: left, wallMs: Math.max(0, now - since), savedMs: 0 };
}

/** All nodes settled (cached, done or failed). */
export function allSettled(obs: Observation): boolean {
  for (const s of obs.nodes.values()) if (s.status === 'pending') return false;
  return true;
}
