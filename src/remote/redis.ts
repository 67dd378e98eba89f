import { Redis } from 'ioredis';
import { REDIS_ENV, redactMessage, type RedisTarget } from './url.js';

export { REDIS_ENV, redactMessage, type RedisTarget } from './url.js';

/**
 * Redis cannot be reached, or went away in the middle of a run. Printed as one line (never with a
 * stack); the URL in it has its credentials masked.
 */
export class RedisUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailable';
  }
}

export interface ConnectOptions {
  /** Who is connecting, for CLIENT LIST on the server (`basin-coordinator`, `basin-worker`). */
  readonly name: string;
  /**
   * Reconnection attempts before the client gives up and ends (about 0.5 s apart). A coordinator
   * gives up after a few seconds and fails its run; a worker keeps trying for longer.
   */
  readonly retries: number;
}

/**
 * A connected client. Rejects with RedisUnavailable naming the URL (masked) and the cause
 * (`connect ECONNREFUSED 127.0.0.1:6379`, `WRONGPASS`), and what to do about it.
 */
export async function connectRedis(target: RedisTarget, o: ConnectOptions): Promise<Redis> {
  let lastError: string | undefined;
  const client = new Redis(target.url, {
    lazyConnect: true,
    connectionName: o.name,
    // BullMQ's blocking connections require it; our own commands wait through short outages.
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times) => (times > o.retries ? null : Math.min(100 * times, 500)),
  });
  // Without a listener, ioredis's 'error' events would be unhandled and crash the process.
  client.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const why = lastError ?? (e instanceof Error ? e.message : String(e));
    throw new RedisUnavailable(
      `cannot reach Redis at ${target.shown} (${redactMessage(why, target)}): start redis-server there, or pass --redis URL (or set ${REDIS_ENV})`,
    );
  }
  return client;
}
