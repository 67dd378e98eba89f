import type { NodeId, StageName } from '../fingerprint/ids.js';
import type { Failure, RunEvent, RunStartEvent, SkipCause } from '../run/events.js';
import { unreachable } from '../util/unreachable.js';
import { pushSample, type Trail } from './trail.js';

/**
 * The live UI's view model and the pure reducer that builds it from the engine's events. No React
 * here: the Ink components only render a RunState, and `basin status --watch` builds the same
 * state from what another process records in the store.
 */

/** One stage's nodes by what happened to them in this run. */
export interface StageRow {
  readonly name: StageName;
  readonly total: number;
  readonly done: number;
  readonly cached: number;
  readonly running: number;
  readonly failed: number;
  readonly skipped: number;
  /** Sum of the durations of this stage's nodes that ran to completion (`done`): for the ETA. */
  readonly ranMs: number;
}

export interface Metric {
  readonly name: string;
  readonly value: number;
  /** The metric's curve so far, downsampled to a bounded length (see trail.ts). */
  readonly trail?: Trail;
}

export interface RunningNode {
  readonly node: NodeId;
  readonly stage: StageName;
  /** Epoch ms when it started (or, for a watched run, when the other process started it). */
  readonly startedAt: number;
  readonly fraction?: number;
  readonly message?: string;
  readonly metric?: Metric;
  /** The remote worker running it (`basin run --executor bullmq`). */
  readonly worker?: string;
}

/** What moves into the scrollback (Ink's <Static>): finished nodes and things worth keeping. */
export type LogEntry = { readonly id: number; readonly node: NodeId } & (
  | { readonly kind: 'done'; readonly durationMs: number; readonly summary?: string; readonly unchanged: boolean }
  | { readonly kind: 'cached'; readonly summary?: string }
  | { readonly kind: 'failed'; readonly failure: Failure }
  | { readonly kind: 'skipped'; readonly cause: SkipCause }
  | { readonly kind: 'waiting'; readonly owner: string }
  | { readonly kind: 'log'; readonly line: string; readonly level: 'info' | 'warn' }
  | { readonly kind: 'highlights'; readonly lines: readonly string[] }
);

export type RunEnd = Extract<RunEvent, { type: 'run-end' }>;

/** Another process's run that `basin status --watch` follows. */
export interface Following {
  readonly owner: string;
  readonly jobs: number;
  readonly startedAt: number;
}

export interface RunState {
  readonly verbose: boolean;
  readonly start?: RunStartEvent;
  /** Epoch ms of run-start. */
  readonly startedAt?: number;
  readonly stages: readonly StageRow[];
  /** Running nodes in the order they started. */
  readonly running: readonly RunningNode[];
  readonly log: readonly LogEntry[];
  readonly failures: readonly { readonly node: NodeId; readonly message: string }[];
  /** The user asked to stop (q or Ctrl-C); running stages have the abort signal. */
  readonly interrupted: boolean;
  readonly end?: RunEnd;
  /** Highlights of nodes that ran or were reused (StageResult.highlights), logged when the run ends. */
  readonly highlights: readonly { readonly node: NodeId; readonly lines: readonly string[] }[];
  /** Set by `status --watch`: whose run this is; undefined while no run is computing. */
  readonly watch?: { readonly following?: Following };
}

/** Events from the engine, plus what the UI itself knows (a key press). */
export type RunAction = RunEvent | { readonly type: 'interrupt' };

export function initialRunState(options: { readonly verbose?: boolean } = {}): RunState {
  return { verbose: options.verbose ?? false, stages: [], running: [], log: [], failures: [], interrupted: false, highlights: [] };
}

/**
 * The next state after `action`, which happened at `now` (epoch ms). Pure: same inputs, same
 * output; the previous state is never mutated (arrays are copied where they change).
 * What reaches the log mirrors the plain reporter: cache hits and info log lines only when verbose,
 * skips only when caused by a failed upstream (or verbose).
 */
