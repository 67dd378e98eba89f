import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { decodeArtifact } from '../fingerprint/artifact-codec.js';
import type { Digest } from '../fingerprint/ids.js';
import { ExecutorUnavailable, type Execution, type Executor, type Task, type TaskHooks } from '../run/executor.js';
import { InternalStageError } from '../run/pool.js';
import type { Outputs } from '../stages/artifact.js';
import { StageAborted, StageFailure } from '../stages/failure.js';
import type { OutputRef, Store } from '../store/types.js';
import { deleteBlobs, getBlob, putBlob, type BlobSpace } from './blobs.js';
import { decodeFailure, PROTOCOL, QUEUE, RUNS_SET, runKeys, type JobData, type JobNotice, type JobResult } from './protocol.js';
import { connectRedis, redactMessage, RedisUnavailable, type RedisTarget } from './redis.js';

/** How long the run's keys live without a refresh: a dead coordinator's jobs are dropped after this. */
const ALIVE_TTL_MS = 15_000;
const HEARTBEAT_MS = 3_000;
/**
 * Expiry of payloads in Redis, the backstop for a coordinator that dies: a live run refreshes its
 * inputs' expiry (every INPUT_REFRESH_MS) and deletes each payload as soon as it is not needed.
 */
export const BLOB_TTL_MS = 10 * 60_000;
const INPUT_REFRESH_MS = 60_000;
/** With jobs waiting this long and no worker on the queue, the run says so. */
const NO_WORKER_WARN_MS = 5_000;

interface Pending {
  readonly hooks: TaskHooks;
  resolve(r: JobResult): void;
  reject(e: unknown): void;
}

/**
 * The coordinator's side of distributed runs: each task becomes a BullMQ job that any `basin worker`
 * on the same Redis may take. Planning, keys, the LMDB store and the UI stay here.
 *
 * Inputs go to Redis once per run and digest (refcounted, deleted when no pending job needs them);
 * outputs come back under their job's own prefix, are verified here (digest of every frame, and
 * again by the scheduler's encoding before the commit) and deleted from Redis once read. A worker that dies
 * mid-stage loses its BullMQ lock and the job is retried by another (BullMQ's stalled-job check).
 * If Redis goes away, every pending task fails with ExecutorUnavailable: nothing stored is lost,
 * and the next run reuses it.
 */
export class BullmqExecutor implements Executor {
  readonly name = 'bullmq';
  readonly runId = randomBytes(6).toString('hex');
  readonly #coordinator = `${hostname()}:${process.pid}`;
  readonly #keys = runKeys(this.runId);
  readonly #pending = new Map<string, Pending>();
  readonly #refs = new Map<Digest, number>();
  readonly #uploads = new Map<Digest, Promise<unknown>>();
  #broken: ExecutorUnavailable | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastWorkerSeen = Date.now();
  #lastRefresh = Date.now();
  #warnedNoWorker = false;
  #closed = false;

  private constructor(
    private readonly store: Store,
    private readonly target: RedisTarget,
    private readonly redis: Redis,
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly connections: readonly Redis[],
  ) {}

