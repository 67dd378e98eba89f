import type { SourceRange } from '../diagnostics/diagnostic.js';
import type { NodeId, StageName } from '../fingerprint/ids.js';
import type { JsonObject, JsonPrimitive, JsonValue } from '../util/json.js';

/**
 * The validated, expanded pipeline: what the config layer hands to the graph and the scheduler.
 * Nothing here refers back to YAML except source ranges kept for later diagnostics.
 */
export interface Pipeline {
  /** The `name:` of the pipeline; node states (for "why did this rerun") are kept per name. */
  readonly name: string;
  /** Path of the YAML file as the user gave it (for messages) and absolute (for resolving files). */
  readonly file: string;
  readonly absFile: string;
  /** Directory against which `command` stages run and relative paths resolve. */
  readonly workdir: string;
  readonly params: JsonObject;
  readonly settings: PipelineSettings;
  /** Stages in file order. */
  readonly stages: readonly StageSpec[];
  /** All nodes in a topological order (stable: file order of stages, matrix order within a stage). */
  readonly nodes: readonly PlannedNode[];
}

export interface PipelineSettings {
  /** Default for --jobs when the CLI does not give one. */
  readonly jobs?: number;
  /** Default for --keep-going. */
  readonly keepGoing?: boolean;
  /** Default for --backend: the TF.js backend numeric stages are keyed and run with. */
  readonly backend?: 'auto' | 'node' | 'wasm' | 'cpu';
  /** Default for --executor: `local` (this machine) or `bullmq` (workers on Redis). */
  readonly executor?: 'local' | 'bullmq';
  /** Default for --redis (after $BASIN_REDIS_URL). Credentials belong in the environment. */
  readonly redis?: string;
}

export interface StageSpec {
  readonly name: StageName;
  readonly kind: string;
  /** Matrix axes in the order written (empty for a single node). */
  readonly axes: readonly string[];
  /** The stage this one iterates over with `foreach`, if any. */
  readonly foreach?: StageName;
  readonly nodes: readonly NodeId[];
  readonly location: SourceRange;
  /** Upstream stages by input name, as written (the loader always sets it). */
  readonly inputs?: Readonly<Record<string, StageName>>;
  readonly description?: string;
}

export type MatrixValue = JsonPrimitive;

export interface NodeInput {
  /** The upstream stage. */
  readonly stage: StageName;
  /** The upstream nodes, in their stage's node order. */
  readonly nodes: readonly NodeId[];
  /** true when the input gathers all nodes of a fanned-out stage (a list), false for one node. */
  readonly gather: boolean;
}

export interface PlannedNode {
  readonly id: NodeId;
  readonly stage: StageName;
  readonly kind: string;
  /** This node's matrix coordinates (own matrix, or inherited through foreach), in axis order. */
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  /** The resolved `with`: interpolated, validated against the kind's schema, defaults applied. */
  readonly params: JsonValue;
  readonly inputs: Readonly<Record<string, NodeInput>>;
  readonly location: SourceRange;
}
