import { availableParallelism } from 'node:os';
import { fileHashMemo } from '../../fingerprint/files.js';
import { makeOwner } from '../../store/lease.js';
import type { EventSink } from '../../run/events.js';
import { LocalExecutor } from '../../run/local-executor.js';
import { numericFacts } from '../../ml/backend.js';
import { stageOf } from '../../stages/registry.js';
import { runPipeline } from '../../run/scheduler.js';
import { resolveTargets, withAncestors } from '../../run/select.js';
import { jsonReporter } from '../../ui/json-reporter.js';
import { plainReporter } from '../../ui/plain-reporter.js';
import { cacheDir, openWorkspace } from '../context.js';
import { backendOption, COMMON, COMMON_HELP, intOption, parse, UsageError } from '../usage.js';

export const RUN_HELP = `Usage: basin run [FILE] [options]

Runs the pipeline in FILE (default: ./basin.yaml, else pipelines/quick.yaml): every node whose
key is not in the cache runs, the rest are reused. Exit code 0 when all succeed, 1 when a stage
failed, 2 for an invalid pipeline or command line, 130 when interrupted.

Options:
  --only STAGE     run only this stage or node and what it needs (repeatable)
  --force STAGE    rerun this stage or node even if cached (repeatable)
  -j, --jobs N     nodes running at once (default: the pipeline's settings.jobs, else the cores)
  -k, --keep-going after a failure, still run everything that does not depend on it
  --json           one JSON event per line on stdout instead of the line reporter
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
    },
    RUN_HELP,
  );
  if (values.help) {
    process.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one pipeline file, got ${positionals.length}`, RUN_HELP);
  const jobsFlag = intOption(values.jobs, 'jobs', RUN_HELP); // checked before the cache is created
  const { store, pipeline } = await openWorkspace(positionals[0], values.cache);
  const jobs = jobsFlag ?? pipeline.settings.jobs ?? availableParallelism();
  const backend = backendOption(values.backend, pipeline.settings.backend, RUN_HELP);
  const only = values.only?.length ? resolveTargets(pipeline, values.only) : undefined;
  const force = resolveTargets(pipeline, values.force ?? []);
  const nodes = only ? withAncestors(pipeline, only) : pipeline.nodes;

  const write = (t: string) => void process.stdout.write(t);
  const emit: EventSink = values.json ? jsonReporter(write) : plainReporter({ write, verbose: values.verbose ?? false });
  const executor = new LocalExecutor(store, jobs);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // the store is crash-safe: nothing finished is lost
    if (!values.json) process.stderr.write('\nbasin: interrupted; stopping running stages (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const memo = await fileHashMemo(store);
    emit({
      type: 'run-start',
      pipeline: pipeline.name,
      file: pipeline.file,
      cache: cacheDir(values.cache),
      jobs,
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
      owner: makeOwner(),
    });
    await memo.save();
    return summary.status === 'ok' ? 0 : summary.status === 'aborted' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await executor.close();
    await store.close();
  }
}
