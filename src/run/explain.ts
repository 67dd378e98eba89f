import type { FingerprintRecord } from '../fingerprint/key.js';
import type { NodeId } from '../fingerprint/ids.js';
import type { NodeState } from '../store/types.js';
import type { JsonValue } from '../util/json.js';
import { canonicalJson } from '../fingerprint/canonical.js';
import { unreachable } from '../util/unreachable.js';

/**
 * Why a node runs. Computed by comparing its fingerprint record with the one last recorded for the
 * same node id in the same pipeline (the store keeps one NodeState per node), so `plan` and `run`
 * can say "params changed: lr 0.1 -> 0.05" rather than only "key changed".
 */
export type Reason =
  | { readonly code: 'new' }
  | { readonly code: 'forced' }
  | { readonly code: 'params'; readonly changes: readonly ParamChange[] }
  | { readonly code: 'input'; readonly input: string }
  | { readonly code: 'upstream-pending'; readonly input: string; readonly upstream: readonly NodeId[] }
  | { readonly code: 'file'; readonly path: string; readonly change: 'changed' | 'added' | 'removed' }
  | { readonly code: 'version'; readonly from: number; readonly to: number }
  | { readonly code: 'kind'; readonly from: string; readonly to: string }
  | { readonly code: 'runtime'; readonly fact: string; readonly from: JsonValue | undefined; readonly to: JsonValue | undefined }
  | { readonly code: 'key-format'; readonly from: number; readonly to: number }
  | { readonly code: 'failed-before'; readonly error: string }
  | { readonly code: 'missing-output' };

export interface ParamChange {
  readonly path: string;
  readonly from: JsonValue | undefined;
  readonly to: JsonValue | undefined;
}

const MAX_PARAM_CHANGES = 50;

/**
 * Reasons for running `now` given the previous state of the node. `pendingInputs` names inputs
 * whose upstream will run first (their digests are not known yet during a dry run).
 */
export function explain(
  now: Omit<FingerprintRecord, 'inputs'> & { readonly inputs: FingerprintRecord['inputs'] },
  previous: NodeState | undefined,
  pendingInputs: ReadonlyMap<string, readonly NodeId[]> = new Map(),
): Reason[] {
  if (!previous) return [{ code: 'new' }];
  const reasons: Reason[] = [];
  for (const [input, upstream] of pendingInputs) reasons.push({ code: 'upstream-pending', input, upstream });
  const before = previous.fingerprint;
  if (before.keyFormat !== now.keyFormat) reasons.push({ code: 'key-format', from: before.keyFormat, to: now.keyFormat });
  if (before.kind !== now.kind) reasons.push({ code: 'kind', from: before.kind, to: now.kind });
  else if (before.kindVersion !== now.kindVersion) reasons.push({ code: 'version', from: before.kindVersion, to: now.kindVersion });
  const changes: ParamChange[] = [];
  diffJson(before.params, now.params, '', changes);
  if (changes.length) reasons.push({ code: 'params', changes });
  for (const input of unionKeys(before.inputs, now.inputs)) {
    if (pendingInputs.has(input)) continue;
    if (canonicalJson(before.inputs[input] ?? null) !== canonicalJson(now.inputs[input] ?? null)) reasons.push({ code: 'input', input });
  }
  for (const path of unionKeys(before.files, now.files)) {
    const a = before.files[path];
    const b = now.files[path];
    if (a === b) continue;
    reasons.push({ code: 'file', path, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed' });
  }
  for (const fact of unionKeys(before.runtime, now.runtime)) {
    const a = before.runtime[fact];
    const b = now.runtime[fact];
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) reasons.push({ code: 'runtime', fact, from: a, to: b });
  }
  if (reasons.length) return reasons;
  // Same fingerprint as last time, yet not cached: it failed, or its outputs are gone.
  if (previous.status === 'failed') return [{ code: 'failed-before', error: previous.error ?? 'unknown error' }];
  return [{ code: 'missing-output' }];
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function diffJson(a: JsonValue | undefined, b: JsonValue | undefined, path: string, out: ParamChange[]): void {
  if (out.length >= MAX_PARAM_CHANGES) return;
  const objA = a !== null && typeof a === 'object' && !Array.isArray(a);
  const objB = b !== null && typeof b === 'object' && !Array.isArray(b);
  if (objA && objB) {
    const ra = a as Record<string, JsonValue>;
    const rb = b as Record<string, JsonValue>;
    for (const k of unionKeys(ra, rb)) diffJson(ra[k], rb[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null) && (a === undefined) === (b === undefined)) return;
  out.push({ path: path || '(all)', from: a, to: b });
}

export function formatReason(r: Reason): string {
  switch (r.code) {
    case 'new':
      return 'new: no earlier run of this node';
    case 'forced':
      return 'forced';
    case 'params':
      return `params changed: ${r.changes.map((c) => `${c.path} ${show(c.from)} -> ${show(c.to)}`).join(', ')}`;
    case 'input':
      return `input "${r.input}" changed`;
    case 'upstream-pending':
      return `input "${r.input}" will be recomputed first (${r.upstream.length === 1 ? r.upstream[0] : `${r.upstream.length} nodes`})`;
    case 'file':
      return `file ${r.path} ${r.change}`;
    case 'version':
      return `implementation version ${r.from} -> ${r.to}`;
    case 'kind':
      return `stage kind ${r.from} -> ${r.to}`;
    case 'runtime':
      return `runtime ${r.fact} ${show(r.from)} -> ${show(r.to)}`;
    case 'key-format':
      return `key format ${r.from} -> ${r.to}`;
    case 'failed-before':
      return `failed before: ${firstLine(r.error)}`;
    case 'missing-output':
      return 'outputs missing from the cache (removed by gc, or found corrupt)';
    default:
      return unreachable(r, 'reason');
  }
}

function show(v: JsonValue | undefined): string {
  if (v === undefined) return '(unset)';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : `${s.slice(0, i)} ...`;
}
