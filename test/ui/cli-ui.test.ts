import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CLI, collect, type CliResult, workspaceWith, type Workspace } from '../engine/rig.js';

/** The run and status commands' choice of display, through the compiled CLI with piped output. */
const TRACE = fileURLToPath(new URL('../../../test/ui/trace-ui-imports.mjs', import.meta.url));
const DURATION = String.raw`(?:\d+ms|\d+\.\d+s|\d+m\d\ds|\d+h\d\dm)`;

const pipeline = (sleepMs = 0) => `
version: 1
name: uitest
stages:
  data: { kind: probe, with: { value: 1 } }
  train:
    kind: probe
    matrix: { seed: [0, 1] }
    inputs: { data: data }
    with: { value: 1, seed: "\${matrix.seed}", sleepMs: ${sleepMs}, steps: 4 }
`;

/** The CLI with piped stdio; `env` adds to (or, with undefined, removes from) the test's environment. */
function basin(ws: Workspace, args: readonly string[], env: Record<string, string | undefined> = {}, trace?: string): Promise<CliResult> {
  const merged: NodeJS.ProcessEnv = { ...process.env, BASIN_CACHE: '', FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  if (trace) merged['BASIN_TRACE_UI_IMPORTS'] = trace;
  const pre = trace ? ['--import', TRACE] : [];
  return collect(spawn(process.execPath, [...pre, CLI, ...args, '--cache', ws.cache], { cwd: ws.dir, env: merged, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function traced(ws: Workspace, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<{ r: CliResult; ui: string[] }> {
  const log = join(ws.dir, 'ui-imports.log');
  rmSync(log, { force: true });
  return basin(ws, args, env, log).then((r) => ({ r, ui: existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [] }));
}

test('output that is not a terminal gets the line reporter; --ui plain is the same; --ui json and --json stream events', async () => {
  const ws = workspaceWith(pipeline());
  const auto = await basin(ws, ['run'], { CI: undefined });
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /^basin: uitest \(basin\.yaml\): 3 nodes \[data, train×2\], jobs \d+, cache /);
  assert.match(auto.stdout, new RegExp(`^done: 3 ran, 0 cached in ${DURATION}\\n$`, 'm'));
  const plain = await basin(ws, ['run', '--ui', 'plain', '--force', 'data']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^run {5}data {2}\(forced\)$/m);
  for (const args of [['--ui', 'json'], ['--json'], ['--json', '--ui', 'json']]) {
    const json = await basin(ws, ['run', ...args]);
    assert.equal(json.code, 0, json.stderr);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual([events[0]?.type, events.at(-1)?.type], ['run-start', 'run-end'], args.join(' '));
  }
});

test('--ui: a bad value, or --json with another --ui, exits 2 with the usage', async () => {
  const ws = workspaceWith(pipeline());
  const bad = await basin(ws, ['run', '--ui', 'fancy']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^basin: --ui expects one of plain, ink, json, got "fancy"$/m);
  assert.match(bad.stderr, /^Usage: basin run /m);
  const both = await basin(ws, ['run', '--json', '--ui', 'plain']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^basin: --json means --ui json; it cannot go with --ui plain$/m);
  const help = await basin(ws, ['run', '--help']);
  assert.match(help.stdout, /^ {2}--ui UI +what to show: ink/m);
  const statusUi = await basin(ws, ['status', '--ui', 'ink']);
  assert.equal(statusUi.code, 2);
  assert.match(statusUi.stderr, /^basin: --ui goes with --watch$/m);
  const watchJson = await basin(ws, ['status', '--watch', '--json']);
  assert.equal(watchJson.code, 2);
});

test('plan, status and runs shown as lines or JSON never load Ink or React; --ui ink does', async () => {
  const ws = workspaceWith(pipeline());
  for (const args of [['run'], ['run', '--ui', 'plain', '--force', 'train'], ['run', '--json', '--force', 'train'], ['plan'], ['status'], ['status', '--watch'], ['run']]) {
    const { r, ui } = await traced(ws, args, { CI: undefined });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.deepEqual(ui, [], `${args.join(' ')} loaded ${ui.join(', ')}`);
  }
  // Forced onto a pipe on CI, Ink prints the finished nodes and, at the end, its last frame.
  const { r, ui } = await traced(ws, ['run', '--ui', 'ink', '--force', 'train'], { CI: 'true' });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(ui.includes('ink') && ui.some((s) => s.startsWith('react')), `the trace saw ${ui.join(', ')}`);
  assert.match(r.stdout, /^done {4}train\[seed=0\] {2}/m);
  assert.match(r.stdout, /^ train +█+ 2\/2  2 done  0 cached  0 running  0 failed$/m);
  assert.match(r.stdout, new RegExp(`^done: 2 ran, 1 cached, 0 failed in ${DURATION}; the cache saved ${DURATION}$`, 'm'));
});

test('status --watch: nothing to follow and all cached ends at once; otherwise it follows a run to its end', async () => {
  const ws = workspaceWith(pipeline(1500));
  const first = await basin(ws, ['run', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const idle = await basin(ws, ['status', '--watch']);
  assert.equal(idle.code, 0, idle.stderr);
  assert.deepEqual(idle.stdout.split('\n'), [
    `watching uitest (basin.yaml), cache ${ws.cache}: 3 nodes, 3 cached, 0 to run`,
    'up to date: 0 ran, 3 cached, 0 failed',
    '',
  ]);

  // A run in another process (train sleeps 1.5 s per node, one job), and a watch that joins it once
  // its first node runs (before that, everything is cached and a watch would end at once).
  const child = spawn(process.execPath, [CLI, 'run', '--json', '--force', 'train', '-j', '1', '--cache', ws.cache], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const started = new Promise<void>((resolve) => {
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('"node-start"')) resolve();
    });
  });
  const running = collect(child);
  await started;
  const watched = await basin(ws, ['status', '--watch']);
  const run = await running;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(watched.code, 0, watched.stderr);
  const lines = watched.stdout.trim().split('\n');
  // Nodes being rerun (forced) count as running, not cached.
  assert.match(lines[0] ?? '', /^watching uitest \(basin\.yaml\), cache .*: 3 nodes, [123] cached, [012] to run$/);
  // Which nodes it saw start depends on timing; each node it saw finish was reported once, and the end.
  assert.match(lines[1] ?? '', /^following run \S+:\d+:[0-9a-f]+ \(jobs 1\)$/, watched.stdout);
  assert.match(watched.stdout, new RegExp(`^done {4}train\\[seed=1\\] {2}${DURATION}$`, 'm'));
  assert.match(lines.at(-1) ?? '', new RegExp(`^the run ended: 2 ran, 1 cached, 0 failed in ${DURATION}$`), watched.stdout);
  assert.equal(watched.stdout.match(/^done {4}train\[seed=1\]/gm)?.length, 1);
});
