import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../../config/package-root.js';
import { DataError } from './error.js';
import { encodeIdx, parseIdx } from './idx.js';
import { loadIdxSet } from './idx-set.js';
import { readMaybeGzip } from './read.js';

const fixtures = join(packageRoot(), 'test/fixtures/data');
const at = (name: string) => ({ path: join(fixtures, name), shown: name });
const tmp = mkdtempSync(join(tmpdir(), 'basin-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('reads the tiny uint8 image and label files, raw and gzipped alike, pixels scaled to [0, 1]', async () => {
  const raw = await loadIdxSet(at('tiny-images-idx3-ubyte'), at('tiny-labels-idx1-ubyte'));
  const gz = await loadIdxSet(at('tiny-images-idx3-ubyte.gz'), at('tiny-labels-idx1-ubyte.gz'));
  assert.equal(raw.n, 12);
  assert.deepEqual(raw.inputShape, [4, 4]);
  assert.equal(raw.classes, 3);
  assert.deepEqual([...raw.labels], Array.from({ length: 12 }, (_, i) => i % 3));
  // pixel p of image i is (17i + 13p) mod 256 (test/fixtures/data/README.md)
  assert.equal(raw.x[5 * 16 + 7], Math.fround(((17 * 5 + 13 * 7) % 256) / 255));
  assert.ok(raw.x.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(gz.x, raw.x);
  assert.deepEqual(gz.labels, raw.labels);
});

test('gzip is recognised by its magic bytes, not the file name', async () => {
  const file = join(tmp, 'labels-without-suffix');
  writeFileSync(file, gzipSync(encodeIdx('uint8', [3], [2, 0, 1])));
  const bytes = await readMaybeGzip(file, 'labels-without-suffix');
  assert.deepEqual([...parseIdx(bytes, 'x').data], [2, 0, 1]);
});

test('other IDX dtypes are read big-endian', () => {
  for (const dtype of ['int8', 'int16', 'int32', 'float32', 'float64'] as const) {
    const values = [-3, 0, 7, 100, -100, 1];
    const parsed = parseIdx(encodeIdx(dtype, [2, 3], values), 'f');
    assert.equal(parsed.dtype, dtype);
    assert.deepEqual(parsed.dims, [2, 3]);
    assert.deepEqual([...parsed.data], values);
  }
});

test('malformed IDX files are rejected with a message naming the file and the problem', () => {
  const good = encodeIdx('uint8', [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['short', good.slice(0, 3), /"short" is not a valid IDX file: it has 3 bytes, fewer than the 4-byte header/],
    ['magic', Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0]), /"magic" is not a valid IDX file: it starts with bytes 50 4b, expected 00 00/],
    ['dtype', Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 0]), /"dtype" .*unknown data type byte 07/],
    ['rank0', Uint8Array.from([0, 0, 0x08, 0]), /"rank0" .*declares 0 dimensions/],
    ['header', Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2]), /"header" .*declares 3 dimensions but ends inside the header/],
    ['truncated', good.slice(0, good.length - 1), /"truncated" .*it is truncated: dimensions \[2, 2, 2\] of uint8 need 24 bytes, the file has 23/],
    ['long', Uint8Array.from([...good, 0]), /"long" .*longer than its header says/],
  ];
  for (const [name, bytes, message] of cases) assert.throws(() => parseIdx(bytes, name), (e: unknown) => e instanceof DataError && message.test(e.message), name);
});

test('a broken gzip stream, a missing file and mismatched image/label files say what is wrong', async () => {
  const broken = join(tmp, 'broken.gz');
  writeFileSync(broken, gzipSync(encodeIdx('uint8', [3], [1, 2, 3])).subarray(0, 12));
  await assert.rejects(readMaybeGzip(broken, 'broken.gz'), /"broken.gz" starts like gzip \(1f 8b\) but does not unpack/);
  await assert.rejects(readMaybeGzip(join(tmp, 'nope'), 'nope'), /data file "nope" does not exist/);

  writeFileSync(join(tmp, 'img'), encodeIdx('uint8', [3, 2, 2], new Array(12).fill(0)));
  writeFileSync(join(tmp, 'lab4'), encodeIdx('uint8', [4], [0, 1, 0, 1]));
  writeFileSync(join(tmp, 'lab2d'), encodeIdx('uint8', [3, 1], [0, 1, 0]));
  writeFileSync(join(tmp, 'labneg'), encodeIdx('int8', [3], [0, -1, 1]));
  writeFileSync(join(tmp, 'lab1class'), encodeIdx('uint8', [3], [0, 0, 0]));
  const f = (name: string) => ({ path: join(tmp, name), shown: name });
  await assert.rejects(loadIdxSet(f('img'), f('lab4')), /"img" holds 3 images but "lab4" holds 4 labels/);
  await assert.rejects(loadIdxSet(f('img'), f('lab2d')), /"lab2d" has dimensions \[3, 1\]; a labels file has one dimension/);
  await assert.rejects(loadIdxSet(f('lab4'), f('img')), /"lab4" has dimensions \[4\]; an images file has \[n, \.\.\.\]/);
  await assert.rejects(loadIdxSet(f('img'), f('labneg')), /"labneg": label 1 is -1; labels must be non-negative integers/);
  await assert.rejects(loadIdxSet(f('img'), f('lab1class')), /needs at least 2/);
});
