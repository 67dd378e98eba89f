import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { canonicalJson } from '../fingerprint/canonical.js';
import { encodeOutputs } from '../fingerprint/artifact-codec.js';
import { FileHashMemo, hashFiles } from '../fingerprint/files.js';
import type { Digest } from '../fingerprint/ids.js';
import { nodeKey } from '../fingerprint/key.js';
import { BACKEND_CHOICES, backendAvailable, type BackendChoice, type BackendName } from '../ml/backend.js';
import type { Task, TaskHooks } from '../run/executor.js';
import { LocalExecutor, type PayloadSource } from '../run/local-executor.js';
import { InternalStageError } from '../run/pool.js';
import { StageAborted, StageFailure } from '../stages/failure.js';
import { stageKinds, stageOf } from '../stages/registry.js';
import type { Progress } from '../stages/types.js';
import type { JsonValue } from '../util/json.js';
import { BlobError, getBlob, putBlob, type BlobSpace } from './blobs.js';
import { encodeFailure, PROTOCOL, QUEUE, runKeys, type JobData, type JobFailure, type JobNotice, type JobResult } from './protocol.js';
import { connectRedis, redactMessage, type RedisTarget } from './redis.js';

export interface RemoteWorkerOptions {
  readonly target: RedisTarget;
  /** Jobs at once (BullMQ concurrency) and worker threads in this process's pool. */
  readonly jobs: number;
  /** Shown in the coordinator's UI and records; default `host:pid`. */
  readonly name?: string;
  /** Run `command` stages (arbitrary shell commands from whoever can enqueue jobs). */
  readonly allowShell: boolean;
  /** Where stages that read workspace files look for them; default: the coordinator's path (a shared filesystem). */
  readonly workdir?: string;
  /** BullMQ lock duration: a worker silent this long (killed, partitioned) loses its job to another. */
  readonly lockMs: number;
  /** Bytes of input payloads kept between jobs (a dataset used by every training job is fetched once). */
  readonly cacheBytes: number;
  /** One line per job event, for the worker's terminal. */
  readonly log: (line: string) => void;
  /** Redis went away for good (reconnection gave up): the worker can do nothing more. */
  readonly onLost: (message: string) => void;
}

/** How often a running job checks that its run still exists (and aborts when it does not). */
const RUN_CHECK_MS = 2_000;
/** Progress notices per job per second at most; logs and the last progress always go through. */
const PROGRESS_EVERY_MS = 250;
/** Outputs are read by the coordinator as soon as the job completes; the expiry covers one that died. */
const BLOB_TTL_MS = 10 * 60_000;

/** A job this worker will not run; the coordinator shows the message with the worker's name. */
class Refused extends Error {}

/**
 * `basin worker`: takes jobs from the queue, checks it can honour them (stage version, runtime
 * facts, workspace files, shell permission; then the node key, recomputed), fetches the inputs it
 * lacks, runs the stage with the same code as a local run, and sends the outputs back.
 *
 * CPU-bound stages run on this process's worker threads, so its event loop stays free to renew
 * BullMQ's job locks: a busy worker is never mistaken for a dead one.
 */
export class RemoteWorker {
  readonly name: string;
  readonly #executor: LocalExecutor;
  readonly #cache = new FrameCache();
  readonly #memo = new FileHashMemo();
  #worker: Worker | undefined;
  #redis: Redis | undefined;
  #blocking: Redis | undefined;
  readonly counts = { ran: 0, failed: 0, refused: 0, orphaned: 0 };

