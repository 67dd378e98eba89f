import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { classMeans, gaussianMixture, regression1d, spirals, swissRoll } from './synthetic.js';
import type { ClassificationPool } from './pool.js';

const counts = (p: ClassificationPool) => {
  const c = new Array<number>(p.classes).fill(0);
  for (const y of p.labels) c[y]!++;
  return c;
};
const mean = (p: ClassificationPool, cls: number, j: number) => {
  let s = 0;
  let k = 0;
  for (let i = 0; i < p.n; i++) if (p.labels[i] === cls) (s += p.x[i * p.inputShape[0]! + j]!), k++;
  return s / k;
};

test('gaussian mixture: shape, balanced classes, means `separation` apart, spread `std`', () => {
  const p = gaussianMixture(3001, { classes: 3, dims: 4, separation: 3, std: 0.5 }, new Rng(0));
  assert.deepEqual(p.inputShape, [4]);
  assert.equal(p.x.length, 3001 * 4);
  assert.deepEqual(counts(p), [1001, 1000, 1000]);
  const m = classMeans({ classes: 3, dims: 4, separation: 3 });
  for (let c = 0; c < 3; c++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(mean(p, c, j) - m[c]![j]!) < 0.05);
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));
  for (const o of [{ classes: 3, dims: 4 }, { classes: 5, dims: 2 }, { classes: 4, dims: 1 }]) {
    const ms = classMeans({ ...o, separation: 3 });
    // neighbours (consecutive classes) are `separation` apart in every layout
    for (let c = 1; c < o.classes; c++) assert.ok(Math.abs(dist(ms[c]!, ms[c - 1]!) - 3) < 1e-12, JSON.stringify(o));
  }
});

test('spirals and swiss roll: 2-D, balanced classes, within their expected extent', () => {
  const s = spirals(1000, { classes: 2, noise: 0, turns: 1.5 }, new Rng(1));
  const r = swissRoll(1001, { classes: 3, noise: 0, }, new Rng(1));
  assert.deepEqual(counts(s), [500, 500]);
  assert.deepEqual(counts(r), [334, 334, 333]);
  for (const p of [s, r]) {
    assert.deepEqual(p.inputShape, [2]);
    for (let i = 0; i < p.n; i++) assert.ok(Math.hypot(p.x[2 * i]!, p.x[2 * i + 1]!) <= 1 + 1e-6);
  }
  // Noise-free swiss roll: the radius grows with the band, so class c lies in its own ring.
  const radius = (i: number) => Math.hypot(r.x[2 * i]!, r.x[2 * i + 1]!);
  const ranges = [0, 1, 2].map((c) => {
    const rs = [...Array(r.n).keys()].filter((i) => r.labels[i] === c).map(radius);
    return [Math.min(...rs), Math.max(...rs)];
  });
  assert.ok(ranges[0]![1]! <= ranges[1]![0]! && ranges[1]![1]! <= ranges[2]![0]!, JSON.stringify(ranges));
});

test('regression-1d: x in [-1, 1], y = sin(2 pi f x) exactly without noise', () => {
  const p = regression1d(50, { noise: 0, frequency: 1 }, new Rng(2));
  assert.deepEqual(p.inputShape, [1]);
  assert.equal(p.targetDim, 1);
  for (let i = 0; i < p.n; i++) {
    assert.ok(p.x[i]! >= -1 && p.x[i]! <= 1);
    assert.equal(p.targets[i], Math.fround(Math.sin(2 * Math.PI * p.x[i]!)));
  }
});

test('generators are deterministic for a seed and differ between seeds', () => {
  const make = (seed: number) => [
    gaussianMixture(100, { classes: 2, dims: 2, separation: 3, std: 1 }, new Rng(seed)).x,
    spirals(100, { classes: 2, noise: 0.05, turns: 1.5 }, new Rng(seed)).x,
    swissRoll(100, { classes: 2, noise: 0.05 }, new Rng(seed)).x,
    regression1d(100, { noise: 0.1, frequency: 1 }, new Rng(seed)).targets,
  ];
  const [a, b, c] = [make(4), make(4), make(5)];
  a.forEach((x, i) => {
    assert.deepEqual(Buffer.from(x.buffer), Buffer.from(b[i]!.buffer));
    assert.notDeepEqual(Buffer.from(x.buffer), Buffer.from(c[i]!.buffer));
  });
});
