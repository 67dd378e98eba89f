/**
 * Training benchmark for the `train` stage, against PyTorch measured in the same run:
 * 1. steps/s of one SGD step (784-100-10 and 784-512-512-10, batch 128) on wasm, each in its own
 *    process (test/bench/train-step.bench.ts), next to PyTorch CPU with one thread
 *    (test/bench/torch_peer.py) when `python3 -c "import torch"` works (Debian: python3-torch);
 *    target: basin >= 0.5x PyTorch per model.
 * 2. a sweep of 8 models through the real CLI with 1 worker and with 2 workers; target: the
 *    2-worker wall time is at most 0.55x the 1-worker one.
 * Beside each, the kernel floor: steps/s of the matrix products alone (train-step.bench.ts --floor),
 *    the most any TF.js step on this backend can reach.
 * Run with `npm run bench` (all benchmarks) or `node dist/test/bench/train.bench.js` after a build.
 *    The machine's own ceiling is printed beside it: the same ratio for a pure CPU loop in 1 vs 2
 *    worker threads (shared virtual cores rarely give 0.5).
 * Environment: BENCH_STEPS (default 300), BENCH_SWEEP_EPOCHS (default 60).
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const CLI = here('../../src/cli/main.js');
const STEP_BENCH = here('./train-step.bench.js');
const TORCH_PEER = here('../../../test/bench/torch_peer.py');
const STEPS = process.env['BENCH_STEPS'] ?? '300';
const SWEEP_EPOCHS = Number(process.env['BENCH_SWEEP_EPOCHS'] ?? 60);

function basinSteps(hidden: string, floor = false): number {
  const r = spawnSync(process.execPath, [STEP_BENCH, 'wasm', '--hidden', hidden, '--steps', STEPS, ...(floor ? ['--floor'] : [])], { encoding: 'utf8' });
  const m = /: ([0-9.]+) steps\/s/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`step benchmark failed:\n${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}

function python(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

function torchSteps(py: string, widths: string): number {
  const r = spawnSync(py, [TORCH_PEER, widths, '128', '3'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch peer failed:\n${r.stderr}`);
  return Number(r.stdout.trim());
}

function sweepSeconds(jobs: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'basin-sweep-'));
  try {
    writeFileSync(
      join(dir, 'basin.yaml'),
      `version: 1
name: sweep
settings: { backend: wasm }
stages:
  data: { kind: dataset, with: { source: mnist, train: 1000, attack: 0, test: 500 } }
  train:
    kind: train
    matrix: { seed: [0, 1, 2, 3, 4, 5, 6, 7] }
    inputs: { data: data }
    with: { seed: "\${matrix.seed}", maxEpochs: ${SWEEP_EPOCHS}, tolerance: 0, batchSize: 100 }
`,
    );
    const cache = join(dir, 'cache');
    // The dataset node first, so both timings cover the 8 training nodes only.
    const prep = spawnSync(process.execPath, [CLI, 'run', 'basin.yaml', '--only', 'data', '--cache', cache], { cwd: dir, encoding: 'utf8' });
    if (prep.status !== 0) throw new Error(prep.stdout + prep.stderr);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, 'run', 'basin.yaml', '--jobs', String(jobs), '--cache', cache], { cwd: dir, encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(r.stdout + r.stderr);
    return seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-item time of a pure CPU loop on 2 threads relative to 1: what perfect scaling looks like here. */
async function parallelCeiling(): Promise<number> {
  const code = `const { parentPort } = require('node:worker_threads'); let x = 0; for (let i = 0; i < 4e8; i++) x += i % 7; parentPort.postMessage(x);`;
  const time = async (n: number) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => new Promise((r) => new Worker(code, { eval: true }).once('message', r))));
    return performance.now() - t0;
  };
  const one = await time(1);
  return (await time(2)) / one / 2;
}

const py = python();
console.log(`basin training benchmark: wasm, batch 128, SGD (PyTorch peer: ${py ? `${py}, 1 thread` : 'not available'})`);
console.log('kernel floor: the matrix products alone that any TF.js step must run (train-step.bench.ts --floor)');
console.log(`${'model'.padEnd(20)} ${'basin steps/s'.padStart(14)} ${'PyTorch'.padStart(10)} ${'basin/PyTorch'.padStart(14)} ${'target'.padStart(8)} ${'floor steps/s'.padStart(14)} ${'floor/PyTorch'.padStart(14)}`);
for (const [hidden, widths] of [['100', '784,100,10'], ['512,512', '784,512,512,10']] as const) {
  const mine = basinSteps(hidden);
  const floor = basinSteps(hidden, true);
  const peer = py ? torchSteps(py, widths) : undefined;
  const ratio = (v: number) => (peer ? (v / peer).toFixed(2) : '-');
  console.log(
    `${widths.replaceAll(',', '-').padEnd(20)} ${mine.toFixed(1).padStart(14)} ${(peer?.toFixed(1) ?? '-').padStart(10)} ${ratio(mine).padStart(14)} ${'>= 0.5'.padStart(8)} ${floor.toFixed(1).padStart(14)} ${ratio(floor).padStart(14)}`,
  );
}
const one = sweepSeconds(1);
const two = sweepSeconds(2);
const ceiling = await parallelCeiling();
console.log(`sweep of 8 models (784-100-10, ${SWEEP_EPOCHS} epochs each): 1 worker ${one.toFixed(1)} s, 2 workers ${two.toFixed(1)} s, ratio ${(two / one).toFixed(2)} (target <= 0.55; the same ratio for a pure CPU loop on this machine: ${ceiling.toFixed(2)})`);
