import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { BackendName } from './backend.js';
import { loadTf } from './runtime.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

/** Runs an ES module snippet in a fresh Node process (loadTf is once per thread). */
function runModule(code: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  // Inside `node --test` this variable would make the child speak the test runner's protocol.
  delete env['NODE_TEST_CONTEXT'];
  const runtime = JSON.stringify(new URL('./runtime.js', import.meta.url).href);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { loadTf } = await import(${runtime});\n${code}`], { encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('loadTf gives TF.js on the requested backend, the same object on every call', async () => {
  assert.equal(tf.getBackend(), backend === 'node' ? 'tensorflow' : backend);
  assert.equal(await loadTf(backend), tf);
  await Promise.all([loadTf(backend), loadTf(backend)]).then((all) => all.forEach((t) => assert.equal(t, tf)));
});

test('a second backend in the same thread is refused', async () => {
  const other: BackendName = backend === 'cpu' ? 'wasm' : 'cpu';
  await assert.rejects(loadTf(other), new RegExp(`already loaded on the ${backend} backend`));
  assert.equal(tf.getBackend(), backend);
});

test('loadTf installs the gradient fixes', () => {
  // Stock Tanh saves its output; the fix saves the input. Equal had no gradient at all.
  assert.deepEqual(tf.getGradient('Tanh')?.inputsToSave, ['x']);
  assert.equal(tf.getGradient('Tanh')?.outputsToSave, undefined);
  assert.ok(tf.getGradient('Equal'));
  const g = tf.tidy(() => tf.grad((x) => tf.sum(tf.exp(tf.max(x))))(tf.tensor1d([1, 2])).arraySync());
  assert.deepEqual(g, [0, Math.fround(Math.exp(2))]);
});

test('TF.js prints nothing: no banner, no warnings', () => {
  const r = runModule(`
    const tf = await loadTf(${JSON.stringify(backend)});
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    tf.grad((x) => tf.sum(tf.matMul(x, x)))(a).dataSync();
    process.stdout.write('done');`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'done');
  assert.equal(r.stderr, '');
});

test('the node backend without @tensorflow/tfjs-node fails as a StageFailure naming the remedy', (t) => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    t.skip('@tensorflow/tfjs-node is installed here');
    return;
  } catch {
    // Not installed: the case this test is about.
  }
  const r = runModule(`
    const error = await loadTf('node').then(() => undefined, (e) => e);
    // A failed load leaves no backend pinned: the stage may retry on another one.
    const tf = await loadTf('cpu');
    console.log(JSON.stringify({ name: error?.name, message: error?.message, then: tf.getBackend() }));`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    name: 'StageFailure',
    message: 'backend node: @tensorflow/tfjs-node is not installed; use --backend wasm',
    then: 'cpu',
  });
});