  constructor(private readonly o: RemoteWorkerOptions) {
    this.name = o.name ?? `${hostname()}:${process.pid}`;
    // Its own source is never used: every job reads from its run's key space (see #source).
    this.#executor = new LocalExecutor(() => {
      throw new Error('internal error: a worker task without a payload source');
    }, o.jobs);
    this.#cache.budget = o.cacheBytes;
  }

  async start(): Promise<void> {
    // A worker rides out longer Redis outages than a coordinator: it holds no run state.
    const redis = await connectRedis(this.o.target, { name: 'basin-worker', retries: 30 });
    this.#redis = redis;
    redis.on('end', () => this.o.onLost(`lost Redis at ${this.o.target.shown} and could not reconnect; running jobs go back to the queue when their locks expire`));
    this.#blocking = redis.duplicate();
    this.#blocking.on('error', () => undefined); // the Worker reports its errors
    this.#worker = new Worker(QUEUE, (job: Job<JobData>) => this.#process(job), {
      connection: this.#blocking,
      concurrency: this.o.jobs,
      lockDuration: this.o.lockMs,
      stalledInterval: Math.max(1000, Math.floor(this.o.lockMs / 2)),
      maxStalledCount: 2,
      name: this.name,
    });
    this.#worker.on('error', (e) => this.o.log(`redis: ${redactMessage(e.message, this.o.target)}`));
    await this.#worker.waitUntilReady();
  }

  /** Stops taking jobs; waits for running ones to finish unless `force`. */
  async close(force = false): Promise<void> {
    await this.#worker?.close(force);
    await this.#executor.close();
    // Connections handed to BullMQ are the caller's to close.
    this.#blocking?.disconnect();
    this.#redis?.disconnect();
  }

  async #process(job: Job<JobData>): Promise<JobResult> {
    const d = job.data;
    const redis = this.#redis as Redis;
    const keys = runKeys(d.runId);
    const label = `${d.nodeId} (run ${d.runId} from ${d.coordinator})`;
    if ((await redis.exists(keys.alive)) === 0) {
      this.counts.orphaned++;
      this.o.log(`drop    ${label}: its run is gone`);
      return { protocol: PROTOCOL, worker: this.name, orphaned: true };
    }
    const notify = notifier(job, this.name);
    const controller = new AbortController();
    const watch = setInterval(() => {
      void redis.exists(keys.alive).then(
        (n) => n === 0 && controller.abort(),
        () => undefined,
      );
    }, RUN_CHECK_MS);
    const t0 = performance.now();
    try {
      this.#check(d);
      await notify.send({ t: 'placed', w: this.name });
      this.o.log(`run     ${label}`);
      await this.#checkFiles(d);
      const hooks: TaskHooks = {
        signal: controller.signal,
        progress: (p) => notify.progress(p),
        log: (line, level) => notify.send({ t: 'log', w: this.name, line, ...(level ? { level } : {}) }),
      };
      const task: Task = { ...d, runtime: d.fingerprint.runtime, workdir: this.o.workdir ?? d.workdir };
      const result = await this.#executor.execute(task, hooks, this.#source({ redis, prefix: keys.inputs, ttlMs: BLOB_TTL_MS }));
      await notify.flush();
      // A run that ended meanwhile (interrupted, or its coordinator died) gets nothing uploaded.
      if (controller.signal.aborted || (await redis.exists(keys.alive)) === 0) throw new StageAborted();
      const encoded = encodeOutputs(result.outputs);
      const out: BlobSpace = { redis, prefix: keys.outputs(String(job.id)), ttlMs: BLOB_TTL_MS };
      for (const ref of Object.values(encoded.refs)) await putBlob(out, ref, encoded.payloads.get(ref.digest) as Uint8Array);
      this.counts.ran++;
      this.o.log(`done    ${label}  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return {
        protocol: PROTOCOL,
        worker: this.name,
        outputs: encoded.refs,
        outputsDigest: encoded.outputsDigest,
        ...(result.info === undefined ? {} : { info: result.info }),
        ...(result.summary === undefined ? {} : { summary: result.summary }),
        ...(result.highlights === undefined ? {} : { highlights: result.highlights }),
      };
    } catch (e) {
      await notify.flush().catch(() => undefined);
      const f = this.#failure(e, controller.signal.aborted);
      if (f.category === 'refused') this.counts.refused++;
      else this.counts.failed++;
      this.o.log(`${f.category === 'refused' ? 'refuse' : f.category === 'aborted' ? 'abort ' : 'FAILED'}  ${label}: ${f.message}`);
      // Unrecoverable: BullMQ does not retry. Stages are deterministic; a dead worker is retried
      // through the stalled-job check instead, which this does not affect.
      throw new UnrecoverableError(encodeFailure(f));
    } finally {
      clearInterval(watch);
    }
  }

  /** Throws Refused when this worker cannot honour the job exactly as it was keyed. */
  #check(d: JobData): void {
    if (d.protocol !== PROTOCOL) throw new Refused(`it speaks protocol ${String(d.protocol)}, this worker ${PROTOCOL}: run the same basin version on both sides`);
    if (!stageKinds.includes(d.kind)) throw new Refused(`this worker's basin has no stage kind "${d.kind}": update it`);
    const stage = stageOf(d.kind);
    if (stage.version !== d.kindVersion) {
      throw new Refused(`stage ${d.kind} is v${d.kindVersion} on the coordinator and v${stage.version} here: run the same basin version on both sides`);
    }
    if (stage.runsShell && !this.o.allowShell) {
      throw new Refused(`${d.kind} stages run shell commands; this worker runs them only when started with --allow-shell`);
    }
    const wanted = d.fingerprint.runtime;
    const backend = wanted['backend'];
    if (typeof backend === 'string' && (BACKEND_CHOICES as readonly string[]).includes(backend) && backend !== 'auto' && !backendAvailable(backend as BackendName)) {
      throw new Refused(`the node is keyed for TF.js backend "${backend}", which this machine lacks${backend === 'node' ? ' (@tensorflow/tfjs-node is not installed)' : ''}`);
    }
    const facts = stage.facts?.(d.params as never, { workdir: this.o.workdir ?? d.workdir, backend: (typeof backend === 'string' ? backend : 'auto') as BackendChoice }) ?? {};
    const runtime = facts.runtime ?? {};
    if (canonicalJson(runtime as JsonValue) !== canonicalJson(wanted as JsonValue)) {
      throw new Refused(`its runtime facts ${canonicalJson(wanted as JsonValue)} differ from this worker's ${canonicalJson(runtime as JsonValue)}`);
    }
    if (nodeKey(d.fingerprint) !== d.key) throw new Refused('its key does not match its fingerprint: a different basin version made it');
  }

  /** Inputs from this worker's cache, else from the run's key space in Redis (verified there). */
  #source(space: BlobSpace): PayloadSource {
    return async (ref, output, nodeId) => {
      let bytes = this.#cache.get(ref.digest);
      if (!bytes) {
        bytes = await getBlob(space, ref.digest);
        if (!bytes) throw new Refused(`input "${output}" of ${nodeId} (${ref.digest}) is not in Redis: the run ended or Redis lost it`);
        this.#cache.put(ref.digest, bytes);
      }
      // A copy: the pool moves array buffers to its thread (detaching them here); the cached bytes stay.
      return bytes.slice();
    };
  }

  /** Workspace files in the key must be here, with the same content (a shared filesystem). */
  async #checkFiles(d: JobData): Promise<void> {
    const files = Object.keys(d.fingerprint.files);
    if (files.length === 0) return;
    const workdir = this.o.workdir ?? d.workdir;
    if (!existsSync(workdir)) throw new Refused(`it reads workspace files from ${workdir}, which does not exist here: share the workspace at that path, or start the worker with --workdir`);
    const hashed = await hashFiles(files, workdir, this.#memo);
    if ('missing' in hashed) throw new Refused(`workspace file "${hashed.missing}" is missing under ${workdir}`);
    for (const f of files) {
      if (hashed[f] !== d.fingerprint.files[f]) throw new Refused(`workspace file "${f}" under ${workdir} differs from the coordinator's`);
    }
  }

  #failure(e: unknown, aborted: boolean): Omit<JobFailure, 'basin'> {
    const worker = this.name;
    if (e instanceof Refused) return { category: 'refused', worker, message: e.message };
    if (e instanceof BlobError) return { category: 'refused', worker, message: e.message };
    if (e instanceof StageAborted || aborted) return { category: 'aborted', worker, message: 'the run ended' };
    if (e instanceof StageFailure) return { category: 'stage', worker, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) };
    const err = e instanceof Error ? e : new Error(String(e));
    const stack = e instanceof InternalStageError ? e.workerStack : err.stack;
    return { category: 'internal', worker, message: redactMessage(err.message, this.o.target), ...(stack ? { stack } : {}) };
  }
}

