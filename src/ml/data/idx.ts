import { DataError } from './error.js';

/**
 * The IDX format of LeCun's MNIST files: two zero bytes, a dtype byte, the number of dimensions,
 * then each dimension as a big-endian uint32, then the data in row-major order, big-endian.
 */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  readonly dtype: IdxDType;
  readonly dims: readonly number[];
  /** The values as numbers in row-major order (uint8 kept as is, not scaled). */
  readonly data: Float64Array | Uint8Array;
}

const DTYPES: Readonly<Record<number, { name: IdxDType; size: number }>> = {
  0x08: { name: 'uint8', size: 1 },
  0x09: { name: 'int8', size: 1 },
  0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 },
  0x0d: { name: 'float32', size: 4 },
  0x0e: { name: 'float64', size: 8 },
};

/** Parses IDX bytes (already gunzipped); `shown` names the file in errors. */
export function parseIdx(bytes: Uint8Array, shown: string): IdxArray {
  const bad = (what: string): never => {
    throw new DataError(`"${shown}" is not a valid IDX file: ${what}`);
  };
  if (bytes.length < 4) bad(`it has ${bytes.length} bytes, fewer than the 4-byte header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    bad(`it starts with bytes ${hex(bytes[0]!)} ${hex(bytes[1]!)}, expected 00 00 (is it an IDX file, or a gzip file that was cut short?)`);
  }
  const dtype = DTYPES[bytes[2]!] ?? bad(`unknown data type byte ${hex(bytes[2]!)} (expected 08 uint8, 09 int8, 0b int16, 0c int32, 0d float32 or 0e float64)`);
  const rank = bytes[3]!;
  if (rank === 0) bad('it declares 0 dimensions');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) bad(`it declares ${rank} dimensions but ends inside the header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * dtype.size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'longer than its header says';
    bad(`it is ${what}: dimensions [${dims.join(', ')}] of ${dtype.name} need ${expected} bytes, the file has ${bytes.length}`);
  }
  if (dtype.name === 'uint8') return { dtype: 'uint8', dims, data: bytes.slice(headerBytes) };
  const data = new Float64Array(count);
  for (let i = 0, at = headerBytes; i < count; i++, at += dtype.size) data[i] = readValue(view, at, dtype.name);
  return { dtype: dtype.name, dims, data };
}

function readValue(view: DataView, at: number, dtype: IdxDType): number {
  switch (dtype) {
    case 'uint8':
      return view.getUint8(at);
    case 'int8':
      return view.getInt8(at);
    case 'int16':
      return view.getInt16(at, false);
    case 'int32':
      return view.getInt32(at, false);
    case 'float32':
      return view.getFloat32(at, false);
    case 'float64':
      return view.getFloat64(at, false);
  }
}

/** Encodes an IDX file (tests and fixtures write the small files they read). */
export function encodeIdx(dtype: IdxDType, dims: readonly number[], values: ArrayLike<number>): Uint8Array {
  const code = Number(Object.entries(DTYPES).find(([, d]) => d.name === dtype)![0]);
  const size = DTYPES[code]!.size;
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < values.length; i++) {
    const at = header + i * size;
    const v = values[i]!;
    if (dtype === 'uint8') view.setUint8(at, v);
    else if (dtype === 'int8') view.setInt8(at, v);
    else if (dtype === 'int16') view.setInt16(at, v, false);
    else if (dtype === 'int32') view.setInt32(at, v, false);
    else if (dtype === 'float32') view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return out;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');
