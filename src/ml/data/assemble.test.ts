import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { assemble, type AssembledDataset } from './assemble.js';
import { gaussianMixture, regression1d } from './synthetic.js';

const pool = gaussianMixture(700, { classes: 3, dims: 2, separation: 3, std: 1 }, new Rng('points'));
const sizes = { train: 100, attack: 300, test: 200 };
const make = (seed: number | string, balanced = false) => assemble(pool, { source: 'gaussian-mixture', sizes, seed, balanced, what: 'the generated set' });
const bytes = (d: AssembledDataset) => Buffer.concat(Object.values(d.arrays).map((a) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)));

test('the outputs of types.ts: names, dtypes, shapes, meta with class counts', () => {
  const d = make(0);
  const shapes = Object.fromEntries(Object.entries(d.arrays).map(([k, a]) => [k, [a.dtype, a.shape]]));
  assert.deepEqual(shapes, {
    x_train: ['float32', [100, 2]], y_train: ['int32', [100]],
    x_attack: ['float32', [300, 2]], y_attack: ['int32', [300]], y_attack_true: ['int32', [300]],
    x_test: ['float32', [200, 2]], y_test: ['int32', [200]],
  });
  assert.equal(d.meta.task, 'classification');
  assert.equal(d.meta.classes, 3);
  assert.equal(d.meta.features, 2);
  assert.deepEqual(d.meta.counts, sizes);
  assert.equal(d.meta.classCounts!.train.reduce((a, b) => a + b), 100);
  assert.equal(d.meta.classCounts!.attack.reduce((a, b) => a + b), 300);
  assert.ok(d.arrays.y_attack.data.every((y, i) => y !== d.arrays.y_attack_true.data[i]));
});

test('rows and labels stay paired: each output row is a pool row with its label', () => {
  const d = make(1);
  const key = (x: ArrayLike<number>, i: number) => `${x[2 * i]},${x[2 * i + 1]}`;
  const labelOf = new Map([...Array(pool.n).keys()].map((i) => [key(pool.x, i), pool.labels[i]]));
  for (const [x, y] of [['x_train', 'y_train'], ['x_attack', 'y_attack_true'], ['x_test', 'y_test']] as const) {
    const xs = d.arrays[x].data;
    d.arrays[y].data.forEach((label, i) => assert.equal(labelOf.get(key(xs, i)), label));
  }
});

test('same seed: byte-identical outputs; another seed: different ones', () => {
  assert.ok(bytes(make(3)).equals(bytes(make(3))));
  assert.ok(!bytes(make(3)).equals(bytes(make(4))));
  assert.deepEqual(make('a').meta, make('a').meta);
});

test('balanced S', () => {
  assert.deepEqual(make(0, true).meta.classCounts!.train, [34, 33, 33]);
});

test('regression: float32 targets [n, 1], an empty attack pool, no classes', () => {
  const r = assemble(regression1d(30, { noise: 0.1, frequency: 1 }, new Rng(0)), { source: 'regression-1d', sizes: { train: 10, attack: 0, test: 20 }, seed: 0, balanced: false, what: 'x' });
  assert.deepEqual([r.arrays.y_train.dtype, r.arrays.y_train.shape], ['float32', [10, 1]]);
  assert.deepEqual(r.arrays.x_attack.shape, [0, 1]);
  assert.deepEqual(r.arrays.y_attack.shape, [0]);
  assert.deepEqual(r.meta, { source: 'regression-1d', inputShape: [1], features: 1, counts: { train: 10, attack: 0, test: 20 }, seed: 0, task: 'regression', classes: 0, targetDim: 1 });
});
