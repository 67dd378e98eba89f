import { parentPort } from 'node:worker_threads';
import { StageAborted, StageFailure } from '../stages/failure.js';
import { stageOf } from '../stages/registry.js';
import { transferables, type FromWorker, type ToWorker } from './worker-protocol.js';

/**
 * A pool worker: loads stage code once per thread (TF.js and friends stay warm between tasks) and
 * runs one task at a time, reporting progress and moving result buffers back by transfer.
 */
const port = parentPort;
if (!port) throw new Error('internal error: worker-entry must run in a worker thread');

const controllers = new Map<number, AbortController>();
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'abort') {
    controllers.get(msg.id)?.abort();
    return;
  }
  void runTask(msg);
});

async function runTask(msg: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  try {
    const stage = stageOf(msg.kind);
    const result = await stage.run({
      nodeId: msg.nodeId,
      params: msg.params,
      inputs: msg.inputs,
      workdir: msg.workdir,
      runtime: msg.runtime,
      signal: controller.signal,
      progress: (progress) => post({ type: 'progress', id: msg.id, progress }),
      log: (line) => post({ type: 'log', id: msg.id, line }),
    });
    post({ type: 'result', id: msg.id, result }, transferables([result.outputs]));
  } catch (e) {
    const category = e instanceof StageFailure ? 'stage' : e instanceof StageAborted ? 'aborted' : 'internal';
    const error = e instanceof Error ? e : new Error(String(e));
    post({
      type: 'error',
      id: msg.id,
      category,
      message: error.message,
      stack: error.stack,
      details: e instanceof StageFailure ? e.details : undefined,
    });
  } finally {
    controllers.delete(msg.id);
  }
}
