import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { asNodeKey, type Digest, type NodeKey } from './ids.js';
import type { JsonValue } from '../util/json.js';

/**
 * The version of the key derivation below. Bump it whenever the record's shape or meaning changes:
 * every key changes with it, so nothing computed under the old rules is reused by mistake.
 */
export const KEY_FORMAT = 1;

/**
 * Everything that can change a node's outputs, in one record. The key is SHA-256 of its canonical
 * JSON. Inputs are keyed by their CONTENT (the upstream output-manifest digest), which gives early
 * cutoff: an upstream rerun with identical bytes leaves this key unchanged.
 */
export interface FingerprintRecord {
  readonly keyFormat: typeof KEY_FORMAT;
  readonly kind: string;
  readonly kindVersion: number;
  /** The resolved `with` block after interpolation and schema defaults: exactly what the stage reads. */
  readonly params: JsonValue;
  /** Per input name: one digest, or a list when the input gathers a fanned-out stage (in node order). */
  readonly inputs: Readonly<Record<string, Digest | readonly Digest[]>>;
  /** Facts of the machine the stage declares it depends on (backend, library versions). */
  readonly runtime: Readonly<Record<string, JsonValue>>;
  /** Content digests of files the stage reads from the workspace (a `command` stage's deps). */
  readonly files: Readonly<Record<string, Digest>>;
}

export function nodeKey(record: FingerprintRecord): NodeKey {
  return asNodeKey(createHash('sha256').update(canonicalJson(record)).digest('hex'));
}
