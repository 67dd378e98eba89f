import assert from 'node:assert/strict';
import { loadPipeline } from '../../src/config/load.js';
import { catalogFromSchemaDir } from '../../src/config/schema-catalog.js';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { BackendName } from '../../src/ml/backend.js';
import type { Artifact } from '../../src/stages/artifact.js';
import type { Progress, StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';

/**
 * What the stage tests share: params from a stage kind's schema (defaults filled as the loader fills
 * them), in-process stage contexts, and typed access to outputs. Numeric stages run on
 * BASIN_TEST_BACKEND (default cpu).
 */
export const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;

export function stageRig(kinds: readonly string[], nodeId: string) {
  const catalog = catalogFromSchemaDir([...kinds]);
  const load = (yaml: string) => {
    const r = loadPipeline('basin.yaml', yaml, catalog, { cwd: '/tmp/p' });
    if (!r.ok) throw new Error(r.error.map((d) => d.message).join('\n'));
    return r.value;
  };
  return {
    catalog,
    load,
    /** The resolved params of a one-stage pipeline `{ kind, with: withBlock }`. */
    paramsOf: <P>(stage: string, kind: string, withBlock: string): P =>
      load(`version: 1\nname: t\nstages:\n  ${stage}: { kind: ${kind}, with: ${withBlock} }\n`).nodes.find((n) => n.id === stage)!.params as unknown as P,
    /** Whether the loader rejects `with: withBlock` for `kind`. */
    rejects: (kind: string, withBlock: string): boolean => !loadPipeline('basin.yaml', `version: 1\nname: t\nstages:\n  s: { kind: ${kind}, with: ${withBlock} }\n`, catalog, { cwd: '/tmp/p' }).ok,
    context: <P>(params: P, inputs: StageContext['inputs'], progress: Progress[] = [], signal = new AbortController().signal): StageContext<P> => ({
      nodeId: nodeId as NodeId,
      params,
      inputs,
      workdir: '/tmp',
      runtime: { backend },
      signal,
      progress: (p) => progress.push(p),
      log: () => {},
    }),
  };
}

export const jsonOf = (a: Artifact | undefined): Record<string, JsonValue> => {
  assert.ok(a?.type === 'json');
  return a.value as Record<string, JsonValue>;
};

export const arrayOf = (a: Artifact | undefined) => {
  assert.ok(a?.type === 'array');
  return a;
};

/** A value by dotted path (`lanczos.top`). */
export const get = (o: JsonValue, path: string): JsonValue => path.split('.').reduce<JsonValue>((v, k) => (v as Record<string, JsonValue>)[k] as JsonValue, o);
