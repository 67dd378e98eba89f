import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Workspace } from './rig.js';

const failing = (fail: boolean) => `
version: 1
name: failing
stages:
  a: { kind: probe, with: { value: 1 } }
  b: { kind: probe, inputs: { a: a }, with: { value: 2${fail ? ', fail: "boom: the loss diverged"' : ''} } }
  c: { kind: probe, inputs: { b: b } }
  d: { kind: probe, inputs: { a: a }, with: { value: 4 } }
`;

const ws = new Workspace();
after(() => ws.dispose());

test('a failed stage exits 1, skips its dependants, and fail-fast starts nothing new', async () => {
  ws.write('basin.yaml', failing(true));
  const r = await ws.run('basin.yaml', '--jobs', '1');
  assert.equal(r.code, 1);
  assert.deepEqual(r.failed, ['b']);
  assert.deepEqual(r.skipped, ['c', 'd']);
  const failure = r.events.find((e) => e.type === 'node-failed');
  assert.deepEqual(failure?.type === 'node-failed' && failure.failure, { reason: 'stage', message: 'boom: the loss diverged' });
});

test('--keep-going runs everything independent of the failure', async () => {
  const r = await ws.run('basin.yaml', '--jobs', '1', '--keep-going');
  assert.equal(r.code, 1);
  assert.deepEqual(r.ran, ['d']);
  assert.deepEqual(r.cached, ['a']);
  assert.deepEqual(r.skipped, ['c']);
  const plain = await ws.basin('run', 'basin.yaml', '--keep-going');
  assert.equal(plain.code, 1);
  assert.match(plain.stdout, /^FAILED  b: boom: the loss diverged$/m);
  assert.match(plain.stdout, /^skip    c  \(upstream b failed\)$/m);
  assert.match(plain.stdout, /^failed: 0 ran, 2 cached, 1 failed, 1 skipped in /m);
});

test('plan remembers the failure; fixing it reruns the failed node and what depends on it', async () => {
  const plan = await ws.basin('plan');
  assert.match(plan.stdout, /run +b +failed before: boom: the loss diverged/);
  ws.write('basin.yaml', failing(false));
  const r = await ws.run();
  assert.equal(r.code, 0);
  assert.deepEqual(r.ran, ['b', 'c']);
});

const commands = `
version: 1
name: commands
params: { n: 3 }
stages:
  make:
    kind: command
    with: { run: "cat input.txt > made.txt && seq 1 \${params.n} > count.txt && echo made", deps: [input.txt], outs: [made.txt, count.txt] }
  use:
    kind: command
    inputs: { make: make }
    with: { run: "wc -l < count.txt" }
  bad:
    kind: command
    with: { run: "echo to stderr >&2; exit 3" }
`;

test('command stages: stdout is the artifact, deps are keyed, outs restored on a hit, failures explained', async () => {
  ws.write('cmd.yaml', commands).write('input.txt', 'hello\n');
  const r1 = await ws.run('cmd.yaml', '--keep-going');
  assert.equal(r1.code, 1);
  assert.deepEqual(r1.ran, ['make', 'use']);
  const bad = r1.events.find((e) => e.type === 'node-failed');
  assert.equal(bad?.type === 'node-failed' && bad.failure.message, 'command exited with code 3: echo to stderr >&2; exit 3\nto stderr');
  assert.equal(readFileSync(join(ws.dir, 'made.txt'), 'utf8'), 'hello\n');

  // A deleted out comes back from the cache without rerunning.
  rmSync(join(ws.dir, 'made.txt'));
  const r2 = await ws.run('cmd.yaml', '--only', 'use');
  assert.deepEqual(r2.ran, []);
  assert.equal(readFileSync(join(ws.dir, 'made.txt'), 'utf8'), 'hello\n');

  // Editing a dep reruns the stage and says which file changed.
  writeFileSync(join(ws.dir, 'input.txt'), 'changed\n');
  const plan = await ws.basin('plan', 'cmd.yaml', '--only', 'use');
  assert.match(plan.stdout, /run +make +file input\.txt changed/);
  const r3 = await ws.run('cmd.yaml', '--only', 'use');
  assert.deepEqual(r3.ran, ['make', 'use']);
  assert.deepEqual(r3.started.find((s) => s.node === 'use')?.reasons, [{ code: 'input', input: 'make' }]);

  // A missing dep is a clear error, not a crash.
  rmSync(join(ws.dir, 'input.txt'));
  const r4 = await ws.run('cmd.yaml', '--only', 'make');
  assert.equal(r4.code, 1);
  const missing = r4.events.find((e) => e.type === 'node-failed');
  assert.match(missing?.type === 'node-failed' ? missing.failure.message : '', /file "input\.txt" \(a dep of make\) does not exist/);
  assert.ok(existsSync(join(ws.dir, 'count.txt')));
});
