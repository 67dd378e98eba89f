import pLimit from 'p-limit';
import type { Pipeline, PlannedNode } from '../config/types.js';
import { encodeOutputs } from '../fingerprint/artifact-codec.js';
import type { FileHashMemo } from '../fingerprint/files.js';
import type { BackendChoice } from '../ml/backend.js';
import type { NodeId, NodeKey } from '../fingerprint/ids.js';
import { nodeKey, type FingerprintRecord } from '../fingerprint/key.js';
import { StageAborted, StageFailure } from '../stages/failure.js';
import { stageOf } from '../stages/registry.js';
import type { NodeRecord, Store } from '../store/types.js';
import { checkHit, restoreFiles } from './cache-hit.js';
import type { EventSink, Failure, RunEvent, SkipCause } from './events.js';
import { ExecutorUnavailable, type Executor, type Task } from './executor.js';
import { explain, type Reason } from './explain.js';
import { Leases, waitForLease } from './leases.js';
import { InputUnavailable } from './local-executor.js';
import { fingerprintNode, MissingFile } from './node-key.js';
import { InternalStageError } from './pool.js';

export interface RunOptions {
  readonly pipeline: Pipeline;
  /** The nodes to consider, in topological order (all, or a --only selection with its ancestors). */
  readonly nodes: readonly PlannedNode[];
  readonly store: Store;
  readonly executor: Executor;
  readonly memo: FileHashMemo;
  /** The TF.js backend numeric stages are keyed and run with. */
  readonly backend: BackendChoice;
  /** Maximum number of nodes executing at once. */
  readonly jobs: number;
  /** Run everything independent of a failure instead of stopping new work at the first one. */
  readonly keepGoing: boolean;
  readonly force: ReadonlySet<NodeId>;
  readonly signal: AbortSignal;
  readonly emit: EventSink;
  /** Lease owner string of this run (see store/lease.ts). */
  readonly owner: string;
  readonly leaseTtlMs?: number;
}

type Outcome =
  | { readonly status: 'ok'; readonly record: NodeRecord }
  | { readonly status: 'failed' }
  | { readonly status: 'skipped' };

export type RunSummary = Extract<RunEvent, { type: 'run-end' }>;

/**
 * Runs a pipeline: one memoised promise per node, which first awaits its upstream nodes (holding no
 * limiter slot), then keys itself on their output digests, then either reports a verified cache hit
 * or takes a limiter slot and a cross-process lease and executes. Fail-fast (the default) starts no
 * new work after a failure but lets running nodes finish and be stored, as make and Snakemake do.
 */
