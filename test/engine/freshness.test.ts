import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Workspace, workspaceWith } from './rig.js';

/**
 * "Why did this rerun?": first run, no-op rerun, one param changed, an unused param changed,
 * early cutoff, an implementation-independent failure and its recovery.
 */
const pipeline = (o: { epochs?: number; unused?: number; dataSleep?: number; dataValue?: string } = {}) => `
version: 1
name: fresh
params: { epochs: ${o.epochs ?? 10}, unused: ${o.unused ?? 1}, size: 100 }
stages:
  data: { kind: probe, with: { value: "${o.dataValue ?? 'mnist'}-\${params.size}", sleepMs: ${o.dataSleep ?? 0} } }
  train:
    kind: probe
    matrix: { seed: [0, 1], attack: [0, 500] }
    inputs: { data: data }
    with: { value: "\${params.epochs}", seed: "\${matrix.seed}", label: "a\${matrix.attack}" }
  hessian: { kind: probe, foreach: train, inputs: { model: train } }
  summary: { kind: probe, inputs: { models: train, hessian: hessian } }
`;

const ALL = [
  'data',
  'hessian[seed=0,attack=0]',
  'hessian[seed=0,attack=500]',
  'hessian[seed=1,attack=0]',
  'hessian[seed=1,attack=500]',
  'summary',
  'train[seed=0,attack=0]',
  'train[seed=0,attack=500]',
  'train[seed=1,attack=0]',
  'train[seed=1,attack=500]',
];

const ws = new Workspace();
after(() => ws.dispose());

test('first run executes every node; a rerun executes none', async () => {
  ws.write('basin.yaml', pipeline());
  const first = await ws.run();
  assert.equal(first.code, 0, first.result.stderr);
  assert.deepEqual(first.ran, ALL);
  assert.deepEqual(first.cached, []);
  assert.ok(first.started.every((s) => s.reasons.length === 1 && s.reasons[0]?.code === 'new'));

  const second = await ws.run();
  assert.equal(second.code, 0);
  assert.deepEqual(second.ran, []);
  assert.deepEqual(second.cached, ALL);
  assert.equal(second.end.cached, ALL.length);
});

test('changing one param reruns exactly what reads it, and plan says why', async () => {
  ws.write('basin.yaml', pipeline({ epochs: 20 }));
  const plan = await ws.basin('plan');
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /9 to run, 1 cached/);
  assert.match(plan.stdout, /run +train\[seed=0,attack=0\] +params changed: value 10 -> 20/);
  assert.match(plan.stdout, /run +hessian\[seed=1,attack=500\] +input "model" will be recomputed first \(train\[seed=1,attack=500\]\)/);
  assert.doesNotMatch(plan.stdout, /run +data/);

  const r = await ws.run();
  assert.equal(r.code, 0);
  assert.deepEqual(r.cached, ['data']);
  assert.deepEqual(r.ran, ALL.filter((n) => n !== 'data'));
  const train = r.started.find((s) => s.node === 'train[seed=1,attack=0]');
  assert.deepEqual(train?.reasons, [{ code: 'params', changes: [{ path: 'value', from: 10, to: 20 }] }]);
  const hessian = r.started.find((s) => s.node === 'hessian[seed=1,attack=0]');
  assert.deepEqual(hessian?.reasons, [{ code: 'input', input: 'model' }]);
});

test('changing a param no stage reads reruns nothing', async () => {
  ws.write('basin.yaml', pipeline({ epochs: 20, unused: 7 }));
  const plan = await ws.basin('plan');
  assert.match(plan.stdout, /0 to run, 10 cached/);
  const r = await ws.run();
  assert.deepEqual(r.ran, []);
});

test('early cutoff: an upstream rerun with identical output leaves downstream cached', async () => {
  // sleepMs changes the key of `data` but not its output bytes.
  ws.write('basin.yaml', pipeline({ epochs: 20, dataSleep: 5 }));
  const r = await ws.run();
  assert.equal(r.code, 0);
  assert.deepEqual(r.ran, ['data']);
  const done = r.events.find((e) => e.type === 'node-done' && e.node === 'data');
  assert.equal(done?.type === 'node-done' && done.unchanged, true);
  assert.equal(r.cached.length, ALL.length - 1);
});

test('a changed upstream output reruns downstream with the input named as the reason', async () => {
  ws.write('basin.yaml', pipeline({ epochs: 20, dataSleep: 5, dataValue: 'fashion' }));
  const r = await ws.run();
  assert.deepEqual(r.ran, ALL);
  const train = r.started.find((s) => s.node === 'train[seed=0,attack=0]');
  assert.deepEqual(train?.reasons, [{ code: 'input', input: 'data' }]);
});

test('reverting a change reuses the earlier results (keys are content, not history)', async () => {
  ws.write('basin.yaml', pipeline({ epochs: 10 }));
  const r = await ws.run();
  assert.deepEqual(r.ran, []);
  assert.deepEqual(r.cached, ALL);
});

test('--force reruns a stage; --only runs a stage and its ancestors', async () => {
  const forced = await ws.run('basin.yaml', '--force', 'hessian');
  assert.deepEqual(forced.ran, ALL.filter((n) => n.startsWith('hessian')));
  assert.ok(forced.started.every((s) => s.reasons[0]?.code === 'forced'));
  // hessian outputs are identical, so summary stays cached: early cutoff again.
  assert.ok(forced.cached.includes('summary'));

  ws.write('basin.yaml', pipeline({ epochs: 30 }));
  const only = await ws.run('basin.yaml', '--only', 'train[seed=0,attack=0]');
  assert.deepEqual(only.ran, ['train[seed=0,attack=0]']);
  // Compared with what last ran here (10, reverted from 20), not with the newest record.
  assert.deepEqual(only.started[0]?.reasons, [{ code: 'params', changes: [{ path: 'value', from: 10, to: 30 }] }]);
  assert.deepEqual(only.cached, ['data']);
  assert.equal(only.end.ran + only.end.cached, 2);
});

test('two nodes of one run with one key compute once: the other waits for it and reuses its outputs', async () => {
  const twins = workspaceWith(`
version: 1
name: twins
stages:
  a: { kind: probe, with: { value: same, sleepMs: 400 } }
  b: { kind: probe, with: { value: same, sleepMs: 400 } }
  c: { kind: probe, matrix: { i: [1, 2, 3] }, with: { value: same, sleepMs: 400 } }
`);
  const r = await twins.run('basin.yaml', '--jobs', '4');
  assert.equal(r.code, 0, r.result.stderr);
  assert.equal(r.ran.length, 1, `computed: ${r.ran.join(', ')}`);
  assert.equal(r.cached.length, 4);
  assert.equal(r.nodes('node-waiting').length, 4);
  assert.equal(r.end.ran, 1);
});
