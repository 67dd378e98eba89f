import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble } from './assemble.js';
import { avgPool2x2 } from './downsample.js';
import { DataError } from './error.js';
import { loadMnist, parseDigitFile } from './mnist.js';

const started = performance.now();
const digits = loadMnist();

test('the package digits load deterministically in under a second: 10,000 images [28, 28] in [0, 1], 10 classes', async () => {
  const pool = await digits;
  const ms = performance.now() - started;
  assert.ok(ms < 1000, `loading took ${ms.toFixed(0)} ms`);
  assert.equal(pool.n, 10000);
  assert.deepEqual(pool.inputShape, [28, 28]);
  assert.equal(pool.x.length, 10000 * 784);
  assert.equal(pool.classes, 10);
  const counts = new Array<number>(10).fill(0);
  for (const y of pool.labels) counts[y]!++;
  // As shipped by mnist 1.1.0: digit-major order, file order within a digit.
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  let min = Infinity;
  let max = -Infinity;
  for (const v of pool.x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  const again = await loadMnist();
  assert.deepEqual(again.x.subarray(0, 784 * 50), pool.x.subarray(0, 784 * 50));
});

test('downsample 2: 196 pixels, each the mean of its 2x2 block', async () => {
  const pool = await digits;
  const small = avgPool2x2(pool.x, pool.n, 28, 28);
  assert.equal(small.length, pool.n * 196);
  const image = 1234;
  const [r, c] = [7, 6]; // the middle of the digit: not an all-zero block
  const px = (rr: number, cc: number) => pool.x[image * 784 + rr * 28 + cc]!;
  const mean = (px(2 * r, 2 * c) + px(2 * r, 2 * c + 1) + px(2 * r + 1, 2 * c) + px(2 * r + 1, 2 * c + 1)) / 4;
  assert.ok(mean > 0);
  assert.equal(small[image * 196 + r * 14 + c], Math.fround(mean));
});

test('train + attack + test beyond the 10,000 digits is rejected, saying how many exist', async () => {
  const pool = await digits;
  assert.throws(
    () => assemble(pool, { source: 'mnist', sizes: { train: 1000, attack: 8000, test: 2000 }, seed: 0, balanced: false, what: 'source mnist' }),
    (e: unknown) => e instanceof DataError && /= 11000 examples, but source mnist has 10000/.test(e.message),
  );
});

test('the byte scanner gives exactly what JSON.parse gives, and falls back to it on other input', async () => {
  const { readFile } = await import('node:fs/promises');
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const file = join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits', '3.json');
  const bytes = await readFile(file);
  const reference = Float32Array.from((JSON.parse(bytes.toString('utf8')) as { data: number[] }).data);
  assert.ok(Buffer.from(parseDigitFile(bytes).buffer).equals(Buffer.from(reference.buffer)));
  const text = (s: string) => parseDigitFile(Buffer.from(s));
  assert.deepEqual([...text('{"data": []}')], []);
  assert.deepEqual([...text('{"data":[1,0.5,0.125]}')], [1, 0.5, 0.125]);
  assert.deepEqual([...text('{ "data": [1e2, -1] }')], [100, -1]);
});
