import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DataError } from './error.js';

/**
 * A data file's bytes, gunzipped when it starts with the gzip magic bytes (1f 8b). The content,
 * not the name, decides: `train-images-idx3-ubyte` is often gzipped without a `.gz` suffix, and a
 * `.gz` file may have been unpacked in place.
 */
export async function readMaybeGzip(path: string, shown: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(e)})`;
    throw new DataError(`data file "${shown}" ${why}: check the path (relative to the pipeline's directory)`);
  }
  return gunzipIfGzip(bytes, shown);
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function gunzipIfGzip(bytes: Uint8Array, shown: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (e) {
    throw new DataError(`data file "${shown}" starts like gzip (1f 8b) but does not unpack: ${(e as Error).message}; download it again`);
  }
}
