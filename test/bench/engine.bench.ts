/**
 * Engine benchmark: the DAG shape of the study (prep -> N train -> N hessian -> correlate) with
 * trivial shell stages, timed as whole processes, against the issue's targets and, when `snakemake`
 * is on PATH, against Snakemake on the same DAG in the same run. Run with `npm run bench`.
 * Environment: BENCH_REPS (default 3), BENCH_N (default 500), BENCH_PLAN_N (default 5000).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const RSS_PROBE = fileURLToPath(new URL('../../../test/bench/rss-probe.mjs', import.meta.url));
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const N = Number(process.env['BENCH_N'] ?? 500);
const PLAN_N = Number(process.env['BENCH_PLAN_N'] ?? 5000);
const JOBS = availableParallelism();

interface Timing {
  readonly seconds: number;
  readonly rssMB: number;
}

function timed(cmd: string, args: readonly string[], cwd: string): Timing {
  const rssFile = join(cwd, `.rss-${process.hrtime.bigint()}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BASIN_BENCH_RSS: rssFile } });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.toString().slice(-2000)}`);
  let rssMB = NaN;
  try {
    rssMB = Number(readFileSync(rssFile, 'utf8')) / 2 ** 20;
    rmSync(rssFile);
  } catch {
    /* not a node process */
  }
  return { seconds, rssMB };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function basinPipeline(n: number): string {
  const seeds = Array.from({ length: n }, (_, i) => i).join(', ');
  return `version: 1
name: bench
stages:
  prep: { kind: command, with: { run: "echo prep" } }
  train:
    kind: command
    matrix: { seed: [${seeds}] }
    inputs: { data: prep }
    with: { run: "echo train \${matrix.seed}" }
  hessian: { kind: command, foreach: train, inputs: { model: train }, with: { run: "echo hessian \${matrix.seed}" } }
  correlate: { kind: command, inputs: { models: train, hessian: hessian }, with: { run: "echo correlate" } }
`;
}

function snakefile(n: number): string {
  return `N = ${n}
rule all:
    input: "corr.txt"
rule prep:
    output: "prep.txt"
    shell: "echo prep > {output}"
rule train:
    input: "prep.txt"
    output: "train/{s}.txt"
    shell: "echo train {wildcards.s} > {output}"
rule hessian:
    input: "train/{s}.txt"
    output: "hessian/{s}.txt"
    shell: "echo hessian {wildcards.s} > {output}"
rule correlate:
    input: expand("hessian/{s}.txt", s=range(N)), expand("train/{s}.txt", s=range(N))
    output: "corr.txt"
    shell: "echo correlate > {output}"
`;
}

const basin = (dir: string, ...args: string[]) => timed(process.execPath, ['--import', RSS_PROBE, CLI, ...args, '--cache', join(dir, 'cache')], dir);

function measureBasin() {
  const full: Timing[] = [];
  const noop: Timing[] = [];
  const plan: Timing[] = [];
  for (let i = 0; i < REPS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'basin-bench-'));
    writeFileSync(join(dir, 'basin.yaml'), basinPipeline(N));
    full.push(basin(dir, 'run', 'basin.yaml', '--jobs', String(JOBS)));
    noop.push(basin(dir, 'run', 'basin.yaml', '--jobs', String(JOBS)));
    writeFileSync(join(dir, 'plan.yaml'), basinPipeline(PLAN_N));
    plan.push(basin(dir, 'plan', 'plan.yaml'));
    rmSync(dir, { recursive: true, force: true });
  }
  return { full, noop, plan };
}

function hasSnakemake(): boolean {
  return spawnSync('snakemake', ['--version'], { stdio: 'ignore' }).status === 0;
}

function measureSnakemake() {
  const full: Timing[] = [];
  const noop: Timing[] = [];
  const plan: Timing[] = [];
  for (let i = 0; i < Math.min(REPS, 2); i++) {
    const dir = mkdtempSync(join(tmpdir(), 'snake-bench-'));
    writeFileSync(join(dir, 'Snakefile'), snakefile(N));
    full.push(timed('snakemake', ['--cores', String(JOBS), '--quiet'], dir));
    noop.push(timed('snakemake', ['--cores', String(JOBS), '--quiet'], dir));
    const planDir = join(dir, 'plan');
    mkdirSync(planDir);
    writeFileSync(join(planDir, 'Snakefile'), snakefile(PLAN_N));
    plan.push(timed('/usr/bin/time', ['-f', '%M', '-o', 'rss.txt', 'snakemake', '-n', '--cores', String(JOBS), '--quiet'], planDir));
    const kb = Number(readFileSync(join(planDir, 'rss.txt'), 'utf8').trim().split('\n').pop());
    plan[plan.length - 1] = { seconds: (plan.at(-1) as Timing).seconds, rssMB: kb / 1024 };
    rmSync(dir, { recursive: true, force: true });
  }
  return { full, noop, plan };
}

const b = measureBasin();
const s = hasSnakemake() ? measureSnakemake() : undefined;
const rows: [string, number, string, number | undefined, string][] = [
  [`N=${N} full run (${2 * N + 2} nodes), s`, median(b.full.map((t) => t.seconds)), '<= 8', s && median(s.full.map((t) => t.seconds)), 'lower'],
  [`N=${N} no-op rerun, s`, median(b.noop.map((t) => t.seconds)), '<= 0.3', s && median(s.noop.map((t) => t.seconds)), 'lower'],
  [`N=${PLAN_N} dry-run plan, s`, median(b.plan.map((t) => t.seconds)), '<= 1.5', s && median(s.plan.map((t) => t.seconds)), 'lower'],
  [`N=${PLAN_N} plan peak RSS, MB`, median(b.plan.map((t) => t.rssMB)), '<= 150', s && median(s.plan.map((t) => t.rssMB)), 'lower'],
];
console.log(`basin engine benchmark: ${JOBS} cores, jobs ${JOBS}, median of ${REPS} (snakemake: ${s ? `median of ${Math.min(REPS, 2)}` : 'not on PATH'})`);
console.log(`${'measure'.padEnd(34)} ${'basin'.padStart(8)} ${'target'.padStart(8)} ${'snakemake'.padStart(10)} ${'snakemake/basin'.padStart(16)}`);
for (const [name, mine, target, peer] of rows) {
  const ratio = peer === undefined ? '-' : `${(peer / mine).toFixed(1)}x`;
  console.log(`${name.padEnd(34)} ${mine.toFixed(2).padStart(8)} ${target.padStart(8)} ${(peer === undefined ? '-' : peer.toFixed(2)).padStart(10)} ${ratio.padStart(16)}`);
}
