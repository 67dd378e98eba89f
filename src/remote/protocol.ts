import type { MatrixValue } from '../config/types.js';
import type { Digest, NodeId, NodeKey, StageName } from '../fingerprint/ids.js';
import type { FingerprintRecord } from '../fingerprint/key.js';
import type { Progress } from '../stages/types.js';
import type { OutputRef } from '../store/types.js';
import type { JsonValue } from '../util/json.js';

/**
 * What a coordinator (`basin run --executor bullmq`) and its workers (`basin worker`) say to each
 * other through Redis. Bump PROTOCOL when any of it changes: a worker refuses jobs of another.
 */
export const PROTOCOL = 1;

/** The one BullMQ queue all runs share; jobs carry their run's id. */
export const QUEUE = 'basin-nodes';

export const runKeys = (runId: string) => ({
  /** Exists while the coordinator lives (it refreshes the expiry); workers abort jobs of runs without it. */
  alive: `basin:run:${runId}:alive`,
  /** Prefix of the input payloads the coordinator sends (shared by digest among the run's jobs). */
  inputs: `basin:run:${runId}:in:`,
  /**
   * Prefix of one job's output payloads. Per job, not per digest: two nodes may produce equal bytes,
   * and the coordinator deletes each job's outputs as soon as it has read them.
   */
  outputs: (jobId: string) => `basin:run:${runId}:out:${jobId}:`,
  /** Pattern of every key of the run, for cleanup. */
  all: `basin:run:${runId}:*`,
});

/** Run ids of coordinators that may have left keys behind; the next coordinator cleans up dead ones. */
export const RUNS_SET = 'basin:runs';

export interface JobInput {
  readonly nodeId: NodeId;
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  readonly outputs: Readonly<Record<string, OutputRef>>;
}

export interface JobData {
  readonly protocol: typeof PROTOCOL;
  readonly runId: string;
  /** Who enqueued it, e.g. `host:pid`, for the worker's log. */
  readonly coordinator: string;
  readonly nodeId: NodeId;
  readonly stage: StageName;
  readonly kind: string;
  readonly kindVersion: number;
  /** The node key; the worker recomputes it from `fingerprint` with its own runtime facts. */
  readonly key: NodeKey;
  readonly fingerprint: FingerprintRecord;
  readonly params: JsonValue;
  readonly inputs: Readonly<Record<string, readonly JobInput[]>>;
  readonly workdir: string;
}

export type JobResult =
  | {
      readonly protocol: typeof PROTOCOL;
      readonly worker: string;
      readonly outputs: Readonly<Record<string, OutputRef>>;
      readonly outputsDigest: Digest;
      readonly info?: JsonValue;
      readonly summary?: string;
      readonly highlights?: readonly string[];
    }
  /** The run was gone (its coordinator died or stopped) when the worker took the job. */
  | { readonly protocol: typeof PROTOCOL; readonly worker: string; readonly orphaned: true };

/** Sent as BullMQ job progress: the coordinator turns these into events of its run. */
export type JobNotice =
  | { readonly t: 'placed'; readonly w: string }
  | { readonly t: 'progress'; readonly w: string; readonly p: Progress }
  | { readonly t: 'log'; readonly w: string; readonly line: string; readonly level?: 'info' | 'warn' };

/**
 * Why a job failed, carried in BullMQ's failedReason as JSON. `stage`: the stage's own expected
 * failure; `aborted`: the run went away; `refused`: the worker cannot honour the job; `internal`:
 * a bug, with the worker's stack.
 */
export interface JobFailure {
  readonly basin: typeof PROTOCOL;
  readonly category: 'stage' | 'aborted' | 'refused' | 'internal';
  readonly worker: string;
  readonly message: string;
  readonly details?: JsonValue;
  readonly stack?: string;
}

export function encodeFailure(f: Omit<JobFailure, 'basin'>): string {
  return JSON.stringify({ basin: PROTOCOL, ...f });
}

/** A failedReason that a basin worker wrote, or undefined (BullMQ's own: "job stalled more than allowable limit"). */
export function decodeFailure(reason: string | undefined): JobFailure | undefined {
  if (!reason?.startsWith('{')) return undefined;
  try {
    const f = JSON.parse(reason) as Partial<JobFailure>;
    return f.basin === PROTOCOL && typeof f.message === 'string' && typeof f.category === 'string' ? (f as JobFailure) : undefined;
  } catch {
    return undefined;
  }
}
