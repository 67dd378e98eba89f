import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * TF.js allows one backend per thread (loadTf pins it), so the numerical tests run in this process
 * on one backend (BASIN_TEST_BACKEND, default cpu) and here, in a child `node --test`, on the other.
 * Numbers must agree with the float64 reference on both: wasm has its own kernels (XNNPACK, SIMD).
 */
const other = process.env['BASIN_TEST_BACKEND'] === 'wasm' ? 'cpu' : 'wasm';
const files = ['runtime.test.js', 'gradients.test.js', 'mlp.test.js', 'loss.test.js', 'hvp.test.js', 'basin/surface.test.js'];

test(`the TF.js tests also pass on the ${other} backend`, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, BASIN_TEST_BACKEND: other };
  // Inside `node --test` this variable would make the child speak the test runner's protocol.
  delete env['NODE_TEST_CONTEXT'];
  const paths = files.map((f) => fileURLToPath(new URL(f, import.meta.url)));
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...paths], { env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const failures = output.split('\n').filter((l) => /^\s*not ok/.test(l));
  assert.equal(status, 0, `node --test on ${other} failed:\n${failures.join('\n')}\n${output.slice(-4000)}`);
  assert.match(output, /# fail 0/);
});
