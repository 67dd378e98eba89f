import type { NodeId } from '../fingerprint/ids.js';
import type { RunEvent } from '../run/events.js';
import { runProgressIsLive } from '../store/lease.js';
import type { NodeProgress, RunProgress, Store } from '../store/types.js';
import { pushSample, trailPoints, type Trail } from './trail.js';

export interface PublisherOptions {
  readonly store: Store;
  /** The run's lease owner: the record's key. */
  readonly owner: string;
  readonly pipeline: string;
  readonly file: string;
  readonly jobs: number;
  /** Least time between two writes (ms, default 1000). */
  readonly intervalMs?: number;
  /** Rewrite at least this often while nodes run, to keep the record from expiring (default 10 s). */
  readonly heartbeatMs?: number;
  /** A record not rewritten for this long is taken for the trace of a dead run (default 30 s). */
  readonly ttlMs?: number;
  readonly clock?: () => number;
}

interface Running {
  readonly node: NodeProgress;
  readonly trail?: Trail;
}

/**
 * Publishes the run's running nodes into the store for `basin status --watch` in other processes
 * (see RunProgress). An event only updates a map; the store is written from a timer, at most once
 * per `intervalMs` whatever the number of nodes and progress reports (one record per run, not per
 * node), plus a heartbeat. Nothing is written before a node starts, so a fully cached run writes
 * nothing. The record is dropped when the run ends; a write that fails is dropped silently: the
 * run must never fail because of its progress display.
 */
export class ProgressPublisher {
  readonly #o: PublisherOptions;
  readonly #clock: () => number;
  readonly #interval: number;
  readonly #running = new Map<NodeId, Running>();
  readonly #startedAt: number;
  #written = false;
  #dirty = false;
  #lastWrite = 0;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  /** Writes made, for tests and measurements. */
  writes = 0;

  constructor(o: PublisherOptions) {
    this.#o = o;
    this.#clock = o.clock ?? Date.now;
    this.#interval = o.intervalMs ?? 1000;
    this.#startedAt = this.#clock();
  }

  readonly emit = (e: RunEvent): void => {
    if (this.#closed) return;
    switch (e.type) {
      case 'node-start':
        this.#running.set(e.node, { node: { node: e.node, stage: e.stage, startedAt: this.#clock() } });
        break;
      case 'node-progress': {
        const r = this.#running.get(e.node);
        if (!r) return;
        const name = e.metrics ? (r.node.metric && r.node.metric.name in e.metrics ? r.node.metric.name : 'loss' in e.metrics ? 'loss' : Object.keys(e.metrics)[0]) : undefined;
        const value = name === undefined ? undefined : e.metrics?.[name];
        const trail = value === undefined ? r.trail : pushSample(r.node.metric?.name === name ? r.trail : undefined, value);
        const node: NodeProgress = {
          ...r.node,
          ...(e.fraction === undefined || !Number.isFinite(e.fraction) ? {} : { fraction: e.fraction }),
          ...(e.message === undefined ? {} : { message: e.message.slice(0, 200) }),
          ...(name !== undefined && value !== undefined && Number.isFinite(value) && trail ? { metric: { name, value, trail: trailPoints(trail) } } : {}),
        };
        this.#running.set(e.node, { node, ...(trail ? { trail } : {}) });
        break;
      }
      case 'node-done':
      case 'node-failed':
      case 'node-skipped':
        if (!this.#running.delete(e.node)) return;
        break;
      default:
        return;
    }
    this.#dirty = true;
    this.#schedule();
  };

  /** Stops publishing and removes the record (awaits the writes). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await this.#inFlight;
    if (this.#written) await this.#o.store.dropRunProgress(this.#o.owner).catch(() => undefined);
  }

  #schedule(): void {
    if (this.#timer || this.#inFlight || this.#closed) return;
    const wait = Math.max(0, this.#lastWrite + this.#interval - this.#clock());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, wait);
    this.#timer.unref();
  }

  #write(): void {
    if (this.#closed) return;
    const now = this.#clock();
    const record: RunProgress = {
      format: 1,
      owner: this.#o.owner,
      pipeline: this.#o.pipeline,
      file: this.#o.file,
      jobs: this.#o.jobs,
      startedAt: this.#startedAt,
      updatedAt: now,
      expiresAt: now + (this.#o.ttlMs ?? 30_000),
      running: [...this.#running.values()].map((r) => r.node),
    };
    const first = !this.#written;
    this.#written = true;
    this.#dirty = false;
    this.#lastWrite = now;
    this.writes++;
    this.#inFlight = (async () => {
      // The first write also clears what killed runs left behind.
      if (first) for (const old of [...this.#o.store.listRunProgress()]) if (!runProgressIsLive(old, now)) await this.#o.store.dropRunProgress(old.owner);
      await this.#o.store.putRunProgress(record);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#dirty) this.#schedule();
      });
    if (!this.#heartbeat) {
      this.#heartbeat = setInterval(() => {
        this.#dirty = true;
        this.#schedule();
      }, this.#o.heartbeatMs ?? 10_000);
      this.#heartbeat.unref();
    }
  }
}
