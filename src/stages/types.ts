import type { NodeId } from '../fingerprint/ids.js';
import type { MatrixValue } from '../config/types.js';
import type { JsonValue } from '../util/json.js';
import type { Artifact, Outputs } from './artifact.js';
import type { BackendChoice } from '../ml/backend.js';

/** Progress a stage reports; the engine turns it into `node-progress` events. */
export interface Progress {
  /** 0..1 when known. */
  readonly fraction?: number;
  /** Short human text, e.g. `epoch 140/400`. */
  readonly message?: string;
  /** Current scalar metrics, e.g. `{ loss: 0.013 }`. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** One upstream node's outputs as a stage sees them. */
export interface InputNode {
  readonly nodeId: NodeId;
  /** Its matrix coordinates, e.g. `{ seed: 1, attack: 2000 }` (`{}` without fan-out; may be absent in hand-made contexts). */
  readonly matrix?: Readonly<Record<string, MatrixValue>>;
  readonly outputs: Outputs;
}

export interface StageContext<P = JsonValue> {
  readonly nodeId: NodeId;
  readonly params: P;
  /** Per input name, the upstream nodes (one element unless the input gathers). Empty when the stage does not load inputs. */
  readonly inputs: Readonly<Record<string, readonly InputNode[]>>;
  /** The pipeline's directory: where `command` stages run and relative paths resolve. */
  readonly workdir: string;
  /** The runtime facts in this node's key (e.g. `backend`): a numeric stage loads TF.js for them. */
  readonly runtime: Readonly<Record<string, JsonValue>>;
  readonly signal: AbortSignal;
  progress(p: Progress): void;
  /** A line of log text (shown by reporters, tail kept in the record). */
  log(line: string): void;
}

export interface StageResult {
  readonly outputs: Outputs;
  /** Small facts to keep in the record (stop reason, stderr tail). */
  readonly info?: JsonValue;
  /** One short line for people, shown when the node finishes (e.g. `converged in 162 epochs: test 83.1%`). */
  readonly summary?: string;
  /**
   * A few lines (e.g. a small table of key results) the reporters print at the end of every run that
   * ran or reused this node, after the run's own summary; kept in the record.
   */
  readonly highlights?: readonly string[];
}

/** What a stage may consult to state its facts: settings of the run, never the stage's data. */
export interface StageEnv {
  readonly workdir: string;
  /** `settings.backend` of the pipeline or `--backend` (numeric stages resolve it). */
  readonly backend: BackendChoice;
}

/** Facts that go into the key besides params and inputs; must be cheap (no heavy imports). */
export interface StageFacts {
  readonly runtime?: Readonly<Record<string, JsonValue>>;
  /** Workspace files (relative to workdir) whose content is part of the key. */
  readonly files?: readonly string[];
}

/**
 * A stage kind: one file under src/stages/ exporting one of these. The engine knows nothing else
 * about it. `version` is the implementation version: bump it when outputs for the same inputs change.
 */
export interface StageDefinition<P = JsonValue> {
  readonly kind: string;
  readonly version: number;
  /** JSON Schema file (under schemas/stages/) for the `with` block. */
  readonly schema: string;
  /** `inline`: runs on the main thread (cheap or I/O-bound, e.g. spawns a process); `pool`: a worker thread. */
  readonly placement: 'inline' | 'pool';
  /** Whether run() needs upstream artifacts loaded (a `command` stage does not: it reads files). */
  readonly loadsInputs: boolean;
  /** Whether the stage executes arbitrary shell commands (remote workers refuse unless allowed). */
  readonly runsShell?: boolean;
  /** Numeric stages compute with TF.js: the run header names the backend when one is present. */
  readonly numeric?: boolean;
  /** The JSON output `basin show` prints as the node's results (e.g. `metrics`). */
  readonly headline?: string;
  facts?(params: P, env: StageEnv): StageFacts;
  run(ctx: StageContext<P>): Promise<StageResult>;
  /** Files to write back into the workspace on a cache hit (a `command` stage's outs). */
  restore?(params: P): readonly { readonly output: string; readonly path: string }[];
}

export type AnyStage = StageDefinition<any>;
export type { Artifact, Outputs };
