import type { DType, TypedArray } from '../stages/artifact.js';

/**
 * NumPy .npy format version 1.0, byte for byte as numpy (>= 1.23) writes it: magic `\x93NUMPY`,
 * version 1.0, a little-endian uint16 header length, then the header: a Python dict literal with
 * keys in sorted order and a trailing ", ", spare spaces for the first dimension to grow to 21
 * digits (numpy's GROWTH_AXIS_MAX_DIGITS), padded with spaces and a final newline so the data
 * starts at a multiple of 64 bytes. Data follows in C order, little-endian.
 */
const DESCR: Readonly<Record<DType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  uint32: '<u4',
  int16: '<i2',
  uint16: '<u2',
  int8: '|i1',
  uint8: '|u1',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]; // \x93 N U M P Y, version 1.0
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;

export function npyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  // Python's tuple repr: (), (5,), (2, 3)
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const preamble = MAGIC.length + 2;
  // numpy pads by ALIGN - (len % ALIGN), i.e. a full 64 when already aligned; match it exactly.
  const padding = ALIGN - ((preamble + dict.length + 1) % ALIGN);
  const headerLength = dict.length + padding + 1;
  if (headerLength > 0xffff) throw new Error(`internal error: .npy v1.0 header of ${headerLength} bytes exceeds 65535`);
  const out = new Uint8Array(preamble + headerLength);
  out.set(MAGIC, 0);
  out[8] = headerLength & 0xff;
  out[9] = headerLength >> 8;
  out.set(Buffer.from(dict + ' '.repeat(padding) + '\n', 'latin1'), preamble);
  return out;
}

/** The whole .npy file for an array (the data is the typed array's little-endian bytes). */
export function npyBytes(dtype: DType, shape: readonly number[], data: TypedArray): Uint8Array {
  const header = npyHeader(dtype, shape);
  const out = new Uint8Array(header.byteLength + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.byteLength);
  return out;
}
