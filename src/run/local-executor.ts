import { decodeArtifact } from '../fingerprint/artifact-codec.js';
import { stageOf } from '../stages/registry.js';
import type { Outputs } from '../stages/artifact.js';
import type { InputNode, StageResult } from '../stages/types.js';
import type { Store } from '../store/types.js';
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
 * Runs tasks on this machine: `inline` stages on the main thread (they wait on processes or I/O),
 * `pool` stages on worker threads so the main thread stays free for scheduling and reporting.
 */
export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly #pool: WorkerPool;

  constructor(private readonly store: Store, poolSize: number) {
    this.#pool = new WorkerPool(poolSize);
  }

  async execute(task: Task, hooks: TaskHooks): Promise<StageResult> {
    const stage = stageOf(task.kind);
    if (stage.version !== task.kindVersion) {
      throw new Error(`internal error: task wants ${task.kind} v${task.kindVersion}, this build has v${stage.version}`);
    }
    const inputs = stage.loadsInputs ? this.#load(task) : {};
    if (stage.placement === 'pool') {
      return this.#pool.run({ kind: task.kind, nodeId: task.nodeId, params: task.params, inputs, workdir: task.workdir, runtime: task.runtime }, hooks);
    }
    return stage.run({ nodeId: task.nodeId, params: task.params, inputs, workdir: task.workdir, runtime: task.runtime, ...hooks, signal: hooks.signal });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  #load(task: Task): Record<string, InputNode[]> {
    const loaded: Record<string, InputNode[]> = {};
    for (const [name, nodes] of Object.entries(task.inputs)) {
      loaded[name] = nodes.map((n) => {
        const outputs: Record<string, Outputs[string]> = {};
        for (const [out, ref] of Object.entries(n.outputs)) {
          const bytes = this.store.getPayload(ref.digest); // verifies the digest; throws CorruptPayload
          if (!bytes) throw new InputUnavailable(`output "${out}" of ${n.nodeId} (${ref.digest}) is missing from the cache`);
          outputs[out] = decodeArtifact(ref, bytes);
        }
        return { nodeId: n.nodeId, matrix: n.matrix, outputs };
      });
    }
    return loaded;
  }
}
