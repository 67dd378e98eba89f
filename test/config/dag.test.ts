import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCycles, topologicalOrder } from '../../src/graph/dag.js';

const graph = (edges: Record<string, string[]>) => (k: string): string[] => edges[k] ?? [];

test('topological order is stable: file order among ready keys', () => {
  const deps = graph({ a: ['c'], b: [], c: [], d: ['a', 'b'] });
  assert.deepEqual(topologicalOrder(['a', 'b', 'c', 'd'], deps), { order: ['b', 'c', 'a', 'd'], blocked: [] });
});

test('cycles block their members and everything downstream, nothing else', () => {
  const deps = graph({ a: ['b'], b: ['a'], c: ['a'], d: [] });
  assert.deepEqual(topologicalOrder(['a', 'b', 'c', 'd'], deps), { order: ['d'], blocked: ['a', 'b', 'c'] });
});

test('dependencies outside the key set are ignored', () => {
  assert.deepEqual(topologicalOrder(['a'], graph({ a: ['zzz'] })).order, ['a']);
});

test('findCycles gives one shortest cycle per component, from its earliest key', () => {
  const deps = graph({ a: ['c'], b: ['a'], c: ['b', 'x'], x: ['y'], y: ['x'], z: ['z'] });
  assert.deepEqual(findCycles(['a', 'b', 'c', 'x', 'y', 'z'], deps), [
    ['a', 'c', 'b', 'a'],
    ['x', 'y', 'x'],
  ]);
});

test('findCycles handles long chains without recursion', () => {
  const n = 100_000;
  const keys = Array.from({ length: n }, (_, i) => i);
  const cycles = findCycles(keys, (k) => [(k + 1) % n]);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0]!.length, n + 1);
  assert.deepEqual(topologicalOrder(keys, (k) => (k > 0 ? [k - 1] : [])).order.slice(0, 3), [0, 1, 2]);
});
