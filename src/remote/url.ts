/** Redis URLs as basin takes them and shows them (no driver imported here: the CLI parses them cheaply). */

/** The Redis a run or a worker uses: the URL to connect with and the form that may be printed. */
export interface RedisTarget {
  readonly url: string;
  /** The URL with user name and password replaced by `***`: the only form that is ever shown. */
  readonly shown: string;
}

export const REDIS_ENV = 'BASIN_REDIS_URL';

/** A redis:// or rediss:// URL (rediss: TLS); throws a plain Error whose message says what is wrong. */
export function redisTarget(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`expected a Redis URL like redis://host:6379 or rediss://user:password@host:6380, got "${maskCredentials(url)}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`expected a redis:// or rediss:// URL, got one starting with ${parsed.protocol}//`);
  }
  return { url, shown: maskCredentials(url) };
}

/** `redis://user:secret@host` -> `redis://***@host`; leaves URLs without credentials alone. */
export function maskCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** An error text with the target's URL (credentials and all) replaced by its masked form. */
export function redactMessage(message: string, target: RedisTarget): string {
  return message.split(target.url).join(target.shown);
}
