import { decodeArtifact } from '../fingerprint/artifact-codec.js';
import { stageOf } from '../stages/registry.js';
import type { Outputs } from '../stages/artifact.js';
import type { InputNode, StageResult } from '../stages/types.js';
import type { NodeId } from '../fingerprint/ids.js';
import type { OutputRef, Store } from '../store/types.js';
import type { Executor, Task, TaskHooks } from './executor.js';
import { WorkerPool } from './pool.js';

/** Inputs named by a task could not be read back from the store. */
export class InputUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputUnavailable';
  }
}

/**
 * The bytes of one input payload (verified against ref.digest), from wherever this machine gets
 * them: the local store, or Redis for a remote worker. Throws when it cannot.
 */
export type PayloadSource = (ref: OutputRef, output: string, nodeId: NodeId) => Uint8Array | Promise<Uint8Array>;

/** Reads payloads from the store; a missing one is InputUnavailable. */
export function storeSource(store: Store): PayloadSource {
  return (ref, output, nodeId) => {
    const bytes = store.getPayload(ref.digest); // verifies the digest; throws CorruptPayload
    if (!bytes) throw new InputUnavailable(`output "${output}" of ${nodeId} (${ref.digest}) is missing from the cache`);
    return bytes;
  };
}

/**
 * Runs tasks on this machine: `inline` stages on the main thread (they wait on processes or I/O),
 * `pool` stages on worker threads so the main thread stays free for scheduling and reporting.
 * `basin run` reads inputs from its store; `basin worker` uses the same executor with inputs
 * fetched from Redis.
 */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly #pool: WorkerPool;

  constructor(private readonly source: PayloadSource, poolSize: number) {
    this.#pool = new WorkerPool(poolSize);
  }

  /** `source` overrides where this task's inputs come from (a worker: the task's run in Redis). */
  async execute(task: Task, hooks: TaskHooks, source: PayloadSource = this.source): Promise<StageResult> {
    const stage = stageOf(task.kind);
    if (stage.version !== task.kindVersion) {
      throw new Error(`internal error: task wants ${task.kind} v${task.kindVersion}, this build has v${stage.version}`);
    }
    const inputs = stage.loadsInputs ? await load(task, source) : {};
    if (stage.placement === 'pool') {
      return this.#pool.run({ kind: task.kind, nodeId: task.nodeId, params: task.params, inputs, workdir: task.workdir, runtime: task.runtime }, hooks);
    }
    return stage.run({ nodeId: task.nodeId, params: task.params, inputs, workdir: task.workdir, runtime: task.runtime, ...hooks, signal: hooks.signal });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

async function load(task: Task, source: PayloadSource): Promise<Record<string, InputNode[]>> {
  const loaded: Record<string, InputNode[]> = {};
  for (const [name, nodes] of Object.entries(task.inputs)) {
    loaded[name] = [];
    for (const n of nodes) {
      const outputs: Record<string, Outputs[string]> = {};
      for (const [out, ref] of Object.entries(n.outputs)) outputs[out] = decodeArtifact(ref, await source(ref, out, n.nodeId));
      loaded[name].push({ nodeId: n.nodeId, matrix: n.matrix, outputs });
    }
  }
  return loaded;
}
