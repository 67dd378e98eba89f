import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { decodeArtifact } from '../fingerprint/artifact-codec.js';
import type { Artifact } from '../stages/artifact.js';
import { npyBytes } from './npy.js';
import type { NodeRecord, Store } from './types.js';

/** Extensions for common media types of `bytes` outputs; anything else is `.bin`. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'text/plain': '.txt',
  'text/csv': '.csv',
  'text/markdown': '.md',
  'text/html': '.html',
  'application/json': '.json',
  'image/png': '.png',
  'image/svg+xml': '.svg',
};

/** The file name an output is exported under (see exportOutputs). */
export function exportFileName(name: string, artifact: Artifact): string {
  switch (artifact.type) {
    case 'json':
      return `${name}.json`;
    case 'array':
      return `${name}.npy`;
    case 'bytes': {
      if (extname(name) !== '') return name;
      const mediaType = artifact.mediaType?.split(';')[0]?.trim().toLowerCase();
      return name + ((mediaType !== undefined && EXTENSIONS[mediaType]) || '.bin');
    }
  }
}

/**
 * Writes each output of a record into `outDir` as a file a user can open: json -> `<name>.json`
 * (pretty), array -> `<name>.npy` (NumPy .npy v1.0), bytes -> `<name>` plus an extension from its
 * media type (kept as is when the name has one), and the record itself as `record.json`.
 * Payloads are read verified (CorruptPayload propagates). Returns the written paths, record last.
 */
export async function exportOutputs(record: NodeRecord, store: Store, outDir: string): Promise<string[]> {
  const files: { name: string; data: Uint8Array | string }[] = [];
  for (const name of Object.keys(record.outputs).sort()) {
    const ref = record.outputs[name]!;
    const payload = store.getPayload(ref.digest);
    if (payload === undefined) {
      throw new Error(`cannot export output ${name} of ${record.nodeId}: its payload ${ref.digest} is not in the store (rerun the node)`);
    }
    const artifact = decodeArtifact(ref, payload);
    files.push({ name: exportFileName(name, artifact), data: fileData(artifact) });
  }
  files.push({ name: 'record.json', data: JSON.stringify(record, null, 2) + '\n' });

  // Names are identifiers, but `a` (json) and `a.json` (bytes), or an output named `record`,
  // would still collide: refuse rather than silently overwrite one with the other.
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.name)) throw new Error(`cannot export ${record.nodeId}: two files would both be named ${f.name}`);
    seen.add(f.name);
  }

  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    const path = join(outDir, f.name);
    await writeFile(path, f.data);
    written.push(path);
  }
  return written;
}

function fileData(artifact: Artifact): Uint8Array | string {
  switch (artifact.type) {
    case 'json':
      return JSON.stringify(artifact.value, null, 2) + '\n';
    case 'bytes':
      return artifact.data;
    case 'array':
      return npyBytes(artifact.dtype, artifact.shape, artifact.data);
  }
}
