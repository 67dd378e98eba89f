import type { NodeId, StageName } from '../fingerprint/ids.js';
import type { MatrixValue } from '../config/types.js';
import type { OutputRef } from '../store/types.js';
import type { Progress, StageResult } from '../stages/types.js';
import type { JsonValue } from '../util/json.js';

/**
 * One node's work, described so that it can run anywhere: in this thread, in a worker thread, or
 * (later) on another machine. Inputs travel as references by digest; an executor loads them from
 * wherever it can reach the artifacts and must verify them.
 */
export interface Task {
  readonly nodeId: NodeId;
  readonly stage: StageName;
  readonly kind: string;
  readonly kindVersion: number;
  readonly params: JsonValue;
  readonly inputs: Readonly<Record<string, readonly TaskInput[]>>;
  readonly runtime: Readonly<Record<string, JsonValue>>;
  readonly workdir: string;
}

export interface TaskInput {
  readonly nodeId: NodeId;
  /** The upstream node's matrix coordinates (`{}` without fan-out). */
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  readonly outputs: Readonly<Record<string, OutputRef>>;
}

export interface TaskHooks {
  readonly signal: AbortSignal;
  progress(p: Progress): void;
  log(line: string): void;
}

/**
 * Runs tasks. Rejects with StageFailure (expected), StageAborted, or anything else (a bug). Knows
 * nothing of keys, the cache or the DAG.
 */
export interface Executor {
  /** Label shown in events and kept in records (`local`, a worker's name). */
  readonly name: string;
  execute(task: Task, hooks: TaskHooks): Promise<StageResult>;
  close(): Promise<void>;
}
