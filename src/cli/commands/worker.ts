import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { REDIS_ENV, redisTarget, type RedisTarget } from '../../remote/url.js';
import { intOption, parse, UsageError } from '../usage.js';

export const WORKER_HELP = `Usage: basin worker [options]

Takes nodes of distributed runs (\`basin run --executor bullmq\`) from the BullMQ queue on Redis
and runs them with this machine's basin, until interrupted. Inputs come from Redis (verified by
digest) and outputs go back to the coordinator, which stores them. A worker refuses a job it
cannot honour exactly as keyed (another stage version or TF.js backend, missing workspace files)
and says why in the coordinator's output.

Options:
  --redis URL      the Redis of the runs: redis://host:6379, rediss://user:password@host:6380
                   (TLS); default $${REDIS_ENV}, else redis://127.0.0.1:6379. Credentials go in
                   the URL or the environment only, and are never printed
  -j, --jobs N     nodes at once, each on its own worker thread (default: the cores)
  --name NAME      how the coordinator labels this worker (default: host:pid)
  --allow-shell    also run \`command\` stages: they execute shell commands written by whoever
                   can enqueue jobs on this Redis, so they are refused unless this is given
  --workdir DIR    where stages find workspace files (default: the coordinator's pipeline
                   directory, for workers on a shared filesystem)
  --lock-ms MS     BullMQ lock duration: a worker silent this long (killed, cut off) loses its
                   job to another worker (default 30000)
  --cache-mb MB    input payloads kept between jobs (default 1024)
  -h, --help       this help

Ctrl-C stops taking jobs and lets running ones finish; a second Ctrl-C exits at once (their
jobs go back to the queue when their locks expire).`;

/** --redis, else $BASIN_REDIS_URL, else the pipeline's settings.redis, else loopback. */
export function redisOption(flag: string | undefined, fromPipeline: string | undefined, help: string): RedisTarget {
  const url = flag ?? process.env[REDIS_ENV] ?? fromPipeline ?? 'redis://127.0.0.1:6379';
  try {
    return redisTarget(url);
  } catch (e) {
    throw new UsageError(`${flag !== undefined ? '--redis' : process.env[REDIS_ENV] !== undefined ? `$${REDIS_ENV}` : 'settings.redis'}: ${(e as Error).message}`, help);
  }
}

export async function workerCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      redis: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      name: { type: 'string' },
      'allow-shell': { type: 'boolean' },
      workdir: { type: 'string' },
      'lock-ms': { type: 'string' },
      'cache-mb': { type: 'string' },
    },
    WORKER_HELP,
  );
  if (values.help) {
    process.stdout.write(`${WORKER_HELP}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`basin worker takes no pipeline file (the coordinator sends the work), got "${positionals[0]}"`, WORKER_HELP);
  const target = redisOption(values.redis, undefined, WORKER_HELP);
  const jobs = intOption(values.jobs, 'jobs', WORKER_HELP) ?? availableParallelism();
  const lockMs = intOption(values['lock-ms'], 'lock-ms', WORKER_HELP) ?? 30_000;
  if (lockMs < 1000) throw new UsageError(`--lock-ms must be at least 1000, got ${lockMs}`, WORKER_HELP);
  const cacheMb = intOption(values['cache-mb'], 'cache-mb', WORKER_HELP) ?? 1024;
  const allowShell = values['allow-shell'] ?? false;
  const log = (line: string) => void process.stdout.write(`${line}\n`);

  const { RemoteWorker } = await import('../../remote/worker.js'); // BullMQ and ioredis: only here
  let lost: ((message: string) => void) | undefined;
  const worker = new RemoteWorker({
    target,
    jobs,
    ...(values.name ? { name: values.name } : {}),
    allowShell,
    ...(values.workdir ? { workdir: resolve(values.workdir) } : {}),
    lockMs,
    cacheBytes: cacheMb * 1024 * 1024,
    log,
    onLost: (message) => lost?.(message),
  });
  await worker.start();
  log(`basin worker ${worker.name}: taking jobs from ${target.shown}, ${jobs} at once, shell stages ${allowShell ? 'allowed' : 'refused'}`);

  let interrupts = 0;
  const stopped = new Promise<number>((resolveStop) => {
    const onSignal = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      log('stopping: running jobs finish first (Ctrl-C again to exit now)');
      void worker.close().then(() => resolveStop(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    lost = (message) => {
      process.stderr.write(`basin: ${message}\n`);
      void worker.close(true).finally(() => resolveStop(1));
    };
  });
  const code = await stopped;
  const c = worker.counts;
  log(`basin worker ${worker.name}: ${c.ran} ran, ${c.failed} failed, ${c.refused} refused, ${c.orphaned} dropped`);
  return code;
}
