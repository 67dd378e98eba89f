import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, NotCanonical } from './canonical.js';

test('object keys are sorted by code unit, at every depth, without whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: 2, B: 3, _: 4, aa: 5 }), '{"B":3,"_":4,"a":2,"aa":5,"b":1}');
  assert.equal(canonicalJson({ z: { y: [{ b: 1, a: 2 }], x: null }, a: [] }), '{"a":[],"z":{"x":null,"y":[{"a":2,"b":1}]}}');
  // Code-unit order, not locale order: uppercase before lowercase, and astral characters by surrogates.
  assert.equal(canonicalJson({ é: 1, e: 2, E: 3, '\u{1F600}': 4, '\uFFFF': 5 }), '{"E":3,"e":2,"é":1,"\u{1F600}":4,"\uFFFF":5}');
});

test('scalars print as JSON.stringify prints them', () => {
  assert.equal(canonicalJson([true, false, null, 0, 1.5, -2, 1e21, 5e-324, 'a"b\\c\n']), '[true,false,null,0,1.5,-2,1e+21,5e-324,"a\\"b\\\\c\\n"]');
  assert.equal(canonicalJson('ünï ☃ \u{1F600}'), '"ünï ☃ \u{1F600}"');
  assert.equal(canonicalJson({}), '{}');
  assert.equal(canonicalJson(Object.create(null) as object), '{}');
});

test('equal values give equal text regardless of construction order', () => {
  const a = { params: { lr: 0.1, layers: [1, 2] }, name: 'x' };
  const b = { name: 'x', params: { layers: [1, 2], lr: 0.1 } };
  assert.equal(canonicalJson(a), canonicalJson(b));
});

test('rejects what has no single faithful JSON form, naming the path', () => {
  const rejects: [unknown, RegExp][] = [
    [{ a: NaN }, /\$\.a: NaN/],
    [[1, Infinity], /\$\[1\]: Infinity/],
    [{ a: -Infinity }, /-Infinity/],
    [{ a: undefined }, /\$\.a: undefined is not JSON/],
    [undefined, /undefined/],
    [{ n: -0 }, /-0/],
    [{ d: new Date(0) }, /Date is not a plain object/],
    [{ m: new Map() }, /Map is not a plain object/],
    [{ s: new Set() }, /Set is not a plain object/],
    [{ t: new Float32Array(2) }, /Float32Array is not a plain object/],
    [{ u: new Uint8Array(2) }, /Uint8Array is not a plain object/],
    [{ b: Buffer.from('x') }, /Buffer is not a plain object/],
    [[1, , 3], /\$\[1\]: sparse array hole/],
    [{ f: () => 1 }, /function is not JSON/],
    [{ s: Symbol('x') }, /symbol is not JSON/],
    [{ big: 1n }, /bigint is not JSON/],
    [{ c: new (class Point {})() }, /Point is not a plain object/],
  ];
  for (const [value, message] of rejects) {
    assert.throws(() => canonicalJson(value), (e: unknown) => e instanceof NotCanonical && message.test(e.message), String(message));
  }
});