export async function runPipeline(o: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const limit = pLimit(Math.max(1, o.jobs));
  const leases = new Leases(o.store, o.owner, o.leaseTtlMs ?? 30_000);
  const byId = new Map(o.nodes.map((n) => [n.id, n]));
  // Every pipeline node's matrix coordinates, for tasks (a stage gathering a sweep keys rows by them).
  const matrixOf = new Map(o.pipeline.nodes.map((n) => [n.id, n.matrix]));
  const settled = new Map<NodeId, Promise<Outcome>>();
  /** Keys being computed by a node of this run, and when that attempt ends. */
  const computing = new Map<NodeKey, { readonly node: NodeId; readonly done: Promise<void> }>();
  const counts = { ran: 0, cached: 0, failed: 0, skipped: 0, savedMs: 0 };
  let stopping: SkipCause | undefined;
  const onAbort = () => {
    stopping ??= { reason: 'aborted' };
  };
  o.signal.addEventListener('abort', onAbort, { once: true });

  const emit = o.emit;
  const settle = (id: NodeId): Promise<Outcome> => {
    let p = settled.get(id);
    if (!p) {
      const node = byId.get(id);
      if (!node) throw new Error(`internal error: node ${id} is not in this run`);
      // A throw here is a bug in basin, not in the stage: it fails this node, not the whole run.
      p = settleNode(node).catch((e: unknown) => fail(node, classify(e)));
      settled.set(id, p);
    }
    return p;
  };

  const skip = (node: PlannedNode, cause: SkipCause): Outcome => {
    counts.skipped++;
    emit({ type: 'node-skipped', node: node.id, stage: node.stage, cause });
    return { status: 'skipped' };
  };

  const fail = async (node: PlannedNode, failure: Failure, key?: NodeKey, fp?: FingerprintRecord): Promise<Outcome> => {
    counts.failed++;
    if (key && fp) {
      await o.store.putState(o.pipeline.name, { nodeId: node.id, key, fingerprint: fp, status: 'failed', error: failure.message, at: new Date().toISOString() });
    }
    emit({ type: 'node-failed', node: node.id, stage: node.stage, failure });
    if (!o.keepGoing) stopping ??= { reason: 'fail-fast' };
    return { status: 'failed' };
  };

  async function settleNode(node: PlannedNode): Promise<Outcome> {
    const upstreamIds = [...new Set(Object.values(node.inputs).flatMap((i) => i.nodes))];
    const upstream = await Promise.all(upstreamIds.map(settle));
    const records = new Map<NodeId, NodeRecord>();
    for (const [i, outcome] of upstream.entries()) {
      const upId = upstreamIds[i] as NodeId;
      if (outcome.status !== 'ok') return skip(node, { reason: 'upstream-failed', upstream: upId });
      records.set(upId, outcome.record);
    }
    if (stopping) return skip(node, stopping);

    let fp: FingerprintRecord;
    try {
      fp = (await fingerprintNode(node, { workdir: o.pipeline.workdir, backend: o.backend }, (id) => records.get(id)?.outputsDigest, o.memo)).record;
    } catch (e) {
      if (e instanceof MissingFile) return fail(node, { reason: 'missing-file', message: e.message });
      throw e;
    }
    const key = nodeKey(fp);
    const forced = o.force.has(node.id);
    const hit = forced ? undefined : await cached(node, key);
    if (hit) return hit;
    const reasons: Reason[] = forced ? [{ code: 'forced' }] : explain(fp, o.store.getState(o.pipeline.name, node.id));

    let announcedWait = false;
    for (;;) {
      // Two nodes of this run with one key (the same stage params and inputs under two names): one
      // computes, the other waits for it and takes the cache hit. Leases cannot tell them apart:
      // they share this process's owner.
      const sibling = computing.get(key);
      if (sibling) {
        if (!announcedWait) {
          emit({ type: 'node-waiting', node: node.id, stage: node.stage, owner: `this run (${sibling.node})` });
          announcedWait = true;
        }
        await sibling.done;
        if (!forced) {
          const done = await cached(node, key);
          if (done) return done;
        }
        continue; // the sibling failed or was aborted: this node tries for itself
      }
      let finished!: () => void;
      computing.set(key, { node: node.id, done: new Promise<void>((resolve) => (finished = resolve)) });
      const attempt = await limit(async (): Promise<Outcome | { status: 'busy'; owner: string }> => {
        if (stopping) return skip(node, stopping);
        const holder = await leases.acquire(key);
        if (holder !== undefined) return { status: 'busy', owner: holder };
        try {
          // Another run may have finished this node while we waited for the slot or the lease:
          // look again, past this process's read snapshot.
          o.store.refresh();
          const late = forced ? undefined : await cached(node, key);
          return late ?? (await execute(node, key, fp, reasons, records));
        } finally {
          await leases.release(key);
        }
      }).finally(() => {
        computing.delete(key);
        finished();
      });
      if (attempt.status !== 'busy') return attempt;
      if (!announcedWait) {
        emit({ type: 'node-waiting', node: node.id, stage: node.stage, owner: attempt.owner });
        announcedWait = true;
      }
      await waitForLease(o.store, key, o.signal);
      if (!forced) {
        const done = await cached(node, key);
        if (done) return done;
      }
    }
  }

  async function cached(node: PlannedNode, key: NodeKey): Promise<Outcome | undefined> {
    const check = await checkHit(o.store, key);
    if (!check.hit) {
      if (check.problem) emit({ type: 'node-log', node: node.id, stage: node.stage, line: `cache: ${check.problem}; recomputing`, level: 'warn' });
      return undefined;
    }
    const restores = stageOf(node.kind).restore?.(node.params) ?? [];
    if (restores.length) await restoreFiles(o.store, check.record, restores, o.pipeline.workdir);
    // Remember that this node id now stands at this key (e.g. after an edit was reverted), so
    // the next "why did this rerun" compares against what the user last ran.
    const state = o.store.getState(o.pipeline.name, node.id);
    if (state?.key !== key || state.status !== 'ok') {
      await o.store.putState(o.pipeline.name, { nodeId: node.id, key, fingerprint: check.record.fingerprint, status: 'ok', at: new Date().toISOString() });
    }
    counts.cached++;
    counts.savedMs += check.record.durationMs;
    const { summary, highlights } = check.record;
    emit({ type: 'node-cached', node: node.id, stage: node.stage, key, savedMs: check.record.durationMs, ...(summary ? { summary } : {}), ...(highlights?.length ? { highlights } : {}) });
    return { status: 'ok', record: check.record };
  }

  async function execute(
    node: PlannedNode,
    key: NodeKey,
    fp: FingerprintRecord,
    reasons: readonly Reason[],
    upstream: ReadonlyMap<NodeId, NodeRecord>,
  ): Promise<Outcome> {
    const stage = stageOf(node.kind);
    emit({ type: 'node-start', node: node.id, stage: node.stage, key, reasons, executor: o.executor.name });
    const task: Task = {
      nodeId: node.id,
      stage: node.stage,
      kind: node.kind,
      kindVersion: stage.version,
      params: node.params,
      inputs: Object.fromEntries(
        Object.entries(node.inputs).map(([name, input]) => [
          name,
          input.nodes.map((id) => ({ nodeId: id, matrix: matrixOf.get(id) ?? {}, outputs: (upstream.get(id) as NodeRecord).outputs })),
        ]),
      ),
      runtime: fp.runtime,
      workdir: o.pipeline.workdir,
      key,
      fingerprint: fp,
    };
    const startedAt = new Date();
    const t0 = performance.now();
    try {
      const result = await o.executor.execute(task, {
        signal: o.signal,
        progress: (p) => emit({ type: 'node-progress', node: node.id, stage: node.stage, ...p }),
        log: (line, level) => emit({ type: 'node-log', node: node.id, stage: node.stage, line, ...(level ? { level } : {}) }),
        placed: (worker) => emit({ type: 'node-placed', node: node.id, stage: node.stage, worker }),
      });
      const durationMs = Math.round(performance.now() - t0);
      const encoded = encodeOutputs(result.outputs);
      const previous = o.store.getState(o.pipeline.name, node.id);
      const previousRecord = previous ? o.store.getRecord(previous.key) : undefined;
      const record: NodeRecord = {
        format: 1,
        key,
        nodeId: node.id,
        pipeline: o.pipeline.name,
        fingerprint: fp,
        outputs: encoded.refs,
        outputsDigest: encoded.outputsDigest,
        startedAt: startedAt.toISOString(),
        durationMs,
        executor: result.worker === undefined ? o.executor.name : `${o.executor.name}:${result.worker}`,
        ...(result.info === undefined ? {} : { info: result.info }),
        ...(result.summary === undefined ? {} : { summary: result.summary }),
        ...(result.highlights?.length ? { highlights: result.highlights } : {}),
      };
      await o.store.commit(
        record,
        encoded.payloads,
        { pipeline: o.pipeline.name, state: { nodeId: node.id, key, fingerprint: fp, status: 'ok', at: new Date().toISOString() } },
        o.owner,
      );
      leases.forget(key); // released by the commit itself
      counts.ran++;
      const unchanged = previousRecord !== undefined && previousRecord.key !== key && previousRecord.outputsDigest === encoded.outputsDigest;
      emit({
        type: 'node-done',
        node: node.id,
        stage: node.stage,
        key,
        durationMs,
        unchanged,
        ...(result.summary ? { summary: result.summary } : {}),
        ...(result.highlights?.length ? { highlights: result.highlights } : {}),
      });
      return { status: 'ok', record };
    } catch (e) {
      if (e instanceof StageAborted || (o.signal.aborted && !(e instanceof StageFailure))) return skip(node, { reason: 'aborted' });
      return fail(node, classify(e), key, fp);
    }
  }

  try {
    await Promise.all(o.nodes.map((n) => settle(n.id)));
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    leases.stop();
    await o.store.flush();
  }
  const status = o.signal.aborted ? 'aborted' : counts.failed > 0 ? 'failed' : 'ok';
  const end: RunSummary = { type: 'run-end', status, ...counts, wallMs: Date.now() - started };
  emit(end);
  return end;
}

function classify(e: unknown): Failure {
  if (e instanceof StageFailure) return { reason: 'stage', message: e.message };
  if (e instanceof ExecutorUnavailable) return { reason: 'executor', message: e.message };
  if (e instanceof InputUnavailable) return { reason: 'corrupt', message: `${e.message}; run again to recompute it` };
  if (e instanceof Error && e.name === 'CorruptPayload') return { reason: 'corrupt', message: `${e.message}; run again to recompute it` };
  if (e instanceof InternalStageError) return { reason: 'internal', message: e.message, ...(e.workerStack ? { stack: e.workerStack } : {}) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { reason: 'internal', message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}
