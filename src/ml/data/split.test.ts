import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { DataError } from './error.js';
import { splitIndices } from './split.js';

const what = 'the test pool';

test('S, attack pool and test set are disjoint, have the asked sizes and index the pool', () => {
  const n = 1000;
  const s = splitIndices(n, { train: 300, attack: 400, test: 250 }, new Rng(1), { what });
  assert.deepEqual([s.train.length, s.attack.length, s.test.length], [300, 400, 250]);
  const all = [...s.train, ...s.attack, ...s.test];
  assert.equal(new Set(all).size, all.length, 'disjoint');
  assert.ok(all.every((i) => Number.isInteger(i) && i >= 0 && i < n));
  // Using every example is allowed; an empty attack pool too.
  const full = splitIndices(10, { train: 4, attack: 0, test: 6 }, new Rng(1), { what });
  assert.deepEqual([...full.train, ...full.test].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.equal(full.attack.length, 0);
});

test('the same seed gives the same split; another seed another', () => {
  const sizes = { train: 50, attack: 50, test: 50 };
  const a = splitIndices(500, sizes, new Rng(7).derive('split'), { what });
  const b = splitIndices(500, sizes, new Rng(7).derive('split'), { what });
  const c = splitIndices(500, sizes, new Rng(8).derive('split'), { what });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.train, c.train);
});

test('a split larger than the pool is an error saying how many exist', () => {
  assert.throws(
    () => splitIndices(10000, { train: 1000, attack: 8000, test: 2000 }, new Rng(0), { what: 'source mnist (10000 digits)' }),
    (e: unknown) => e instanceof DataError && e.message === 'the split needs train 1000 + attack 8000 + test 2000 = 11000 examples, but source mnist (10000 digits) has 10000: lower train, attack or test',
  );
});

test('balanced: S has equal class counts (the first classes one more), the rest keeps permutation order', () => {
  // 3 classes, unequal: class 0 is rare.
  const labels = Int32Array.from({ length: 600 }, (_, i) => (i < 60 ? 0 : i < 300 ? 1 : 2));
  const s = splitIndices(600, { train: 100, attack: 200, test: 100 }, new Rng(3), { what, balanced: { labels, classes: 3 } });
  const counts = [0, 0, 0];
  for (const i of s.train) counts[labels[i]!]!++;
  assert.deepEqual(counts, [34, 33, 33]);
  const all = [...s.train, ...s.attack, ...s.test];
  assert.equal(new Set(all).size, 400);
  assert.throws(
    () => splitIndices(600, { train: 300, attack: 0, test: 0 }, new Rng(3), { what, balanced: { labels, classes: 3 } }),
    /balanced: true needs 100 examples of class 0 in S, but the test pool has only 60: lower train, or set balanced: false/,
  );
});
