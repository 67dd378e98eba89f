import type { JsonValue } from '../util/json.js';

/**
 * What a stage produces and consumes. Arrays keep their bytes raw (no JSON round trip) and cross
 * worker-thread boundaries by transfer.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'uint32' | 'int16' | 'uint16' | 'int8' | 'uint8';

export type TypedArray =
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

export type Artifact =
  | { readonly type: 'json'; readonly value: JsonValue }
  | { readonly type: 'bytes'; readonly data: Uint8Array; readonly mediaType?: string }
  | { readonly type: 'array'; readonly dtype: DType; readonly shape: readonly number[]; readonly data: TypedArray };

/** A stage's outputs by name. Names are identifiers (`weights`, `curves`, `stdout`). */
export type Outputs = Readonly<Record<string, Artifact>>;

export const DTYPE_CTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
} as const;

export function dtypeOf(a: TypedArray): DType {
  for (const [name, ctor] of Object.entries(DTYPE_CTORS)) if (a instanceof ctor) return name as DType;
  throw new Error('internal error: unsupported typed array');
}
