/**
 * Store values (records, states, leases, meta) are UTF-8 JSON. Encoding happens before a write
 * transaction starts, so nothing that can throw (a BigInt, a cycle) runs inside it; JSON keeps the
 * store readable with any LMDB tool and free of encoder state shared between processes.
 */
export function toJsonBytes(value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error('internal error: value has no JSON form');
  return Buffer.from(text, 'utf8');
}

/** Parses a stored value; `bytes` may be a reused read buffer, so nothing keeps a reference to it. */
export function fromJsonBytes<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as T;
}
