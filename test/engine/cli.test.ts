import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, collect, type CliResult, Workspace, workspaceWith } from './rig.js';

/**
 * The command line as a user sees it: every command's output, flags, help and exit codes, through
 * the compiled CLI in a child process. Output is matched exactly (or by a tight pattern where it
 * holds durations, paths or digests).
 */
const pipeline = (o: { n?: number } = {}) => `
version: 1
name: clitest
params: { n: ${o.n ?? 3} }
stages:
  data: { kind: probe, with: { value: "\${params.n}", seed: 2, arrayLength: 8, sleepMs: 20 } }
  train:
    kind: probe
    matrix: { seed: [0, 1] }
    inputs: { data: data }
    with: { value: 1, seed: "\${matrix.seed}", arrayLength: 10 }
  summary: { kind: probe, inputs: { models: train } }
`;

const ALL = ['data', 'summary', 'train[seed=0]', 'train[seed=1]'];
const COMMANDS = ['run', 'plan', 'status', 'dag', 'show', 'export', 'gc'];
const DURATION = String.raw`(?:\d+ms|\d+\.\d+s|\d+m\d\ds|\d+h\d\dm)`;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

const workspace = (text = pipeline()): Workspace => workspaceWith(text);

/** The CLI with exactly these arguments (no --cache appended); the cache comes from BASIN_CACHE. */
function raw(ws: Workspace, ...args: string[]): Promise<CliResult> {
  return collect(
    spawn(process.execPath, [CLI, ...args], {
      cwd: ws.dir,
      env: { ...process.env, BASIN_CACHE: ws.cache, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** No stack trace and no internal error, whatever the outcome. */
function assertClean(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /^ +at /m, `stack trace in stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /^ +at /m, `stack trace in stdout:\n${r.stdout}`);
  assert.doesNotMatch(r.stderr, /^basin: internal error/m, r.stderr);
}

function assertExit(r: CliResult, code: number): void {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assertClean(r);
}

/**
 * A diagnostic `FILE:LINE:COL: error: ...` followed by the source line LINE, verbatim, and a caret
 * marker starting under column COL.
 */
function assertMarked(stderr: string, file: string, source: string, line: number): { column: number } {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${file}:${line}:`));
  assert.ok(at >= 0, `no ${file}:${line}:COL header in:\n${stderr}`);
  const header = new RegExp(`^${file.replace('.', '\\.')}:${line}:(\\d+): error: `).exec(lines[at] as string);
  assert.ok(header, lines[at]);
  const column = Number(header[1]);
  const text = source.split('\n')[line - 1] as string;
  const quoted = lines[at + 1] as string;
  const marker = lines[at + 2] as string;
  const gutter = `${String(line).padStart(4)} | `;
  assert.equal(quoted, `${gutter}${text}`.trimEnd(), `source line not quoted:\n${stderr}`);
  assert.match(marker, /^ +\| +\^+$/, `no marker line:\n${stderr}`);
  assert.equal(marker.indexOf('^') - gutter.length, column - 1, `marker not under column ${column}:\n${stderr}`);
  return { column };
}

test('--help of basin and of every command exits 0 with usage and no stack trace', async () => {
  const ws = workspace();
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await raw(ws, ...args);
    assertExit(r, 0);
    assert.match(r.stdout, /^Usage: basin <command> \[FILE\] \[options\]$/m);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} +\\S`, 'm'), `${c} missing from the help`);
    assert.equal(r.stderr, '');
  }
  const usage: Record<string, string> = {
    run: 'Usage: basin run [FILE] [options]',
    plan: 'Usage: basin plan [FILE] [options]',
    status: 'Usage: basin status [FILE] [options]',
    dag: 'Usage: basin dag [FILE] [options]',
    show: 'Usage: basin show NODE [FILE] [options]',
    export: 'Usage: basin export NODE --out DIR [FILE] [options]',
    gc: 'Usage: basin gc [FILE...] [options]',
  };
  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await raw(ws, c, flag);
      assertExit(r, 0);
      assert.equal(r.stdout.split('\n')[0], usage[c], `${c} ${flag}`);
      assert.match(r.stdout, /^  -h, --help +this help$/m, `${c} ${flag}`);
      assert.equal(r.stderr, '');
    }
  }
  const run = await raw(ws, 'run', '--help');
  for (const opt of ['--only STAGE', '--force STAGE', '-j, --jobs N', '-k, --keep-going', '--json', '--cache DIR']) {
    assert.ok(run.stdout.includes(`  ${opt}`), `run --help lacks ${opt}`);
  }
  // --help wins over everything else and never touches the pipeline or the cache.
  const helpFirst = await ws.basin('run', 'missing.yaml', '--help');
  assertExit(helpFirst, 0);
  assert.match(helpFirst.stdout, /^Usage: basin run/);
});

test('an unknown command or option exits 2 with a did-you-mean and the usage', async () => {
  const ws = workspace();
  const cmd = await raw(ws, 'rnu');
  assertExit(cmd, 2);
  assert.equal(cmd.stdout, '');
  assert.match(cmd.stderr, /^basin: unknown command "rnu"; did you mean "run"\?$/m);
  assert.match(cmd.stderr, /^Usage: basin <command>/m);

  const cmd2 = await raw(ws, 'stauts');
  assertExit(cmd2, 2);
  assert.match(cmd2.stderr, /^basin: unknown command "stauts"; did you mean "status"\?$/m);

  const far = await raw(ws, 'frobnicate');
  assertExit(far, 2);
  assert.match(far.stderr, /^basin: unknown command "frobnicate"$/m);

  const cases: [string[], string, string][] = [
    [['run', '--josn'], '--josn', '--json'],
    [['run', '--keep-gonig'], '--keep-gonig', '--keep-going'],
    [['plan', '--al'], '--al', '--all'],
    [['show', 'data', '--jsn'], '--jsn', '--json'],
    [['export', 'data', '--otu', 'x'], '--otu', '--out'],
    [['gc', '--dry-rn'], '--dry-rn', '--dry-run'],
    [['status', '--cahce', 'x'], '--cahce', '--cache'],
  ];
  for (const [args, bad, good] of cases) {
    const r = await raw(ws, ...args);
    assertExit(r, 2);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, new RegExp(`^basin: unknown option ${bad}; did you mean ${good}\\?$`, 'm'), args.join(' '));
    assert.match(r.stderr, new RegExp(`^Usage: basin ${args[0]} `, 'm'), args.join(' '));
  }
  const dagFormat = await raw(ws, 'dag', '--fromat', 'dot');
  assertExit(dagFormat, 2);
  assert.match(dagFormat.stderr, /^basin: unknown option --fromat; did you mean --format\?$/m);
  // Nothing above created a cache or ran a node.
  const status = await ws.basin('status');
  assertExit(status, 0);
  assert.match(status.stdout, /^4 of 4 nodes would run/m);
});

test('an invalid pipeline exits 2 with file:line:col, the source line and a marker', async () => {
  const unknownKey = `version: 1
name: bad
stages:
  data: { kind: probe }
  train:
    kind: probe
    matirx: { seed: [0, 1] }
    inputs: { data: data }
`;
  const ws = workspace(unknownKey);
  for (const command of ['run', 'plan', 'status', 'dag']) {
    const r = command === 'dag' ? await raw(ws, 'dag') : await ws.basin(command);
    assertExit(r, 2);
    assert.equal(r.stdout, '', command);
    assert.equal(r.stderr.split('\n')[0], 'basin.yaml:7:5: error: unknown key "matirx" in stage "train"', command);
    assert.ok(r.stderr.includes('   7 |     matirx: { seed: [0, 1] }\n     |     ^^^^^^\n'), `${command}:\n${r.stderr}`);
    assert.match(r.stderr, /^ {2}remedy: rename it to "matrix"$/m, command);
    assertMarked(r.stderr, 'basin.yaml', unknownKey, 7);
  }
  // The same through --json: diagnostics go to stderr, stdout stays empty (not a broken event stream).
  const json = await ws.basin('run', '--json');
  assertExit(json, 2);
  assert.equal(json.stdout, '');

  const syntax = `version: 1
name: bad
stages:
  data: { kind: probe }
  train: { kind: probe, with: { value: [1, 2 } }
`;
  ws.write('basin.yaml', syntax);
  for (const command of ['run', 'plan']) {
    const r = await ws.basin(command);
    assertExit(r, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^basin\.yaml:5:\d+: error: invalid YAML: /, r.stderr);
    const { column } = assertMarked(r.stderr, 'basin.yaml', syntax, 5);
    assert.ok(column > 1 && column <= 47, `column ${column}`);
  }

  // A named file that does not exist, for each command that reads one.
  for (const args of [['run', 'nope.yaml'], ['plan', 'nope.yaml'], ['status', 'nope.yaml'], ['show', 'data', 'nope.yaml'], ['gc', 'nope.yaml', '--dry-run']]) {
    const r = await ws.basin(...args);
    assertExit(r, 2);
    assert.match(r.stderr, /^error: pipeline file "nope\.yaml" does not exist$/m, args.join(' '));
    assert.match(r.stderr, /^ {2}remedy: give the path of a pipeline YAML file/m, args.join(' '));
  }
  const dag = await raw(ws, 'dag', 'nope.yaml');
  assertExit(dag, 2);
  assert.match(dag.stderr, /^error: pipeline file "nope\.yaml" does not exist$/m);
});

test('plan: every node new on a fresh cache, 0 to run after a run, --all and --json', async () => {
  const ws = workspace();
  const fresh = await ws.basin('plan');
  assertExit(fresh, 0);
  assert.equal(
    fresh.stdout,
    [
      'plan: clitest (basin.yaml): 4 to run, 0 cached, 4 nodes',
      '  run      data           new: no earlier run of this node',
      '  run      train[seed=0]  new: no earlier run of this node',
      '  run      train[seed=1]  new: no earlier run of this node',
      '  run      summary        new: no earlier run of this node',
      '',
    ].join('\n'),
  );
  assert.equal(fresh.stderr, '');

  const freshJson = await ws.basin('plan', '--json');
  assertExit(freshJson, 0);
  const planned = JSON.parse(freshJson.stdout) as { pipeline: string; file: string; nodes: { node: string; action: string; key?: string; reasons: { code: string }[] }[] };
  assert.equal(planned.pipeline, 'clitest');
  assert.equal(planned.file, 'basin.yaml');
  assert.deepEqual(planned.nodes.map((n) => n.node), ['data', 'train[seed=0]', 'train[seed=1]', 'summary']);
  assert.ok(planned.nodes.every((n) => n.action === 'run' && n.reasons.length === 1 && n.reasons[0]?.code === 'new'));
  // Only a root node can be keyed before anything ran: the others' keys depend on output content.
  assert.match(planned.nodes[0]?.key ?? '', /^[0-9a-f]{64}$/);

  const only = await ws.basin('plan', '--only', 'train[seed=1]');
  assertExit(only, 0);
  assert.match(only.stdout, /^plan: clitest \(basin\.yaml\): 2 to run, 0 cached, 2 nodes$/m);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ALL);

  const after = await ws.basin('plan');
  assertExit(after, 0);
  assert.equal(after.stdout, 'plan: clitest (basin.yaml): 0 to run, 4 cached, 4 nodes\n');

  const all = await ws.basin('plan', '--all');
  assertExit(all, 0);
  assert.equal(
    all.stdout,
    ['plan: clitest (basin.yaml): 0 to run, 4 cached, 4 nodes', '  cached   data', '  cached   train[seed=0]', '  cached   train[seed=1]', '  cached   summary', ''].join('\n'),
  );

  const json = await ws.basin('plan', '--json');
  assertExit(json, 0);
  const cachedPlan = JSON.parse(json.stdout) as { nodes: { node: string; action: string; key: string }[] };
  assert.equal(cachedPlan.nodes.length, 4);
  assert.ok(cachedPlan.nodes.every((n) => n.action === 'cached' && /^[0-9a-f]{64}$/.test(n.key)));
  assert.equal(cachedPlan.nodes[0]?.key, planned.nodes[0]?.key, 'plan and run key the root node alike');

  const forced = await ws.basin('plan', '--force', 'train');
  assertExit(forced, 0);
  assert.match(forced.stdout, /^plan: clitest \(basin\.yaml\): 3 to run, 1 cached, 4 nodes$/m);
  assert.match(forced.stdout, /^ {2}run {6}train\[seed=0\] {2}forced$/m);
  assert.match(forced.stdout, /^ {2}run {6}summary {8}input "models" will be recomputed first \(2 nodes\)$/m);

  // plan writes nothing: the run after it is still fully cached.
  const again = await ws.run();
  assert.deepEqual(again.cached, ALL);
});

test('status: counts per stage before and after a run, and the failed column', async () => {
  const ws = workspace();
  const before = await ws.basin('status');
  assertExit(before, 0);
  assert.equal(
    before.stdout,
    [
      `clitest (basin.yaml), cache ${ws.cache}`,
      '  stage    kind       nodes  cached  to run  failed',
      '  data     probe          1       0       1       0',
      '  train    probe          2       0       2       0',
      '  summary  probe          1       0       1       0',
      '4 of 4 nodes would run (see `basin plan` for why)',
      '',
    ].join('\n'),
  );
  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  const afterRun = await ws.basin('status');
  assertExit(afterRun, 0);
  assert.equal(
    afterRun.stdout,
    [
      `clitest (basin.yaml), cache ${ws.cache}`,
      '  stage    kind       nodes  cached  to run  failed',
      '  data     probe          1       1       0       0',
      '  train    probe          2       2       0       0',
      '  summary  probe          1       1       0       0',
      'up to date: all 4 nodes cached',
      '',
    ].join('\n'),
  );
  const json = await ws.basin('status', '--json');
  assertExit(json, 0);
  const s = JSON.parse(json.stdout) as { stages: { stage: string; nodes: number; cached: number; toRun: number; failed: number }[]; running: number };
  assert.deepEqual(
    s.stages.map((x) => [x.stage, x.nodes, x.cached, x.toRun, x.failed]),
    [
      ['data', 1, 1, 0, 0],
      ['train', 2, 2, 0, 0],
      ['summary', 1, 1, 0, 0],
    ],
  );
  assert.equal(s.running, 0);

  // One of two matrix nodes fails: it is counted as failed (and to run); its dependant only to run.
  ws.write(
    'basin.yaml',
    `
version: 1
name: clitest
stages:
  data: { kind: probe, with: { value: 3 } }
  train:
    kind: probe
    matrix: { seed: [0, 1] }
    inputs: { data: data }
    with: { value: 1, seed: "\${matrix.seed}", fail: "diverged at seed \${matrix.seed}" }
  summary: { kind: probe, inputs: { models: train } }
`,
  );
  const failed = await ws.run('basin.yaml', '--keep-going');
  assert.equal(failed.code, 1, failed.result.stderr);
  assert.deepEqual(failed.failed, ['train[seed=0]', 'train[seed=1]']);
  const withFailure = await ws.basin('status');
  assertExit(withFailure, 0);
  assert.equal(
    withFailure.stdout,
    [
      `clitest (basin.yaml), cache ${ws.cache}`,
      '  stage    kind       nodes  cached  to run  failed',
      '  data     probe          1       1       0       0',
      '  train    probe          2       0       2       2',
      '  summary  probe          1       0       1       0',
      '3 of 4 nodes would run (see `basin plan` for why)',
      '',
    ].join('\n'),
  );
  const plan = await ws.basin('plan');
  assert.match(plan.stdout, /^ {2}run {6}train\[seed=1\] {2}failed before: diverged at seed 1$/m);
});

test('dag: text, mermaid and dot, of stages and of nodes; a bad --format exits 2', async () => {
  const ws = workspace();
  const text = await raw(ws, 'dag');
  assertExit(text, 0);
  assert.equal(
    text.stdout,
    [
      'pipeline clitest: 3 stages, 4 nodes',
      '',
      '  data     probe  1 node',
      '  train    probe  2 nodes  matrix seed  data <- data',
      '  summary  probe  1 node                models <- train (all 2)',
      '',
    ].join('\n'),
  );
  const textNodes = await raw(ws, 'dag', '--nodes', '--format', 'text');
  assertExit(textNodes, 0);
  assert.equal(textNodes.stdout.split('\n')[0], 'pipeline clitest: 4 nodes in run order');
  for (const id of ALL) assert.match(textNodes.stdout, new RegExp(`^ {2}${id.replace(/[[\]]/g, '\\$&')} +probe`, 'm'));

  const mermaid = await raw(ws, 'dag', '--format', 'mermaid');
  assertExit(mermaid, 0);
  const m = mermaid.stdout.split('\n');
  assert.match(m[0] as string, /^(graph|flowchart) (LR|TD|TB|RL|BT)$/);
  assert.equal(m.filter((l) => /-->/.test(l)).length, 2, mermaid.stdout);
  assert.match(mermaid.stdout, /\["train \(probe, 2 nodes\)"\]/);

  const mermaidNodes = await raw(ws, 'dag', '--format', 'mermaid', '--nodes');
  assertExit(mermaidNodes, 0);
  assert.match(mermaidNodes.stdout, /^(graph|flowchart) /);
  assert.equal(mermaidNodes.stdout.split('\n').filter((l) => /-->/.test(l)).length, 4, mermaidNodes.stdout);
  assert.match(mermaidNodes.stdout, /\["train\[seed=1\]"\]/);

  const dot = await raw(ws, 'dag', '--format', 'dot');
  assertExit(dot, 0);
  assert.match(dot.stdout, /^digraph "clitest" \{\n/);
  assert.match(dot.stdout, /\n\}\n$/);
  assert.match(dot.stdout, /^ {2}"data" -> "train" \[label="data"\];$/m);
  assert.match(dot.stdout, /^ {2}"train" -> "summary" \[label="models"\];$/m);
  assert.equal(dot.stdout.split('\n').filter((l) => l.includes('->')).length, 2);

  const dotNodes = await raw(ws, 'dag', '--format', 'dot', '--nodes');
  assertExit(dotNodes, 0);
  assert.match(dotNodes.stdout, /^digraph "clitest" \{\n/);
  for (const edge of ['"data" -> "train[seed=0]"', '"data" -> "train[seed=1]"', '"train[seed=0]" -> "summary"', '"train[seed=1]" -> "summary"']) {
    assert.ok(dotNodes.stdout.includes(edge), `${edge} missing:\n${dotNodes.stdout}`);
  }
  assert.equal(dotNodes.stdout.split('\n').filter((l) => l.includes('->')).length, 4);

  const bad = await raw(ws, 'dag', '--format', 'svg');
  assertExit(bad, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^basin: --format expects one of text, mermaid, dot, got "svg"$/m);

  // dag reads no cache: it works from a pipeline given by path, too.
  ws.write('other.yaml', pipeline({ n: 9 }));
  const other = await raw(ws, 'dag', 'other.yaml');
  assertExit(other, 0);
  assert.equal(other.stdout, text.stdout);
});

test('show: a cached node, a matrix node, a whole stage, an unknown name, a node not yet run', async () => {
  const ws = workspace();
  const notRun = await ws.basin('show', 'data');
  assertExit(notRun, 0);
  assert.equal(notRun.stdout, 'data  (stage data)\n  not cached: new: no earlier run of this node\n');
  const notRunJson = JSON.parse((await ws.basin('show', 'data', '--json')).stdout) as { node: string; cached: boolean; plan: { action: string; key: string } };
  assert.equal(notRunJson.cached, false);
  assert.equal(notRunJson.plan.action, 'run');

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);

  const data = await ws.basin('show', 'data');
  assertExit(data, 0);
  const json = JSON.parse((await ws.basin('show', 'data', '--json')).stdout) as {
    node: string;
    cached: boolean;
    record: { key: string; outputsDigest: string; outputs: Record<string, { digest: string; bytes: number }> };
  };
  assert.equal(json.cached, true);
  assert.equal(json.record.key, notRunJson.plan.key, 'the key show predicted is the key run used');
  const lines = data.stdout.split('\n');
  assert.equal(lines[0], 'data  (stage data)');
  assert.match(data.stdout, /^ {2}key {7}[0-9a-f]{64}$/m);
  assert.ok(lines.includes(`  key       ${json.record.key}`));
  assert.match(data.stdout, /^ {2}kind {6}probe v1 \(key format \d+\)$/m);
  assert.match(data.stdout, new RegExp(`^ {2}ran {7}\\d{4}-\\d\\d-\\d\\dT\\S+Z for ${DURATION} on local$`, 'm'));
  const params = JSON.parse(/^ {2}params {4}(.*)$/m.exec(data.stdout)?.[1] ?? 'null') as Record<string, unknown>;
  assert.equal(params['value'], 3);
  assert.equal(params['seed'], 2);
  assert.equal(params['arrayLength'], 8);
  assert.equal(params['sleepMs'], 20);
  assert.doesNotMatch(data.stdout, /^ {2}input /m);
  const array = json.record.outputs['array'];
  const result = json.record.outputs['result'];
  assert.match(array?.digest ?? '', DIGEST);
  assert.match(result?.digest ?? '', DIGEST);
  assert.ok(lines.includes('  outputs'));
  assert.ok(lines.includes(`    array: array float32[8], 32 bytes, ${array?.digest}`), data.stdout);
  assert.ok(lines.includes(`    result: json, ${result?.bytes} bytes, ${result?.digest}`), data.stdout);

  // A matrix node id (quoted: brackets are shell globs) shows the digest of its input.
  const train = await ws.basin('show', 'train[seed=1]');
  assertExit(train, 0);
  assert.equal(train.stdout.split('\n')[0], 'train[seed=1]  (stage train)');
  assert.match(train.stdout, /^ {2}key {7}[0-9a-f]{64}$/m);
  assert.ok(train.stdout.includes(`\n  input     data: ${json.record.outputsDigest}\n`), train.stdout);
  assert.match(train.stdout, /^ {4}array: array float32\[10\], 40 bytes, sha256:[0-9a-f]{64}$/m);
  const trainParams = JSON.parse(/^ {2}params {4}(.*)$/m.exec(train.stdout)?.[1] ?? 'null') as Record<string, unknown>;
  assert.equal(trainParams['seed'], 1);

  const summary = await ws.basin('show', 'summary');
  assertExit(summary, 0);
  assert.match(summary.stdout, /^ {2}input {5}models: 2 digests$/m);

  const stage = await ws.basin('show', 'train');
  assertExit(stage, 2);
  assert.equal(stage.stdout, '');
  assert.match(stage.stderr, /^basin: "train" names 2 nodes \(train\[seed=0\], train\[seed=1\][^)]*\); give one node id$/m);

  const unknown = await ws.basin('show', 'trian');
  assertExit(unknown, 2);
  assert.match(unknown.stderr, /^basin: no stage or node named "trian" in this pipeline; did you mean "train"\?$/m);
  const unknownNode = await ws.basin('show', 'train[seed=5]');
  assertExit(unknownNode, 2);
  assert.match(unknownNode.stderr, /^basin: no stage or node named "train\[seed=5\]" in this pipeline; did you mean "train\[seed=\d\]"\?$/m);
  const none = await ws.basin('show');
  assertExit(none, 2);
  assert.match(none.stderr, /^basin: expected a node id/m);

  // After an edit, show says why the node is no longer current instead of showing the old record.
  ws.write('basin.yaml', pipeline({ n: 4 }));
  const stale = await ws.basin('show', 'data');
  assertExit(stale, 0);
  assert.equal(stale.stdout, 'data  (stage data)\n  not cached: params changed: value 3 -> 4\n');
  const below = await ws.basin('show', 'train[seed=0]');
  assertExit(below, 0);
  assert.equal(below.stdout, 'train[seed=0]  (stage train)\n  not cached: input "data" will be recomputed first (data)\n');
});

test('export: result.json, array.npy (NumPy v1.0, float32 data) and record.json; a node not cached exits 1', async () => {
  const ws = workspace();
  const missing = await ws.basin('export', 'train[seed=1]', '--out', 'out');
  assertExit(missing, 1);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /^basin: train\[seed=1\] is not in the cache \(new: no earlier run of this node\); run `basin run --only "train\[seed=1\]"` first$/m);

  const noOut = await ws.basin('export', 'data');
  assertExit(noOut, 2);
  assert.match(noOut.stderr, /^basin: --out DIR is required$/m);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  const out = join(ws.dir, 'exported');
  const ex = await ws.basin('export', 'train[seed=1]', '--out', 'exported');
  assertExit(ex, 0);
  assert.equal(ex.stdout, [`wrote ${join(out, 'array.npy')}`, `wrote ${join(out, 'result.json')}`, `wrote ${join(out, 'record.json')}`, ''].join('\n'));

  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as unknown;
  assert.deepEqual(result, {
    value: 1,
    label: null,
    seed: 1,
    inputs: { data: [{ node: 'data', value: { value: 3, label: null, seed: 2, inputs: {} } }] },
  });

  const npy = readFileSync(join(out, 'array.npy'));
  assert.deepEqual([...npy.subarray(0, 6)], [0x93, ...Buffer.from('NUMPY', 'latin1')]);
  assert.deepEqual([npy[6], npy[7]], [1, 0], 'format version 1.0');
  const headerLength = npy.readUInt16LE(8);
  const header = npy.subarray(10, 10 + headerLength).toString('latin1');
  assert.ok(header.includes("'descr': '<f4'"), header);
  assert.ok(header.includes("'fortran_order': False"), header);
  assert.ok(header.includes("'shape': (10,)"), header);
  assert.ok(header.endsWith('\n'));
  assert.equal((10 + headerLength) % 64, 0, 'data aligned to 64 bytes');
  const expected = new Float32Array(10);
  for (let i = 0; i < expected.length; i++) expected[i] = 1 + i / expected.length;
  const body = npy.subarray(10 + headerLength);
  assert.equal(body.byteLength, 40);
  assert.deepEqual(body, Buffer.from(expected.buffer));

  const show = JSON.parse((await ws.basin('show', 'train[seed=1]', '--json')).stdout) as { record: { key: string } };
  const record = JSON.parse(readFileSync(join(out, 'record.json'), 'utf8')) as { key: string; nodeId: string; pipeline: string; outputs: Record<string, { digest: string }> };
  assert.equal(record.nodeId, 'train[seed=1]');
  assert.equal(record.pipeline, 'clitest');
  assert.equal(record.key, show.record.key);
  assert.deepEqual(Object.keys(record.outputs).sort(), ['array', 'result']);

  // data's array: seed 2, length 8.
  const exData = await ws.basin('export', 'data', '--out', 'data-out');
  assertExit(exData, 0);
  const dataNpy = readFileSync(join(ws.dir, 'data-out', 'array.npy'));
  const dataHeader = dataNpy.subarray(10, 10 + dataNpy.readUInt16LE(8)).toString('latin1');
  assert.ok(dataHeader.includes("'shape': (8,)"), dataHeader);
  assert.deepEqual([...new Float32Array(dataNpy.buffer.slice(dataNpy.byteOffset + 10 + dataNpy.readUInt16LE(8), dataNpy.byteOffset + dataNpy.byteLength))], [2, 2.125, 2.25, 2.375, 2.5, 2.625, 2.75, 2.875]);

  // An edit makes the cached artifact outdated: export refuses it rather than export stale data.
  ws.write('basin.yaml', pipeline({ n: 4 }));
  const stale = await ws.basin('export', 'data', '--out', 'stale');
  assertExit(stale, 1);
  assert.match(stale.stderr, /^basin: data is not in the cache \(params changed: value 3 -> 4\); run `basin run --only "data"` first$/m);

  const stage = await ws.basin('export', 'train', '--out', 'x');
  assertExit(stage, 2);
  assert.match(stage.stderr, /names 2 nodes/);
});

test('gc: --dry-run reports and removes nothing; gc removes; the current pipeline stays cached', async () => {
  const ws = workspace();
  const first = await ws.run();
  assert.deepEqual(first.ran, ALL);
  ws.write('old.yaml', pipeline({ n: 3 })).write('basin.yaml', pipeline({ n: 4 }));
  const second = await ws.run();
  assert.equal(second.code, 0, second.result.stderr);
  assert.deepEqual(second.ran, ALL);

  // The n=3 records (4) are unreachable; of their payloads only the 4 `result` JSONs are unique to
  // them (the float arrays depend on seed and length only and are shared with the n=4 records).
  const line = (verb: string, records: number, payloads: number) =>
    new RegExp(`^gc \\(${ws.cache.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): kept 4 records; ${verb} ${records} records, ${payloads} payloads, 0 node states: (\\d+ B|\\d+\\.\\d KiB)\\n$`);
  const dry = await ws.basin('gc', '--dry-run');
  assertExit(dry, 0);
  assert.match(dry.stdout, line('would remove', 4, 4));
  const dry2 = await ws.basin('gc', '-n');
  assertExit(dry2, 0);
  assert.equal(dry2.stdout, dry.stdout, 'a dry run removed something');
  const oldPlan = await ws.basin('plan', 'old.yaml');
  assert.match(oldPlan.stdout, /^plan: clitest \(old\.yaml\): 0 to run, 4 cached, 4 nodes$/m);

  // Given both pipelines, gc keeps both.
  const both = await ws.basin('gc', 'basin.yaml', 'old.yaml', '--dry-run');
  assertExit(both, 0);
  assert.match(both.stdout, /: kept 8 records; would remove 0 records, 0 payloads, 0 node states: 0 B\n$/);

  const gc = await ws.basin('gc');
  assertExit(gc, 0);
  assert.match(gc.stdout, line('removed', 4, 4));
  assert.equal(gc.stdout.replace('removed', 'would remove'), dry.stdout);

  const third = await ws.run();
  assert.equal(third.code, 0, third.result.stderr);
  assert.deepEqual(third.ran, []);
  assert.deepEqual(third.cached, ALL);
  const gcAgain = await ws.basin('gc');
  assertExit(gcAgain, 0);
  assert.match(gcAgain.stdout, /: kept 4 records; removed 0 records, 0 payloads, 0 node states: 0 B\n$/);

  const collected = await ws.basin('plan', 'old.yaml');
  assert.match(collected.stdout, /^plan: clitest \(old\.yaml\): 4 to run, 0 cached, 4 nodes$/m);
  ws.write('basin.yaml', pipeline({ n: 3 }));
  const reverted = await ws.run();
  assert.equal(reverted.code, 0, reverted.result.stderr);
  assert.deepEqual(reverted.ran, ALL, 'collected nodes were served from the cache');
  assert.deepEqual(reverted.started.find((s) => s.node === 'data')?.reasons, [{ code: 'params', changes: [{ path: 'value', from: 4, to: 3 }] }]);
});

test('basin with no arguments runs ./basin.yaml', async () => {
  const ws = workspace();
  const r = await raw(ws);
  assertExit(r, 0);
  assert.match(r.stdout, /^basin: clitest \(basin\.yaml\): 4 nodes/);
  assert.match(r.stdout, /^done: 4 ran, 0 cached in /m);
  const again = await ws.run();
  assert.deepEqual(again.cached, ALL, 'the no-argument run used another pipeline or cache');
});

test('--jobs must be a positive integer', async () => {
  const ws = workspace();
  for (const value of ['0', 'x', '-1', '1.5']) {
    for (const flag of ['--jobs', '-j']) {
      // `--jobs -1` would read as a missing argument then an option; `--jobs=-1` and `-j-1` are values.
      const r = flag === '--jobs' ? await ws.basin('run', `--jobs=${value}`) : await ws.basin('run', `${flag}${value}`);
      assertExit(r, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^basin: --jobs expects a positive integer, got "${value.replace('.', '\\.')}"$`, 'm'), `${flag} ${value}`);
    }
  }
  const ok = await ws.run('basin.yaml', '--jobs', '1');
  assert.equal(ok.code, 0, ok.result.stderr);
  const start = ok.events.find((e) => e.type === 'run-start');
  assert.equal(start?.type === 'run-start' && start.jobs, 1);
});

