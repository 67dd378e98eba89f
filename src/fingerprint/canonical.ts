import { isPlainObject } from '../util/json.js';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers as JSON.stringify prints
 * them. Rejects what has no single faithful JSON form (NaN, Infinity, undefined, functions,
 * symbols, bigint, class instances, typed arrays, sparse arrays), so that two different values can
 * never share a key by accident. -0 is rejected too: JSON would print it as 0.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

export class NotCanonical extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot fingerprint ${path}: ${reason}`);
    this.name = 'NotCanonical';
  }
}

function encode(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonical(path, `${value} is not a finite number`);
      if (Object.is(value, -0)) throw new NotCanonical(path, '-0 has no distinct JSON form');
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new NotCanonical(`${path}[${i}]`, 'sparse array hole');
          parts.push(encode(value[i], `${path}[${i}]`));
        }
        return `[${parts.join(',')}]`;
      }
      if (!isPlainObject(value)) {
        const name = (value as object).constructor?.name ?? 'object';
        throw new NotCanonical(path, `${name} is not a plain object`);
      }
      const keys = Object.keys(value).sort();
      const parts: string[] = [];
      for (const k of keys) parts.push(`${JSON.stringify(k)}:${encode(value[k], `${path}.${k}`)}`);
      return `{${parts.join(',')}}`;
    }
    default:
      throw new NotCanonical(path, `${typeof value} is not JSON`);
  }
}
