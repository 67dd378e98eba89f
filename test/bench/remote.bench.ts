/**
 * Distributed executor benchmark: N trivial nodes (probe stages that do nothing) through one
 * coordinator and BullMQ on a loopback redis-server, with 1, 2 and 4 `basin worker` processes,
 * against the same pipeline run locally in the same session; then M nodes that each take SLEEP_MS
 * (a sleep: on one 2-core machine, more worker processes cannot add CPU, so waiting stands in for
 * work done on machines of their own) to show how nodes spread over worker processes. Times are the runs' own wall
 * clocks (run-end's wallMs: process start-up excluded, the same for both). Needs redis-server.
 * Run with `npm run bench:remote`. Environment: BENCH_N (default 300), BENCH_M (default 24),
 * BENCH_SLEEP_MS (default 250), BENCH_REPS (default 2: the best of them is reported).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, REDIS_BIN, startRedis, startWorker, type WorkerProcess } from '../remote/redis-rig.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const N = Number(process.env['BENCH_N'] ?? 300);
const M = Number(process.env['BENCH_M'] ?? 24);
const SLEEP_MS = Number(process.env['BENCH_SLEEP_MS'] ?? 250);
const REPS = Number(process.env['BENCH_REPS'] ?? 2);

function pipeline(n: number, sleepMs: number): string {
  return `version: 1
name: bench
stages:
  node:
    kind: probe
    matrix: { i: [${Array.from({ length: n }, (_, i) => i).join(', ')}] }
    with: { value: "\${matrix.i}", sleepMs: ${sleepMs}, steps: 1 }
`;
}

/** One cold run (fresh cache); returns its wall time in seconds. */
function run(dir: string, args: readonly string[]): number {
  const cache = mkdtempSync(join(dir, 'cache-'));
  const r = spawnSync(process.execPath, [CLI, 'run', 'basin.yaml', '--json', '--cache', cache, ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  rmSync(cache, { recursive: true, force: true });
  const end = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; wallMs?: number; ran?: number }).find((e) => e.type === 'run-end');
  if (r.status !== 0 || !end?.wallMs) throw new Error(`basin run ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return end.wallMs / 1000;
}

function best(f: () => number): number {
  return Math.min(...Array.from({ length: REPS }, f));
}

async function main(): Promise<void> {
  if (!REDIS_BIN) {
    process.stdout.write('remote bench: redis-server is not installed (apt-get install redis-server); nothing measured\n');
    return;
  }
  const cores = availableParallelism();
  process.stdout.write(`remote bench: ${cores} cores, N ${N} trivial nodes, M ${M} nodes of ${SLEEP_MS} ms, best of ${REPS}\n\n`);
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'basin-remote-bench-'));
  try {
    for (const [title, n, sleep] of [['trivial', N, 0], [`${SLEEP_MS} ms`, M, SLEEP_MS]] as const) {
      writeFileSync(join(dir, 'basin.yaml'), pipeline(n, sleep));
      const local = best(() => run(dir, ['-j', String(cores)]));
      process.stdout.write(`${title}: local (-j ${cores}, worker threads): ${local.toFixed(2)} s, ${(n / local).toFixed(0)} nodes/s\n`);
      for (const workers of [1, 2, 4]) {
        const procs: WorkerProcess[] = [];
        for (let w = 0; w < workers; w++) procs.push(startWorker(dir, '--redis', redis.url, '--name', `w${w}`, '--jobs', '1'));
        await Promise.all(procs.map((p) => p.waitFor('taking jobs')));
        const t = best(() => run(dir, ['--executor', 'bullmq', '--redis', redis.url]));
        await Promise.all(procs.map((p) => p.stop()));
        const overheadMs = ((t - local) / n) * 1000;
        process.stdout.write(
          `${title}: bullmq, ${workers} worker process${workers > 1 ? 'es' : ''} (1 job each): ${t.toFixed(2)} s, ${(n / t).toFixed(0)} nodes/s, ` +
            `${(t / local).toFixed(2)}x local wall, ${overheadMs >= 0 ? '+' : ''}${overheadMs.toFixed(1)} ms per node vs local\n`,
        );
      }
      process.stdout.write('\n');
    }
  } finally {
    await redis.stop();
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