  /** Connects (or throws RedisUnavailable), registers the run, and cleans up after dead runs. */
  static async open(store: Store, target: RedisTarget): Promise<BullmqExecutor> {
    const redis = await connectRedis(target, { name: 'basin-coordinator', retries: 10 });
    const connections = [redis.duplicate(), redis.duplicate()] as const;
    for (const c of connections) c.on('error', () => undefined); // reported through `redis` below
    const queue = new Queue(QUEUE, { connection: connections[0] });
    const events = new QueueEvents(QUEUE, { connection: connections[1] });
    const ex = new BullmqExecutor(store, target, redis, queue, events, connections);
    // Their connections retry on their own; the run fails only when the main connection gives up
    // (or a heartbeat fails), so a blip of a second or two is ridden out.
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    redis.on('end', () => ex.#fail(new Error('the connection closed and could not be re-established')));
    try {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      await ex.#beat();
      await redis.sadd(RUNS_SET, ex.runId);
      await ex.#sweepDeadRuns();
    } catch (e) {
      await ex.close();
      throw e instanceof RedisUnavailable ? e : new RedisUnavailable(`Redis at ${target.shown} failed while basin set up the run: ${ex.#why(e)}`);
    }
    events.on('progress', ({ jobId, data }) => ex.#notice(jobId, data as JobNotice));
    events.on('completed', ({ jobId, returnvalue }) => ex.#settle(jobId, returnvalue, undefined));
    events.on('failed', ({ jobId, failedReason }) => ex.#settle(jobId, undefined, failedReason));
    ex.#heartbeat = setInterval(() => void ex.#tick(), HEARTBEAT_MS);
    ex.#heartbeat.unref();
    return ex;
  }

  get #inputs(): BlobSpace {
    return { redis: this.redis, prefix: this.#keys.inputs, ttlMs: BLOB_TTL_MS };
  }

  async execute(task: Task, hooks: TaskHooks): Promise<Execution> {
    if (this.#broken) throw this.#broken;
    if (hooks.signal.aborted) throw new StageAborted();
    const jobId = `${this.runId}-${task.key}`;
    const inputs = Object.values(task.inputs).flatMap((nodes) => nodes.flatMap((n) => Object.values(n.outputs)));
    const done = new Promise<JobResult>((resolve, reject) => this.#pending.set(jobId, { hooks, resolve, reject }));
    // A rejection before anyone awaits `done` (Redis gone during the upload) must not be unhandled.
    done.catch(() => undefined);
    const onAbort = () => {
      this.#reject(jobId, new StageAborted());
      void this.queue.remove(jobId).catch(() => undefined); // a waiting job; an active one sees the run end
    };
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#retain(inputs);
      const data: JobData = {
        protocol: PROTOCOL,
        runId: this.runId,
        coordinator: this.#coordinator,
        nodeId: task.nodeId,
        stage: task.stage,
        kind: task.kind,
        kindVersion: task.kindVersion,
        key: task.key,
        fingerprint: task.fingerprint,
        params: task.params,
        inputs: task.inputs,
        workdir: task.workdir,
      };
      // Failures are not retried (stages are deterministic); a worker that dies is: BullMQ moves a
      // job whose lock expired back to the queue (the workers' maxStalledCount bounds how often).
      await this.queue.add(task.nodeId, data, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true });
      const result = await done;
      if ('orphaned' in result) throw new ExecutorUnavailable(`worker ${result.worker} found this run gone from Redis`);
      return { ...(await this.#collect(jobId, result)), worker: result.worker };
    } catch (e) {
      if (e instanceof StageAborted || e instanceof StageFailure || e instanceof ExecutorUnavailable || e instanceof InternalStageError) throw e;
      if (e instanceof Error && e.name === 'CorruptPayload') throw e; // the local cache's problem, reported as such
      if (this.#broken) throw this.#broken;
      throw new ExecutorUnavailable(`Redis at ${this.target.shown}: ${this.#why(e)}`);
    } finally {
      hooks.signal.removeEventListener('abort', onAbort);
      this.#pending.delete(jobId);
      await this.#release(inputs.map((r) => r.digest)).catch(() => undefined);
    }
  }

  /** Ends the run in Redis: removes its waiting jobs and every key it made; workers abort the rest. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (!this.#broken && this.redis.status === 'ready') {
      for (const jobId of this.#pending.keys()) await this.queue.remove(jobId).catch(() => undefined);
      await this.#deleteRun(this.runId).catch(() => undefined);
    }
    for (const jobId of [...this.#pending.keys()]) this.#reject(jobId, this.#broken ?? new StageAborted());
    await Promise.allSettled([this.queue.close(), this.events.close()]);
    // Connections handed to BullMQ are the caller's to close.
    for (const c of this.connections) c.disconnect();
    this.redis.disconnect();
  }

  /** Uploads each input frame once per run; counts the pending tasks that need it. */
  async #retain(refs: readonly OutputRef[]): Promise<void> {
    // Count all first: execute() releases all of them, whatever happens below.
    for (const d of refs) this.#refs.set(d.digest, (this.#refs.get(d.digest) ?? 0) + 1);
    for (const d of refs) {
      if (!this.#uploads.has(d.digest)) {
        const bytes = this.store.getPayload(d.digest); // verified by the store
        if (!bytes) throw new ExecutorUnavailable(`input ${d.digest} is missing from the cache; run again to recompute it`);
        this.#uploads.set(d.digest, putBlob(this.#inputs, d, bytes));
      }
    }
    await Promise.all(refs.map((d) => this.#uploads.get(d.digest)));
  }

  async #release(digests: readonly Digest[]): Promise<void> {
    const unused: Digest[] = [];
    for (const d of digests) {
      const n = (this.#refs.get(d) ?? 1) - 1;
      if (n > 0) {
        this.#refs.set(d, n);
        continue;
      }
      this.#refs.delete(d);
      this.#uploads.delete(d);
      unused.push(d);
    }
    if (unused.length && !this.#broken) await deleteBlobs(this.#inputs, unused);
  }

  /** Reads a finished job's outputs back, verified frame by frame, and deletes them from Redis. */
  async #collect(jobId: string, result: Extract<JobResult, { outputs: unknown }>): Promise<Execution> {
    const outputs: Record<string, Outputs[string]> = {};
    const space: BlobSpace = { redis: this.redis, prefix: this.#keys.outputs(jobId), ttlMs: BLOB_TTL_MS };
    try {
      for (const [name, ref] of Object.entries(result.outputs)) {
        const bytes = await getBlob(space, ref.digest);
        if (!bytes) throw new ExecutorUnavailable(`output "${name}" (${ref.digest}) of worker ${result.worker} is missing from Redis`);
        outputs[name] = decodeArtifact(ref, bytes);
      }
    } finally {
      if (!this.#broken) await deleteBlobs(space, Object.values(result.outputs).map((r) => r.digest)).catch(() => undefined);
    }
    return {
      outputs,
      ...(result.info === undefined ? {} : { info: result.info }),
      ...(result.summary === undefined ? {} : { summary: result.summary }),
      ...(result.highlights === undefined ? {} : { highlights: result.highlights }),
    };
  }

  #notice(jobId: string, n: JobNotice): void {
    const p = this.#pending.get(jobId);
    if (!p || typeof n !== 'object' || n === null) return;
    this.#lastWorkerSeen = Date.now();
    if (n.t === 'placed') p.hooks.placed?.(n.w);
    else if (n.t === 'progress') p.hooks.progress(n.p);
    else if (n.t === 'log') p.hooks.log(n.line, n.level);
  }

  #settle(jobId: string, returnvalue: unknown, failedReason: string | undefined): void {
    const p = this.#pending.get(jobId);
    if (!p) return;
    this.#pending.delete(jobId);
    if (failedReason === undefined) {
      const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as JobResult;
      if (r?.protocol !== PROTOCOL) return p.reject(new ExecutorUnavailable(`a worker answered with protocol ${String(r?.protocol)}, this basin speaks ${PROTOCOL}`));
      return p.resolve(r);
    }
    const f = decodeFailure(failedReason);
    if (!f) return p.reject(new ExecutorUnavailable(`the job failed in BullMQ: ${failedReason}`));
    switch (f.category) {
      case 'stage':
        return p.reject(new StageFailure(f.message, f.details));
      case 'aborted':
        return p.reject(new StageAborted());
      case 'refused':
        return p.reject(new ExecutorUnavailable(`worker ${f.worker} refused the job: ${f.message}`));
      default:
        return p.reject(new InternalStageError(`on worker ${f.worker}: ${f.message}`, f.stack));
    }
  }

  #reject(jobId: string, e: unknown): void {
    const p = this.#pending.get(jobId);
    if (!p) return;
    this.#pending.delete(jobId);
    p.reject(e);
  }

  /** Refreshes the run's alive key; warns once when jobs wait and no worker listens. */
  async #tick(): Promise<void> {
    try {
      await this.#beat();
      if (Date.now() - this.#lastRefresh > INPUT_REFRESH_MS) {
        this.#lastRefresh = Date.now();
        const refresh = this.redis.pipeline();
        for (const d of this.#uploads.keys()) refresh.pexpire(this.#keys.inputs + d, BLOB_TTL_MS);
        await refresh.exec();
      }
      if (this.#pending.size === 0 || this.#warnedNoWorker) return;
      if ((await this.queue.getWorkersCount()) > 0) {
        this.#lastWorkerSeen = Date.now();
      } else if (Date.now() - this.#lastWorkerSeen > NO_WORKER_WARN_MS) {
        this.#warnedNoWorker = true;
        const first = this.#pending.values().next().value;
        first?.hooks.log(`no basin worker is connected to ${this.target.shown}: start one with \`basin worker --redis URL\``, 'warn');
      }
    } catch (e) {
      this.#fail(e);
    }
  }

  async #beat(): Promise<void> {
    await this.redis.set(this.#keys.alive, this.#coordinator, 'PX', ALIVE_TTL_MS);
  }

  /** Deletes the keys of runs whose coordinator is gone (killed before it could clean up). */
  async #sweepDeadRuns(): Promise<void> {
    for (const id of await this.redis.smembers(RUNS_SET)) {
      if (id === this.runId || (await this.redis.exists(runKeys(id).alive)) === 1) continue;
      await this.#deleteRun(id);
    }
  }

  async #deleteRun(id: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', runKeys(id).all, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.redis.del(...keys);
    } while (cursor !== '0');
    await this.redis.srem(RUNS_SET, id);
  }

  #fail(e: unknown): void {
    if (this.#broken || this.#closed) return;
    this.#broken = new ExecutorUnavailable(`lost Redis at ${this.target.shown} (${this.#why(e)}); everything finished so far is stored: run again when Redis is back`);
    for (const jobId of [...this.#pending.keys()]) this.#reject(jobId, this.#broken);
  }

  #why(e: unknown): string {
    return redactMessage(e instanceof Error ? e.message : String(e), this.target);
  }
}
