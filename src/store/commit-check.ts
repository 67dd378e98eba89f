import { framePayload, headerBytes, headerOf, OUTPUT_NAME_RE } from '../fingerprint/artifact-codec.js';
import { asDigest, asNodeKey, type Digest, type NodeId } from '../fingerprint/ids.js';
import { toJsonBytes } from './json-bytes.js';
import type { NodeRecord, NodeState } from './types.js';

/** A commit the store refuses before touching anything (a bug in the caller). */
export class InvalidCommit extends Error {
  constructor(readonly key: string, readonly reason: string) {
    super(`cannot commit record ${key}: ${reason}`);
    this.name = 'InvalidCommit';
  }
}

/** The record names payloads that were neither supplied nor stored (e.g. removed by gc meanwhile). */
export class MissingPayloads extends Error {
  constructor(readonly key: string, readonly digests: readonly Digest[]) {
    super(`cannot commit record ${key}: payloads ${digests.join(', ')} are neither supplied nor stored`);
    this.name = 'MissingPayloads';
  }
}

/** Everything a commit writes, encoded and checked, so the write transaction itself cannot fail. */
export interface PreparedCommit {
  readonly record: NodeRecord;
  readonly recordJson: Uint8Array;
  readonly pipeline: string;
  readonly nodeId: NodeId;
  readonly stateJson: Uint8Array;
  /** Frames (header line + bytes) to store unless already present, with their payload sizes. */
  readonly frames: ReadonlyMap<Digest, { readonly frame: Uint8Array; readonly bytes: number }>;
  /** Digests the record references without supplying them: they must already be stored. */
  readonly existing: readonly Digest[];
  /** Releases this owner's lease on the record's key in the same transaction. */
  readonly leaseOwner?: string;
}

// LMDB keys are at most 1978 bytes; the state key is [pipeline, nodeId] plus a few type bytes.
const MAX_STATE_KEY_BYTES = 1900;

export function checkStateKey(pipeline: string, nodeId: string): void {
  if (pipeline.length === 0) throw new Error('internal error: empty pipeline name');
  if (pipeline.includes('\0') || nodeId.includes('\0')) throw new Error('internal error: pipeline and node id must not contain NUL');
  if (Buffer.byteLength(pipeline) + Buffer.byteLength(nodeId) > MAX_STATE_KEY_BYTES) {
    throw new Error(`internal error: pipeline name plus node id exceed ${MAX_STATE_KEY_BYTES} bytes: ${nodeId}`);
  }
}

export function prepareCommit(
  record: NodeRecord,
  payloads: ReadonlyMap<Digest, Uint8Array>,
  state: { pipeline: string; state: NodeState },
  leaseOwner?: string,
): PreparedCommit {
  const key = String(record.key);
  const fail = (reason: string): never => {
    throw new InvalidCommit(key, reason);
  };
  try {
    asNodeKey(key);
    asDigest(String(record.outputsDigest));
  } catch (e) {
    fail((e as Error).message);
  }
  if (record.format !== 1) fail(`unknown record format ${String(record.format)}`);
  if (state.state.key !== record.key) fail(`its node state names key ${state.state.key}`);
  checkStateKey(state.pipeline, state.state.nodeId);

  const frames = new Map<Digest, { frame: Uint8Array; bytes: number }>();
  const headers = new Map<Digest, string>();
  const existing = new Set<Digest>();
  for (const [name, ref] of Object.entries(record.outputs)) {
    if (!OUTPUT_NAME_RE.test(name)) fail(`output name ${JSON.stringify(name)} is not an identifier`);
    try {
      asDigest(String(ref.digest));
    } catch (e) {
      fail(`output ${name}: ${(e as Error).message}`);
    }
    if (ref.type !== 'json' && ref.type !== 'bytes' && ref.type !== 'array') fail(`output ${name} has unknown type ${String(ref.type)}`);
    // One digest names one header: two refs sharing a digest must agree on what it is.
    const header = Buffer.from(headerBytes(headerOf(ref))).toString('utf8');
    const seen = headers.get(ref.digest);
    if (seen !== undefined && seen !== header) fail(`outputs disagree on the type of payload ${ref.digest}`);
    headers.set(ref.digest, header);
    const bytes = payloads.get(ref.digest);
    if (bytes === undefined) {
      existing.add(ref.digest);
      continue;
    }
    if (bytes.byteLength !== ref.bytes) fail(`output ${name} says ${ref.bytes} bytes, its payload has ${bytes.byteLength}`);
    if (!frames.has(ref.digest)) frames.set(ref.digest, { frame: framePayload(headerOf(ref), bytes), bytes: bytes.byteLength });
  }
  for (const digest of payloads.keys()) {
    if (!headers.has(digest)) fail(`payload ${digest} is supplied but no output refers to it`);
  }
  let recordJson: Uint8Array;
  let stateJson: Uint8Array;
  try {
    recordJson = toJsonBytes(record);
    stateJson = toJsonBytes(state.state);
  } catch (e) {
    return fail(`it has no JSON form: ${(e as Error).message}`);
  }
  const prepared = { record, recordJson, pipeline: state.pipeline, nodeId: state.state.nodeId, stateJson, frames, existing: [...existing] };
  return leaseOwner === undefined ? prepared : { ...prepared, leaseOwner };
}
