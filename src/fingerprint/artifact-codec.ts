import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { canonicalJson } from './canonical.js';
import { asDigest, type Digest } from './ids.js';
import { DTYPE_CTORS, dtypeOf, type Artifact, type DType, type Outputs } from '../stages/artifact.js';
import type { OutputRef } from '../store/types.js';

/**
 * Artifacts <-> content-addressed payloads.
 *
 * A payload's digest is SHA-256 over a FRAME: one header line, then the payload bytes.
 *   header = canonicalJson({v, type, dtype?, shape?, mediaType?}) + '\n'
 * Canonical JSON escapes control characters inside strings, so the header never contains a raw
 * newline and the first 0x0A byte of a frame always ends it. The header makes equal bytes of a
 * different type, dtype, shape or media type hash differently. Stores keep the frame itself, so a
 * stored value is exactly the digest's preimage and can be verified and decoded on its own.
 */
export const PAYLOAD_FORMAT = 1;

/** What besides the bytes goes into a payload's digest: the type-describing part of an OutputRef. */
export interface PayloadHeader {
  readonly type: OutputRef['type'];
  readonly dtype?: DType;
  readonly shape?: readonly number[];
  readonly mediaType?: string;
}

export const OUTPUT_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A stage produced an output that cannot be stored (a bug in the stage, reported with its name). */
export class InvalidOutput extends Error {
  constructor(readonly output: string, readonly reason: string) {
    super(`output ${JSON.stringify(output)}: ${reason}`);
    this.name = 'InvalidOutput';
  }
}

// Arrays are stored as their in-memory bytes; that is only the documented little-endian layout
// (and what the .npy export claims) on little-endian hosts, which is every platform Node ships for.
if (endianness() !== 'LE') throw new Error('internal error: basin stores arrays little-endian and needs a little-endian host');

const NEWLINE = 0x0a;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function headerBytes(h: PayloadHeader): Uint8Array {
  // Build the object key by key: canonicalJson rejects undefined, and absent fields must stay absent.
  const o: Record<string, unknown> = { v: PAYLOAD_FORMAT, type: h.type };
  if (h.type === 'array') {
    o['dtype'] = h.dtype;
    o['shape'] = h.shape === undefined ? undefined : [...h.shape];
  }
  if (h.type === 'bytes' && h.mediaType !== undefined) o['mediaType'] = h.mediaType;
  return utf8.encode(canonicalJson(o) + '\n');
}

/** The digest of a payload: `sha256:` + hex SHA-256 of header line + bytes. */
export function digestPayload(h: PayloadHeader, bytes: Uint8Array): Digest {
  return asDigest('sha256:' + createHash('sha256').update(headerBytes(h)).update(bytes).digest('hex'));
}

/** The digest of a stored frame (header line + bytes), to verify what a store read back. */
export function digestFrame(frame: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(frame).digest('hex');
}

/** Header line + payload bytes in one buffer: what a store keeps under the digest. */
export function framePayload(h: PayloadHeader, bytes: Uint8Array): Uint8Array {
  const head = headerBytes(h);
  const frame = new Uint8Array(head.byteLength + bytes.byteLength);
  frame.set(head, 0);
  frame.set(bytes, head.byteLength);
  return frame;
}

/**
 * The payload bytes of a frame, copied into a fresh ArrayBuffer (offset 0, so any typed array view
 * of it is aligned, and the caller owns it even when `frame` is a reused read buffer).
 * Returns undefined when the frame has no header line (a corrupt value).
 */
export function unframePayload(frame: Uint8Array): Uint8Array | undefined {
  const nl = frame.indexOf(NEWLINE);
  if (nl < 0) return undefined;
  const out = new Uint8Array(frame.byteLength - nl - 1);
  out.set(frame.subarray(nl + 1));
  return out;
}

export function headerOf(ref: PayloadHeader): PayloadHeader {
  switch (ref.type) {
    case 'json':
      return { type: 'json' };
    case 'bytes':
      return ref.mediaType === undefined ? { type: 'bytes' } : { type: 'bytes', mediaType: ref.mediaType };
    case 'array':
      return { type: 'array', dtype: ref.dtype, shape: ref.shape };
  }
}

export interface EncodedOutputs {
  readonly refs: Record<string, OutputRef>;
  readonly payloads: Map<Digest, Uint8Array>;
  /** Digest of the {name: digest} manifest, hashed as a json payload: what downstream keys depend on. */
  readonly outputsDigest: Digest;
}

export function encodeOutputs(outputs: Outputs): EncodedOutputs {
  const refs: Record<string, OutputRef> = {};
  const payloads = new Map<Digest, Uint8Array>();
  const manifest: Record<string, string> = {};
  for (const name of Object.keys(outputs).sort()) {
    if (!OUTPUT_NAME_RE.test(name)) {
      throw new InvalidOutput(name, `names must match ${OUTPUT_NAME_RE.source} (a letter or _, then letters, digits, _ . -)`);
    }
    const { ref, bytes } = encodeArtifact(name, outputs[name]!);
    refs[name] = ref;
    payloads.set(ref.digest, bytes);
    manifest[name] = ref.digest;
  }
  return { refs, payloads, outputsDigest: digestPayload({ type: 'json' }, utf8.encode(canonicalJson(manifest))) };
}