/**
 * Progress notices of one job, throttled (a stage may report every step), in order: each waits
 * for the one before, so a log line never overtakes the progress it follows.
 */
function notifier(job: Job<JobData>, worker: string) {
  let chain: Promise<unknown> = Promise.resolve();
  let last = 0;
  let held: Progress | undefined;
  let timer: NodeJS.Timeout | undefined;
  const send = (n: JobNotice): Promise<unknown> => {
    chain = chain.then(() => job.updateProgress(n as object)).catch(() => undefined);
    return chain;
  };
  const release = () => {
    timer = undefined;
    if (!held) return;
    const p = held;
    held = undefined;
    last = Date.now();
    void send({ t: 'progress', w: worker, p });
  };
  return {
    send,
    progress(p: Progress): void {
      held = p;
      const wait = PROGRESS_EVERY_MS - (Date.now() - last);
      if (wait <= 0) release();
      else timer ??= setTimeout(release, wait);
    },
    flush(): Promise<unknown> {
      if (timer) clearTimeout(timer);
      release();
      return chain;
    },
  };
}

/** Input frames by digest, least recently used dropped first once over budget. */
class FrameCache {
  budget = 0;
  #bytes = 0;
  readonly #frames = new Map<Digest, Uint8Array>();

  get(d: Digest): Uint8Array | undefined {
    const f = this.#frames.get(d);
    if (f) {
      this.#frames.delete(d);
      this.#frames.set(d, f);
    }
    return f;
  }

  put(d: Digest, frame: Uint8Array): void {
    if (frame.byteLength > this.budget || this.#frames.has(d)) return;
    this.#frames.set(d, frame);
    this.#bytes += frame.byteLength;
    for (const [k, f] of this.#frames) {
      if (this.#bytes <= this.budget) break;
      this.#frames.delete(k);
      this.#bytes -= f.byteLength;
    }
  }
}
