import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avgPool2x2 } from './downsample.js';
import { DataError } from './error.js';

test('each output pixel is the mean of its 2x2 block, image by image', () => {
  // two 2x4 images
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1, 1, 0, 0, 1, 0.5]);
  assert.deepEqual([...avgPool2x2(x, 2, 2, 4)], [3.5, 5.5, 0, 0.875]);
});

test('odd sides are an error with a remedy', () => {
  assert.throws(() => avgPool2x2(new Float32Array(9), 1, 3, 3), (e: unknown) => e instanceof DataError && /images are 3x3: use downsample: 1/.test(e.message));
});