function encodeArtifact(name: string, a: Artifact): { ref: OutputRef; bytes: Uint8Array } {
  switch (a.type) {
    case 'json': {
      const bytes = utf8.encode(canonicalJson(a.value));
      return { ref: { digest: digestPayload({ type: 'json' }, bytes), type: 'json', bytes: bytes.byteLength }, bytes };
    }
    case 'bytes': {
      if (!(a.data instanceof Uint8Array)) throw new InvalidOutput(name, 'bytes data must be a Uint8Array');
      const h = headerOf({ type: 'bytes', ...(a.mediaType === undefined ? {} : { mediaType: a.mediaType }) });
      const ref: OutputRef = { ...h, digest: digestPayload(h, a.data), type: 'bytes', bytes: a.data.byteLength };
      return { ref, bytes: a.data };
    }
    case 'array': {
      checkArray(name, a.dtype, a.shape, a.data);
      const bytes = arrayBytes(a.data);
      const shape = [...a.shape];
      const digest = digestPayload({ type: 'array', dtype: a.dtype, shape }, bytes);
      return { ref: { digest, type: 'array', bytes: bytes.byteLength, dtype: a.dtype, shape }, bytes };
    }
  }
}

function checkArray(name: string, dtype: DType, shape: readonly number[], data: ArrayBufferView): void {
  if (!Object.hasOwn(DTYPE_CTORS, dtype)) throw new InvalidOutput(name, `unknown dtype ${String(dtype)}`);
  if (!ArrayBuffer.isView(data) || data instanceof DataView) throw new InvalidOutput(name, 'array data must be a typed array');
  const actual = dtypeOf(data as never);
  if (actual !== dtype) throw new InvalidOutput(name, `dtype says ${dtype} but the data is a ${actual} array`);
  const length = elementCount(name, shape);
  const got = (data as unknown as { length: number }).length;
  if (got !== length) throw new InvalidOutput(name, `shape [${shape.join(', ')}] needs ${length} elements, the data has ${got}`);
}

function elementCount(name: string, shape: readonly number[]): number {
  if (!Array.isArray(shape)) throw new InvalidOutput(name, 'shape must be an array of dimension sizes');
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InvalidOutput(name, `shape [${shape.join(', ')}] has a dimension that is not a non-negative integer`);
    n *= d;
  }
  return n;
}

/**
 * The raw bytes of a typed array. A view over its whole buffer is used as is; a view into part of
 * a larger (or shared) buffer is copied, so the payload owns exactly its bytes and can be
 * transferred to another thread without dragging the rest of the buffer along.
 */
function arrayBytes(data: ArrayBufferView): Uint8Array {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (whole && data.buffer instanceof ArrayBuffer) return new Uint8Array(data.buffer, 0, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Rebuilds an artifact from its ref and payload bytes (as read back from a store). */
export function decodeArtifact(ref: OutputRef, bytes: Uint8Array): Artifact {
  if (bytes.byteLength !== ref.bytes) {
    throw new Error(`internal error: payload ${ref.digest} has ${bytes.byteLength} bytes, its ref says ${ref.bytes}`);
  }
  switch (ref.type) {
    case 'json':
      return { type: 'json', value: JSON.parse(utf8Decoder.decode(bytes)) };
    case 'bytes':
      return ref.mediaType === undefined ? { type: 'bytes', data: bytes } : { type: 'bytes', data: bytes, mediaType: ref.mediaType };
    case 'array': {
      const dtype = ref.dtype;
      const shape = ref.shape;
      if (dtype === undefined || shape === undefined || !Object.hasOwn(DTYPE_CTORS, dtype)) {
        throw new Error(`internal error: array ref ${ref.digest} lacks a valid dtype or shape`);
      }
      const ctor = DTYPE_CTORS[dtype];
      const length = elementCount(ref.digest, shape);
      if (length * ctor.BYTES_PER_ELEMENT !== bytes.byteLength) {
        throw new Error(`internal error: payload ${ref.digest} has ${bytes.byteLength} bytes, not ${length} ${dtype} elements`);
      }
      // A typed array must start at a multiple of its element size; copy when the bytes do not.
      // (A SharedArrayBuffer is copied too: artifacts own plain, transferable ArrayBuffers.)
      let buffer = bytes.buffer;
      let offset = bytes.byteOffset;
      if (offset % ctor.BYTES_PER_ELEMENT !== 0 || !(buffer instanceof ArrayBuffer)) {
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        buffer = copy.buffer;
        offset = 0;
      }
      return { type: 'array', dtype, shape: [...shape], data: new ctor(buffer as ArrayBuffer, offset, length) };
    }
  }
}
