import type { NodeId } from '../fingerprint/ids.js';
import type { Outputs } from '../stages/artifact.js';
import type { InputNode, Progress, StageResult } from '../stages/types.js';
import type { JsonValue } from '../util/json.js';

/** Messages between the main thread and a pool worker. */
export type ToWorker =
  | {
      readonly type: 'run';
      readonly id: number;
      readonly kind: string;
      readonly nodeId: NodeId;
      readonly params: JsonValue;
      readonly inputs: Readonly<Record<string, readonly InputNode[]>>;
      readonly workdir: string;
      readonly runtime: Readonly<Record<string, JsonValue>>;
    }
  | { readonly type: 'abort'; readonly id: number };

export type FromWorker =
  | { readonly type: 'progress'; readonly id: number; readonly progress: Progress }
  | { readonly type: 'log'; readonly id: number; readonly line: string }
  | { readonly type: 'result'; readonly id: number; readonly result: StageResult }
  | {
      readonly type: 'error';
      readonly id: number;
      /** `stage`: StageFailure; `aborted`: StageAborted; `internal`: anything else. */
      readonly category: 'stage' | 'aborted' | 'internal';
      readonly message: string;
      readonly stack?: string;
      readonly details?: JsonValue;
    };

/** Buffers of some outputs that can be moved rather than copied: whole, non-shared ArrayBuffers only. */
export function transferables(outputs: readonly Outputs[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const o of outputs) {
    for (const a of Object.values(o)) {
      if (a.type === 'json') continue;
      const view = a.data;
      const buf = view.buffer;
      if (buf instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buf.byteLength) seen.add(buf);
    }
  }
  return [...seen];
}

/** The buffers of all loaded inputs of a task. */
export function inputTransferables(inputs: Readonly<Record<string, readonly InputNode[]>>): ArrayBuffer[] {
  return transferables(Object.values(inputs).flatMap((nodes) => nodes.map((n) => n.outputs)));
}