export function reduceRun(state: RunState, action: RunAction, now: number): RunState {
  switch (action.type) {
    case 'run-start':
      return {
        ...state,
        start: action,
        startedAt: now,
        stages: action.stages.map((s) => ({ name: s.name, total: s.nodes, done: 0, cached: 0, running: 0, failed: 0, skipped: 0, ranMs: 0 })),
      };
    case 'node-cached': {
      const next = { ...withHighlights(state, action), stages: bump(state.stages, action.stage, { cached: 1 }) };
      return state.verbose ? appendLog(next, { kind: 'cached', node: action.node, ...(action.summary ? { summary: action.summary } : {}) }) : next;
    }
    case 'node-start': {
      const running = state.running.filter((r) => r.node !== action.node);
      const wasRunning = running.length !== state.running.length;
      return {
        ...state,
        running: [...running, { node: action.node, stage: action.stage, startedAt: now }],
        stages: wasRunning ? state.stages : bump(state.stages, action.stage, { running: 1 }),
      };
    }
    case 'node-placed': {
      const i = state.running.findIndex((r) => r.node === action.node);
      if (i < 0) return state;
      const running = state.running.slice();
      running[i] = { ...(state.running[i] as RunningNode), worker: action.worker };
      return { ...state, running };
    }
    case 'node-waiting':
      return appendLog(state, { kind: 'waiting', node: action.node, owner: action.owner });
    case 'node-progress': {
      const i = state.running.findIndex((r) => r.node === action.node);
      if (i < 0) return state;
      const r = state.running[i] as RunningNode;
      const updated: RunningNode = {
        ...r,
        ...(action.fraction === undefined ? {} : { fraction: clamp01(action.fraction) }),
        ...(action.message === undefined ? {} : { message: action.message }),
        ...metricOf(r.metric, action.metrics),
      };
      const running = state.running.slice();
      running[i] = updated;
      return { ...state, running };
    }
    case 'node-log':
      if (action.level !== 'warn' && !state.verbose) return state;
      return appendLog(state, { kind: 'log', node: action.node, line: action.line, level: action.level ?? 'info' });
    case 'node-done': {
      const next = settle(withHighlights(state, action), action.node, action.stage, { done: 1, ranMs: action.durationMs });
      return appendLog(next, {
        kind: 'done',
        node: action.node,
        durationMs: action.durationMs,
        unchanged: action.unchanged,
        ...(action.summary ? { summary: action.summary } : {}),
      });
    }
    case 'node-failed': {
      const next = settle(state, action.node, action.stage, { failed: 1 });
      return appendLog({ ...next, failures: [...next.failures, { node: action.node, message: action.failure.message }] }, { kind: 'failed', node: action.node, failure: action.failure });
    }
    case 'node-skipped': {
      const next = settle(state, action.node, action.stage, { skipped: 1 });
      return state.verbose || action.cause.reason === 'upstream-failed' ? appendLog(next, { kind: 'skipped', node: action.node, cause: action.cause }) : next;
    }
    case 'run-end':
      return { ...state.highlights.reduce((s, h) => appendLog(s, { kind: 'highlights', node: h.node, lines: h.lines }), state), end: action, running: [], stages: state.stages.map((s) => (s.running ? { ...s, running: 0 } : s)) };
    case 'interrupt':
      return state.interrupted ? state : { ...state, interrupted: true };
    default:
      return unreachable(action, 'run action');
  }
}

type Counts = Partial<Omit<StageRow, 'name' | 'total'>>;

function bump(stages: readonly StageRow[], name: StageName, by: Counts): readonly StageRow[] {
  const i = stages.findIndex((s) => s.name === name);
  if (i < 0) return stages;
  const s = stages[i] as StageRow;
  const next = stages.slice();
  next[i] = {
    ...s,
    done: s.done + (by.done ?? 0),
    cached: s.cached + (by.cached ?? 0),
    running: s.running + (by.running ?? 0),
    failed: s.failed + (by.failed ?? 0),
    skipped: s.skipped + (by.skipped ?? 0),
    ranMs: s.ranMs + (by.ranMs ?? 0),
  };
  return next;
}

/** A node finished one way or another: it leaves the running list (and its stage's running count). */
function settle(state: RunState, node: NodeId, stage: StageName, by: Counts): RunState {
  const running = state.running.filter((r) => r.node !== node);
  const wasRunning = running.length !== state.running.length;
  return { ...state, running, stages: bump(state.stages, stage, wasRunning ? { ...by, running: -1 } : by) };
}

/** The log only grows, so an entry's index is a stable id (the React key of a <Static> child). */
function withHighlights(state: RunState, e: { readonly node: NodeId; readonly highlights?: readonly string[] }): RunState {
  return e.highlights?.length ? { ...state, highlights: [...state.highlights.filter((h) => h.node !== e.node), { node: e.node, lines: e.highlights }] } : state;
}

function appendLog(state: RunState, entry: DistributiveOmit<LogEntry, 'id'>): RunState {
  return { ...state, log: [...state.log, { ...entry, id: state.log.length } as LogEntry] };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The metric a running row shows: `loss` when the stage reports one, else its first metric. */
function metricOf(previous: Metric | undefined, metrics: Readonly<Record<string, number>> | undefined): { metric?: Metric } {
  if (!metrics) return {};
  const name = previous && previous.name in metrics ? previous.name : 'loss' in metrics ? 'loss' : Object.keys(metrics)[0];
  if (name === undefined) return {};
  const value = metrics[name] as number;
  const trail = previous?.name === name ? previous.trail : undefined;
  return { metric: { name, value, trail: pushSample(trail, value) } };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
