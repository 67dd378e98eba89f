import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease, RunProgress } from './types.js';

/**
 * Lease owners are `${hostname}:${pid}:${random}`. The random part tells apart two owners in one
 * process (two runs, or a test); hostname and pid let any process on the same host see that an
 * owner has died (killed, crashed) and take its leases at once instead of waiting out the ttl.
 */
export function makeOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
}

/**
 * True only when the owner is certainly dead: it names this host and its pid no longer exists.
 * Owners on other hosts, unparsable owners, and pids we may not signal (EPERM: alive, another
 * user) count as alive; their leases end by expiry. A reused pid errs the safe way (alive).
 */
export function ownerIsDead(owner: string): boolean {
  const last = owner.lastIndexOf(':');
  const mid = last > 0 ? owner.lastIndexOf(':', last - 1) : -1;
  if (mid <= 0) return false;
  if (owner.slice(0, mid) !== hostname()) return false;
  const pidText = owner.slice(mid + 1, last);
  if (!/^[1-9][0-9]*$/.test(pidText)) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A lease blocks others while it has not expired and its owner is not known to be dead. */
export function leaseIsHeld(lease: Lease | undefined, now: number): lease is Lease {
  return lease !== undefined && lease.expiresAt > now && !ownerIsDead(lease.owner);
}

/** `owner` may take the lease: it is free, expired, orphaned, or already theirs. */
export function mayTakeLease(current: Lease | undefined, owner: string, now: number): boolean {
  return current === undefined || current.owner === owner || !leaseIsHeld(current, now);
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`internal error: lease ttl must be a positive number of ms, got ${ttlMs}`);
}

/** A progress record stands for a running run like a lease: unexpired, owner not known dead. */
export function runProgressIsLive(progress: RunProgress, now: number): boolean {
  return progress.expiresAt > now && !ownerIsDead(progress.owner);
}
