import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './canonical.js';
import { asDigest } from './ids.js';
import { KEY_FORMAT, nodeKey, type FingerprintRecord } from './key.js';

/**
 * Golden node keys. These literals were computed once and pasted here. If one changes, every
 * stored result would silently be recomputed (or worse, a different record could map to an old
 * key): a change to the key derivation or the record's shape REQUIRES bumping KEY_FORMAT, and
 * then updating these literals in the same commit.
 */
const d = (hexByte: string) => asDigest('sha256:' + hexByte.repeat(32));

const golden: [string, FingerprintRecord, string][] = [
  ['minimal', { keyFormat: KEY_FORMAT, kind: 'noop', kindVersion: 1, params: {}, inputs: {}, runtime: {}, files: {} }, '872bce6771989cb0f986681b8a58d725f8bcbe38d9f0b31acee90a3b4bcf12d9'],
  [
    'train',
    {
      keyFormat: KEY_FORMAT,
      kind: 'train',
      kindVersion: 3,
      params: { lr: 0.01, epochs: 5, layers: [784, 100, 10], optimizer: { name: 'sgd', momentum: 0.9 } },
      inputs: { data: d('ab') },
      runtime: { backend: 'wasm', tfjs: '4.22.0' },
      files: {},
    },
    '5506706c54c2e2892487ed6c0fdb922febfe25bf4b840ffaef6cb05f78087fa4',
  ],
  [
    'gather (list input, order matters)',
    { keyFormat: KEY_FORMAT, kind: 'correlate', kindVersion: 1, params: { method: 'spearman' }, inputs: { seeds: [d('01'), d('02'), d('03')] }, runtime: {}, files: {} },
    'b01e23b56921bd8090d456c16475a92fda23b3f633c629a49493a881ebe0118a',
  ],
  [
    'command with files',
    {
      keyFormat: KEY_FORMAT,
      kind: 'command',
      kindVersion: 2,
      params: { run: 'python prep.py --out data/ünï.csv', env: { SEED: '1' } },
      inputs: {},
      runtime: { platform: 'linux' },
      files: { 'prep.py': d('cd'), 'data/raw': d('ef') },
    },
    '3a63b315b0dfd74b5f3d08c787ff3befaae258c44b1064364799d846cc21c403',
  ],
];

test('KEY_FORMAT is 1 (bump it, and the golden keys below, when the derivation changes)', () => {
  assert.equal(KEY_FORMAT, 1);
});

for (const [name, record, key] of golden) {
  test(`golden key: ${name}`, () => {
    assert.equal(nodeKey(record), key);
  });
}

test('the minimal key is SHA-256 of this exact canonical text (checked independently with Python hashlib)', () => {
  const text = '{"files":{},"inputs":{},"keyFormat":1,"kind":"noop","kindVersion":1,"params":{},"runtime":{}}';
  assert.equal(canonicalJson(golden[0]![1]), text);
  assert.equal(createHash('sha256').update(text).digest('hex'), golden[0]![2]);
});

test('keys ignore property order and notice every field', () => {
  const base = golden[1]![1];
  const reordered: FingerprintRecord = { files: base.files, runtime: base.runtime, inputs: base.inputs, params: { optimizer: { momentum: 0.9, name: 'sgd' }, layers: [784, 100, 10], epochs: 5, lr: 0.01 }, kindVersion: 3, kind: 'train', keyFormat: KEY_FORMAT };
  assert.equal(nodeKey(reordered), nodeKey(base));
  const variants: FingerprintRecord[] = [
    { ...base, kind: 'train2' },
    { ...base, kindVersion: 4 },
    { ...base, params: { ...(base.params as object), lr: 0.02 } },
    { ...base, inputs: { data: d('ac') } },
    { ...base, runtime: { backend: 'cpu', tfjs: '4.22.0' } },
    { ...base, files: { 'x.py': d('00') } },
  ];
  const keys = new Set([nodeKey(base), ...variants.map(nodeKey)]);
  assert.equal(keys.size, variants.length + 1);
  // A list input is ordered: gathering seeds in another order is another key.
  const g = golden[2]![1];
  assert.notEqual(nodeKey({ ...g, inputs: { seeds: [d('02'), d('01'), d('03')] } }), nodeKey(g));
});