test('the plain reporter: run / done lines and the summary; a cached rerun prints two lines', async () => {
  const ws = workspace();
  const r = await ws.basin('run', '--jobs', '1');
  assertExit(r, 0);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `basin: clitest (basin.yaml): 4 nodes [data, train×2, summary], jobs 1, cache ${ws.cache}`);
  for (const id of ALL) {
    const esc = id.replace(/[[\]]/g, '\\$&');
    assert.equal(lines.filter((l) => new RegExp(`^run {5}${esc} {2}\\(new: no earlier run of this node\\)$`).test(l)).length, 1, `run line of ${id}:\n${r.stdout}`);
    assert.equal(lines.filter((l) => new RegExp(`^done {4}${esc} {2}${DURATION}$`).test(l)).length, 1, `done line of ${id}:\n${r.stdout}`);
    assert.ok(lines.findIndex((l) => l.startsWith(`run     ${id}  `)) < lines.findIndex((l) => l.startsWith(`done    ${id}  `)));
  }
  assert.match(lines.at(-1) as string, new RegExp(`^done: 4 ran, 0 cached in ${DURATION}$`));
  assert.equal(lines.length, 1 + 2 * ALL.length + 1, r.stdout);

  const cached = await ws.basin('run');
  assertExit(cached, 0);
  const c = cached.stdout.trimEnd().split('\n');
  assert.equal(c.length, 2, cached.stdout);
  assert.match(c[0] as string, /^basin: clitest \(basin\.yaml\): 4 nodes \[data, train×2, summary\], jobs \d+, cache /);
  assert.match(c[1] as string, new RegExp(`^done: 0 ran, 4 cached in ${DURATION} \\(the cache saved ${DURATION}\\)$`));

  // A param change: the reason is on the run line, and identical output is called out.
  ws.write('basin.yaml', pipeline({ n: 3 }).replace('sleepMs: 20', 'sleepMs: 21'));
  const cut = await ws.basin('run');
  assertExit(cut, 0);
  assert.match(cut.stdout, /^run {5}data {2}\(params changed: sleepMs 20 -> 21\)$/m);
  assert.match(cut.stdout, new RegExp(`^done {4}data {2}${DURATION} {2}\\(output unchanged: downstream stays cached\\)$`, 'm'));
  assert.match(cut.stdout, new RegExp(`^done: 1 ran, 3 cached in ${DURATION} \\(the cache saved ${DURATION}\\)$`, 'm'));

  const verbose = await ws.basin('run', '--verbose');
  assertExit(verbose, 0);
  for (const id of ALL) assert.ok(verbose.stdout.includes(`\ncached  ${id}\n`), verbose.stdout);
});
