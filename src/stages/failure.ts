import type { JsonValue } from '../util/json.js';

/**
 * An expected stage failure (a command exited non-zero, a model diverged): shown as a message
 * with the node id, never as a stack trace. Anything else a stage throws is a bug and is shown
 * as an internal error.
 */
export class StageFailure extends Error {
  constructor(message: string, readonly details?: JsonValue) {
    super(message);
    this.name = 'StageFailure';
  }
}

/** Raised when a stage stops because its AbortSignal fired. */
export class StageAborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'StageAborted';
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new StageAborted();
}

/** Resolves after `ms`, or rejects with StageAborted when the signal fires first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StageAborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StageAborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
