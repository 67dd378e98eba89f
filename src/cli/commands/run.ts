import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileHashMemo } from '../../fingerprint/files.js';
import { makeOwner } from '../../store/lease.js';
import type { RunEvent } from '../../run/events.js';
import type { Executor } from '../../run/executor.js';
import { LocalExecutor, storeSource } from '../../run/local-executor.js';
import { numericFacts } from '../../ml/backend.js';
import { stageOf } from '../../stages/registry.js';
import { runPipeline } from '../../run/scheduler.js';
import { resolveTargets, withAncestors } from '../../run/select.js';
import { loadInk } from '../../ui/load-ink.js';
import { ProgressPublisher } from '../../ui/progress-publisher.js';
import { chooseUi, deferredReporter, jsonLinesReporter, linesReporter, UI_CHOICES, type Reporter, type UiChoice } from '../../ui/reporter.js';
import { cacheDir, openWorkspace } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, intOption, parse, UsageError } from '../usage.js';
import { redisOption } from './worker.js';

const EXECUTORS: readonly string[] = ['local', 'bullmq'];

export const RUN_HELP = `Usage: basin run [FILE] [options]

Runs the pipeline in FILE (default: ./basin.yaml, else pipelines/quick.yaml): every node whose
key is not in the cache runs, the rest are reused. Exit code 0 when all succeed, 1 when a stage
failed, 2 for an invalid pipeline or command line, 130 when interrupted.

Options:
  --only STAGE     run only this stage or node and what it needs (repeatable)
  --force STAGE    rerun this stage or node even if cached (repeatable)
  -j, --jobs N     nodes running at once (default: the pipeline's settings.jobs, else the cores)
  -k, --keep-going after a failure, still run everything that does not depend on it
  --ui UI          what to show: ink (a live view; the default on a terminal), plain (a line
                   per event; the default when output is not a terminal, and on CI), json
  --json           one JSON event per line on stdout (the same as --ui json)
  --executor E     where nodes run: local (this machine; the default) or bullmq (a queue on
                   Redis, taken by \`basin worker\` processes on any machine; default --jobs 64)
  --redis URL      Redis of --executor bullmq: default $BASIN_REDIS_URL, else the pipeline's
                   settings.redis, else redis://127.0.0.1:6379; rediss:// for TLS
${COMMON_HELP}`;

