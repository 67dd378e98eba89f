import type { NodeId, NodeKey, StageName } from '../fingerprint/ids.js';
import type { Progress } from '../stages/types.js';
import type { Reason } from './explain.js';

/**
 * What the engine tells the world. The engine never writes to the console: the plain reporter,
 * the JSON stream and (later) the Ink UI are interchangeable consumers of these events.
 */
export type Failure =
  /** The stage reported an expected failure (non-zero exit, divergence). */
  | { readonly reason: 'stage'; readonly message: string }
  /** A bug: an unexpected exception inside the stage or the engine. */
  | { readonly reason: 'internal'; readonly message: string; readonly stack?: string }
  /** A file the key depends on does not exist. */
  | { readonly reason: 'missing-file'; readonly message: string }
  /** Stored outputs of an upstream node failed verification and must be recomputed. */
  | { readonly reason: 'corrupt'; readonly message: string }
  /** The executor could not run the node (its Redis went away, a worker refused the job). */
  | { readonly reason: 'executor'; readonly message: string };

export type SkipCause =
  | { readonly reason: 'upstream-failed'; readonly upstream: NodeId }
  | { readonly reason: 'aborted' }
  | { readonly reason: 'fail-fast' };

export interface RunStartEvent {
  readonly type: 'run-start';
  readonly pipeline: string;
  readonly file: string;
  readonly cache: string;
  readonly jobs: number;
  /** Where nodes run, when not on this machine (`bullmq on redis://host:6379`). */
  readonly executor?: string;
  /** TF.js backend and version, when the pipeline has numeric stages. */
  readonly runtime?: { readonly backend: string; readonly tfjs: string };
  readonly total: number;
  readonly stages: readonly { readonly name: StageName; readonly nodes: number }[];
}

export type RunEvent =
  | RunStartEvent
  | { readonly type: 'node-cached'; readonly node: NodeId; readonly stage: StageName; readonly key: NodeKey; readonly savedMs: number; readonly summary?: string; readonly highlights?: readonly string[] }
  | { readonly type: 'node-start'; readonly node: NodeId; readonly stage: StageName; readonly key: NodeKey; readonly reasons: readonly Reason[]; readonly executor: string }
  /** A remote worker took the node (again, when a retry lands on another one). */
  | { readonly type: 'node-placed'; readonly node: NodeId; readonly stage: StageName; readonly worker: string }
  | { readonly type: 'node-waiting'; readonly node: NodeId; readonly stage: StageName; readonly owner: string }
  | ({ readonly type: 'node-progress'; readonly node: NodeId; readonly stage: StageName } & Progress)
  /** `warn`: something the user should see even in quiet output (a corrupt cache entry). */
  | { readonly type: 'node-log'; readonly node: NodeId; readonly stage: StageName; readonly line: string; readonly level?: 'info' | 'warn' }
  | { readonly type: 'node-done'; readonly node: NodeId; readonly stage: StageName; readonly key: NodeKey; readonly durationMs: number; readonly unchanged: boolean; readonly summary?: string; readonly highlights?: readonly string[] }
  | { readonly type: 'node-failed'; readonly node: NodeId; readonly stage: StageName; readonly failure: Failure }
  | { readonly type: 'node-skipped'; readonly node: NodeId; readonly stage: StageName; readonly cause: SkipCause }
  | {
      readonly type: 'run-end';
      readonly status: 'ok' | 'failed' | 'aborted';
      readonly ran: number;
      readonly cached: number;
      readonly failed: number;
      readonly skipped: number;
      readonly wallMs: number;
      /** Sum of the recorded durations of cache hits: the time the cache saved. */
      readonly savedMs: number;
    };

export type EventSink = (event: RunEvent) => void;
