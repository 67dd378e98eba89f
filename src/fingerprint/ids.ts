/**
 * Branded identifiers. Only the constructors below cast; everything else receives them typed.
 */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** `sha256:<64 hex>` digest of an artifact's content (type header + bytes). */
export type Digest = Brand<string, 'Digest'>;
/** 64-hex SHA-256 node key: the memoisation key of one node. */
export type NodeKey = Brand<string, 'NodeKey'>;
/** Readable, stable node id, e.g. `train[seed=1,attack=2000]`. */
export type NodeId = Brand<string, 'NodeId'>;
/** A stage name as written under `stages:` in the pipeline. */
export type StageName = Brand<string, 'StageName'>;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const KEY_RE = /^[0-9a-f]{64}$/;

export function asDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new Error(`internal error: not a digest: ${s}`);
  return s as Digest;
}
export function asNodeKey(s: string): NodeKey {
  if (!KEY_RE.test(s)) throw new Error(`internal error: not a node key: ${s}`);
  return s as NodeKey;
}
export const asNodeId = (s: string): NodeId => s as NodeId;
export const asStageName = (s: string): StageName => s as StageName;