export async function runCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...COMMON,
      only: { type: 'string', multiple: true },
      force: { type: 'string', multiple: true },
      jobs: { type: 'string', short: 'j' },
      'keep-going': { type: 'boolean', short: 'k' },
      json: { type: 'boolean' },
      ui: { type: 'string' },
      executor: { type: 'string' },
      redis: { type: 'string' },
    },
    RUN_HELP,
  );
  if (values.help) {
    process.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, RUN_HELP);
  const jobsFlag = intOption(values.jobs, 'jobs', RUN_HELP); // checked before the cache is created
  const uiFlag = uiOption(values.ui, values.json ?? false);
  if (values.executor !== undefined && !EXECUTORS.includes(values.executor)) {
    throw new UsageError(`--executor expects one of ${EXECUTORS.join(', ')}, got "${values.executor}"`, RUN_HELP);
  }
  const { store, pipeline } = await openWorkspace(positionals[0], values.cache);
  const remote = (values.executor ?? pipeline.settings.executor ?? 'local') === 'bullmq';
  const redis = remote ? redisOption(values.redis, pipeline.settings.redis, RUN_HELP) : undefined;
  if (!remote && values.redis !== undefined) throw new UsageError('--redis goes with --executor bullmq', RUN_HELP);
  // Remote nodes wait in the queue for whichever worker is free: keep enough of them in flight.
  const jobs = jobsFlag ?? pipeline.settings.jobs ?? (remote ? 64 : availableParallelism());
  const backend = backendOption(values.backend, pipeline.settings.backend, RUN_HELP);
  const only = values.only?.length ? resolveTargets(pipeline, values.only) : undefined;
  const force = resolveTargets(pipeline, values.force ?? []);
  const nodes = only ? withAncestors(pipeline, only) : pipeline.nodes;

  const controller = new AbortController();
  // Every running stage listens to the signal (and the scheduler once): more than Node's default of
  // 10 listeners at -j 10 and up is expected, not a leak, and its warning would break the live view.
  setMaxListeners(Math.max(10, 2 * jobs + 10), controller.signal);
  let interrupts = 0;
  let reporter: Reporter | undefined;
  // SIGINT, SIGTERM, and q or Ctrl-C in the live UI (which reads keys in raw mode, where Ctrl-C
  // raises no signal) all come here: the first aborts, the second exits at once.
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // the store is crash-safe: nothing finished is lost
    reporter?.interrupted();
    controller.abort();
  };
  reporter = makeReporter(chooseUi(uiFlag, process.stdout.isTTY === true, process.env), uiFlag === 'ink', values.verbose ?? false, onInterrupt);
  const owner = makeOwner();
  const publisher = new ProgressPublisher({ store, owner, pipeline: pipeline.name, file: pipeline.file, jobs });
  const show = reporter.emit;
  const emit = (e: RunEvent) => {
    publisher.emit(e);
    show(e);
  };
  let executor: Executor;
  try {
    executor = redis ? await (await import('../../remote/bullmq-executor.js')).BullmqExecutor.open(store, redis) : new LocalExecutor(storeSource(store), jobs);
  } catch (e) {
    await reporter.close();
    await publisher.close();
    await store.close();
    throw e;
  }
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    const memo = await fileHashMemo(store);
    emit({
      type: 'run-start',
      pipeline: pipeline.name,
      file: pipeline.file,
      cache: cacheDir(values.cache),
      jobs,
      ...(redis ? { executor: `bullmq on ${redis.shown}` } : {}),
      total: nodes.length,
      ...(pipeline.stages.some((s) => stageOf(s.kind).numeric) ? { runtime: numericFacts(backend) } : {}),
      stages: pipeline.stages.map((s) => ({ name: s.name, nodes: nodes.filter((n) => n.stage === s.name).length })).filter((s) => s.nodes > 0),
    });
    const summary = await runPipeline({
      pipeline,
      nodes,
      store,
      executor,
      memo,
      backend,
      jobs,
      keepGoing: values['keep-going'] ?? pipeline.settings.keepGoing ?? false,
      force,
      signal: controller.signal,
      emit,
      owner,
    });
    await memo.save();
    return summary.status === 'ok' ? 0 : summary.status === 'aborted' ? 130 : 1;
  } finally {
    await reporter.close(); // first: an error below is printed on a terminal that is ours again
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    await publisher.close();
    await executor.close();
    await store.close();
  }
}

function uiOption(flag: string | undefined, json: boolean): UiChoice | undefined {
  if (flag !== undefined && !(UI_CHOICES as readonly string[]).includes(flag)) {
    throw new UsageError(`--ui expects one of ${UI_CHOICES.join(', ')}, got "${flag}"`, RUN_HELP);
  }
  if (json && flag !== undefined && flag !== 'json') throw new UsageError(`--json means --ui json; it cannot go with --ui ${flag}`, RUN_HELP);
  return json ? 'json' : (flag as UiChoice | undefined);
}

/**
 * The line and JSON reporters are small and loaded with this module; the live UI (Ink and React,
 * 0.5-1 s to load) only through import(), when it is used, and in auto mode only once there is
 * something to watch (see deferredReporter).
 */
function makeReporter(ui: UiChoice, forced: boolean, verbose: boolean, onInterrupt: () => void): Reporter {
  const write = (t: string) => void process.stdout.write(t);
  const writeErr = (t: string) => void process.stderr.write(t);
  if (ui === 'json') return jsonLinesReporter(write);
  const lines = linesReporter({ write, writeErr, verbose });
  if (ui === 'plain') return lines;
  return deferredReporter({
    load: async () => (await loadInk()).startInkUi({ verbose, onInterrupt }),
    fallback: lines,
    eager: forced,
    onLoadError: (e) => writeErr(`basin: the live view could not start (${e instanceof Error ? e.message : String(e)}); printing lines instead\n`),
  });
}

