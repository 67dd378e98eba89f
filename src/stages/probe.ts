import type { JsonValue } from '../util/json.js';
import { StageFailure, sleep, throwIfAborted } from './failure.js';
import type { StageDefinition, StageResult } from './types.js';

/**
 * An in-process stage for tests and benchmarks: echoes its params and its inputs' values, can
 * sleep, spin the CPU, fail, report progress and emit an array. Runs in the worker pool, so it
 * also exercises the thread boundary the ML stages cross.
 */
export interface ProbeParams {
  readonly value: JsonValue;
  readonly sleepMs: number;
  readonly busyMs: number;
  readonly fail?: string;
  readonly arrayLength: number;
  readonly steps: number;
  readonly seed?: number | string;
  readonly label?: string;
}

export const probe: StageDefinition<ProbeParams> = {
  kind: 'probe',
  version: 1,
  schema: 'probe.schema.json',
  placement: 'pool',
  loadsInputs: true,
  async run(ctx): Promise<StageResult> {
    const p = ctx.params;
    for (let step = 1; step <= p.steps; step++) {
      throwIfAborted(ctx.signal);
      if (p.sleepMs > 0) await sleep(p.sleepMs / p.steps, ctx.signal);
      if (p.busyMs > 0) spin(p.busyMs / p.steps);
      ctx.progress({ fraction: step / p.steps, message: `step ${step}/${p.steps}`, metrics: { loss: 1 / step } });
    }
    if (p.fail !== undefined) throw new StageFailure(p.fail);
    const inputs: Record<string, JsonValue> = {};
    for (const [name, nodes] of Object.entries(ctx.inputs)) {
      inputs[name] = nodes.map((n) => {
        const r = n.outputs['result'];
        return { node: n.nodeId, value: r?.type === 'json' ? r.value : null };
      });
    }
    const result = { value: p.value, label: p.label ?? null, seed: p.seed ?? null, inputs };
    if (p.arrayLength === 0) return { outputs: { result: { type: 'json', value: result } } };
    const data = new Float32Array(p.arrayLength);
    const base = typeof p.seed === 'number' ? p.seed : 0;
    for (let i = 0; i < data.length; i++) data[i] = base + i / data.length;
    return {
      outputs: {
        result: { type: 'json', value: result },
        array: { type: 'array', dtype: 'float32', shape: [p.arrayLength], data },
      },
    };
  },
};

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy: stands in for CPU-bound work */
  }
}
