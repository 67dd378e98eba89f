import { Worker } from 'node:worker_threads';
import { StageAborted, StageFailure } from '../stages/failure.js';
import type { StageResult } from '../stages/types.js';
import type { TaskHooks } from './executor.js';
import { inputTransferables, type FromWorker, type ToWorker } from './worker-protocol.js';

/** A failure inside stage code that was not a StageFailure: a bug, with the worker's stack. */
export class InternalStageError extends Error {
  constructor(message: string, readonly workerStack?: string) {
    super(message);
    this.name = 'InternalStageError';
  }
}

/** A task as the pool runs it: the worker's `run` message without its envelope. */
type PoolJob = Omit<Extract<ToWorker, { type: 'run' }>, 'type' | 'id'>;

interface Slot {
  readonly worker: Worker;
  busy: boolean;
}

/**
 * Worker threads started on first use (a fully cached run starts none), at most `size` of them.
 * Each runs one task at a time; a worker that dies fails its task and is replaced on demand.
 */
export class WorkerPool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: ((slot: Slot) => void)[] = [];
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  async run(job: PoolJob, hooks: TaskHooks): Promise<StageResult> {
    if (hooks.signal.aborted) throw new StageAborted();
    const slot = await this.#acquire();
    try {
      return await this.#runOn(slot, job, hooks);
    } finally {
      this.#release(slot);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.splice(0).map((s) => s.worker.terminate()));
  }

  #acquire(): Promise<Slot> {
    const idle = this.#slots.find((s) => !s.busy);
    if (idle) {
      idle.busy = true;
      idle.worker.ref();
      return Promise.resolve(idle);
    }
    if (this.#slots.length < this.#size) {
      const slot: Slot = { worker: new Worker(new URL('./worker-entry.js', import.meta.url)), busy: true };
      this.#slots.push(slot);
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    if (!this.#slots.includes(slot)) {
      // The worker died; a waiter gets a fresh one.
      const next = this.#waiting.shift();
      if (next && !this.#closed) void this.#acquire().then(next);
      return;
    }
    const next = this.#waiting.shift();
    if (next) return next(slot);
    slot.busy = false;
    // An idle worker must not keep the process alive.
    slot.worker.unref();
  }

  #runOn(slot: Slot, job: PoolJob, hooks: TaskHooks): Promise<StageResult> {
    const id = this.#nextId++;
    const { worker } = slot;
    return new Promise<StageResult>((resolve, reject) => {
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        hooks.signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: FromWorker) => {
        if (m.id !== id) return;
        switch (m.type) {
          case 'progress':
            hooks.progress(m.progress);
            return;
          case 'log':
            hooks.log(m.line);
            return;
          case 'result':
            cleanup();
            resolve(m.result);
            return;
          case 'error':
            cleanup();
            if (m.category === 'stage') reject(new StageFailure(m.message, m.details));
            else if (m.category === 'aborted') reject(new StageAborted());
            else reject(new InternalStageError(m.message, m.stack));
            return;
        }
      };
      const dead = (why: string) => {
        cleanup();
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
        reject(hooks.signal.aborted ? new StageAborted() : new InternalStageError(`worker thread ${why}`));
      };
      const onError = (e: Error) => dead(`crashed: ${e.message}`);
      const onExit = (code: number) => dead(`exited with code ${code}`);
      const onAbort = () => worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      const msg: ToWorker = { type: 'run', id, ...job };
      worker.postMessage(msg, inputTransferables(job.inputs));
    });
  }
}
