import { asNodeId, asNodeKey, asStageName, type NodeId } from '../../src/fingerprint/ids.js';
import type { RunEvent, RunStartEvent } from '../../src/run/events.js';
import { initialRunState, reduceRun, type RunState } from '../../src/ui/run-state.js';

/** Builders for engine events, so tests read like a run. */
export const KEY = asNodeKey('a'.repeat(64));
export const id = (s: string): NodeId => asNodeId(s);

export function runStart(stages: Record<string, number>, o: Partial<RunStartEvent> = {}): RunStartEvent {
  const list = Object.entries(stages).map(([name, nodes]) => ({ name: asStageName(name), nodes }));
  return {
    type: 'run-start',
    pipeline: 'sweep',
    file: 'basin.yaml',
    cache: 'cache',
    jobs: 2,
    total: list.reduce((n, s) => n + s.nodes, 0),
    stages: list,
    ...o,
  };
}

const stageOf = (node: string) => asStageName(node.replace(/\[.*$/, ''));

export const ev = {
  cached: (node: string, savedMs = 1000): RunEvent => ({ type: 'node-cached', node: id(node), stage: stageOf(node), key: KEY, savedMs }),
  start: (node: string): RunEvent => ({ type: 'node-start', node: id(node), stage: stageOf(node), key: KEY, reasons: [{ code: 'new' }], executor: 'local' }),
  progress: (node: string, fraction?: number, message?: string, metrics?: Record<string, number>): RunEvent => ({
    type: 'node-progress',
    node: id(node),
    stage: stageOf(node),
    ...(fraction === undefined ? {} : { fraction }),
    ...(message === undefined ? {} : { message }),
    ...(metrics === undefined ? {} : { metrics }),
  }),
  done: (node: string, durationMs: number, summary?: string): RunEvent => ({
    type: 'node-done',
    node: id(node),
    stage: stageOf(node),
    key: KEY,
    durationMs,
    unchanged: false,
    ...(summary ? { summary } : {}),
  }),
  failed: (node: string, message: string): RunEvent => ({ type: 'node-failed', node: id(node), stage: stageOf(node), failure: { reason: 'stage', message } }),
  skipped: (node: string, upstream?: string): RunEvent => ({
    type: 'node-skipped',
    node: id(node),
    stage: stageOf(node),
    cause: upstream ? { reason: 'upstream-failed', upstream: id(upstream) } : { reason: 'aborted' },
  }),
  warn: (node: string, line: string): RunEvent => ({ type: 'node-log', node: id(node), stage: stageOf(node), line, level: 'warn' }),
  info: (node: string, line: string): RunEvent => ({ type: 'node-log', node: id(node), stage: stageOf(node), line }),
  end: (o: Partial<Extract<RunEvent, { type: 'run-end' }>> = {}): RunEvent => ({
    type: 'run-end',
    status: 'ok',
    ran: 0,
    cached: 0,
    failed: 0,
    skipped: 0,
    wallMs: 1000,
    savedMs: 0,
    ...o,
  }),
};

/** Reduces timed events: each `[atMs, event]`. */
export function replay(events: readonly (readonly [number, RunEvent])[], verbose = false, from: RunState = initialRunState({ verbose })): RunState {
  return events.reduce((s, [at, e]) => reduceRun(s, e, at), from);
}
