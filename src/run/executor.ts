import type { NodeId, NodeKey, StageName } from '../fingerprint/ids.js';
import type { FingerprintRecord } from '../fingerprint/key.js';
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
  /** The node's key and what it was computed from: a remote worker recomputes it before running. */
  readonly key: NodeKey;
  readonly fingerprint: FingerprintRecord;
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
  log(line: string, level?: 'info' | 'warn'): void;
  /** A remote executor tells where the node runs (again, when a retry lands elsewhere). */
  placed?(worker: string): void;
}

/** What an executor returns: the stage's result, and the worker that produced it when remote. */
export type Execution = StageResult & { readonly worker?: string };

/**
 * The executor itself cannot run tasks any more (its queue's server went away). The node fails
 * with this message, without a stack: it is not a bug in the stage or in basin.
 */
export class ExecutorUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutorUnavailable';
  }
}

/**
 * Runs tasks. Rejects with StageFailure (expected), StageAborted, or anything else (a bug). Knows
 * nothing of keys, the cache or the DAG.
 */
export interface Executor {
  /** Label shown in events and kept in records (`local`, a worker's name). */
  readonly name: string;
  execute(task: Task, hooks: TaskHooks): Promise<Execution>;
  close(): Promise<void>;
}
