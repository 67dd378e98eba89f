import type { NodeKey } from '../fingerprint/ids.js';
import { leaseIsHeld } from '../store/lease.js';
import type { Store } from '../store/types.js';
import { sleep } from '../stages/failure.js';

const POLL_MS = 200;

/**
 * Cross-process leases on node keys, so two `basin run` on one cache never compute the same node
 * twice. A lease expires (its holder may have been killed); this run renews the ones it holds on a
 * timer that never keeps the process alive.
 */
export class Leases {
  readonly #held = new Set<NodeKey>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly store: Store, private readonly owner: string, private readonly ttlMs: number) {
    this.#timer = setInterval(() => void this.#renewAll(), Math.max(50, Math.floor(ttlMs / 3)));
    this.#timer.unref();
  }

  /** Takes the lease; returns undefined when taken, else the current holder. */
  async acquire(key: NodeKey): Promise<string | undefined> {
    if (await this.store.acquireLease(key, this.owner, this.ttlMs)) {
      this.#held.add(key);
      return undefined;
    }
    return this.store.getLease(key)?.owner ?? 'another run';
  }

  /** Releases the lease unless it is already gone (a commit releases its node's lease itself). */
  async release(key: NodeKey): Promise<void> {
    if (!this.#held.delete(key)) return;
    await this.store.releaseLease(key, this.owner);
  }

  /** The lease was released by another write (the node's commit): stop renewing it. */
  forget(key: NodeKey): void {
    this.#held.delete(key);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #renewAll(): Promise<void> {
    for (const key of this.#held) await this.store.renewLease(key, this.owner, this.ttlMs).catch(() => false);
  }
}

/**
 * Waits until another run's lease on `key` is gone: released (its node finished or failed),
 * expired, or held by a dead process on this host. The caller then re-checks the cache.
 */
export async function waitForLease(store: Store, key: NodeKey, signal: AbortSignal): Promise<void> {
  for (;;) {
    store.refresh();
    if (store.getRecord(key)) return;
    if (!leaseIsHeld(store.getLease(key), Date.now())) return;
    try {
      await sleep(POLL_MS, signal);
    } catch {
      return; // aborted: the caller sees the signal
    }
  }
}
