import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportOutputs } from '../../src/store/export.js';
import { openMemoryStore } from '../../src/store/memory-store.js';
import { npyBytes, npyHeader } from '../../src/store/npy.js';
import { makeCommit } from './harness.js';

// Exact headers as numpy 2.x writes them (np.save), pasted from `repr(header)`: the dict, the
// growth spaces for the first axis, padding to 64 bytes and the final newline.
const pad = (s: string, total: number) => s + ' '.repeat(total - s.length - 1) + '\n';
const numpyHeaders: [Parameters<typeof npyHeader>, string][] = [
  [['float32', [2, 3]], pad("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 128)],
  [['float64', [5]], pad("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 128)],
  [['uint8', []], pad("\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (), }", 128)],
  [['int32', [0]], pad("\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }", 128)],
  [['int16', [1, 2, 3, 4]], pad("\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (1, 2, 3, 4), }", 128)],
  [['float32', [12345678901, 1]], pad("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (12345678901, 1), }", 128)],
];

test('npy headers match numpy byte for byte', () => {
  for (const [[dtype, shape], expected] of numpyHeaders) {
    const header = npyHeader(dtype, shape);
    assert.equal(Buffer.from(header).toString('latin1'), expected, `${dtype} (${shape.join(', ')})`);
    assert.equal(header.byteLength % 64, 0);
  }
  // The float32 (2, 3) example in full: header length field 0x0076 = 118, 10 + 118 = 128.
  const h = npyHeader('float32', [2, 3]);
  assert.deepEqual([...h.subarray(0, 10)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76, 0]);
  assert.equal(h[127], 0x0a);
});

test('npy data follows the header, little-endian', () => {
  const bytes = npyBytes('int16', [2], Int16Array.from([1, -2]));
  assert.equal(bytes.byteLength, 128 + 4);
  assert.deepEqual([...bytes.subarray(128)], [0x01, 0x00, 0xfe, 0xff]);
});

test('exportOutputs writes one file per output plus record.json', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'basin-export-'));
  try {
    const store = openMemoryStore();
    const c = makeCommit(
      {
        metrics: { type: 'json', value: { loss: 0.5, curve: [1, 2] } },
        weights: { type: 'array', dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        stdout: { type: 'bytes', data: Buffer.from('hello\n'), mediaType: 'text/plain; charset=utf-8' },
        raw: { type: 'bytes', data: new Uint8Array([1, 2]) },
        'plot.svg': { type: 'bytes', data: Buffer.from('<svg/>'), mediaType: 'image/svg+xml' },
      },
      { e: 1 },
    );
    await store.commit(c.record, c.payloads, c.state);
    const written = await exportOutputs(c.record, store, join(dir, 'out'));
    assert.deepEqual(written.map((p) => basename(p)), ['metrics.json', 'plot.svg', 'raw.bin', 'stdout.txt', 'weights.npy', 'record.json']);
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['metrics.json', 'plot.svg', 'raw.bin', 'record.json', 'stdout.txt', 'weights.npy']);
    assert.equal(await readFile(join(dir, 'out', 'metrics.json'), 'utf8'), '{\n  "curve": [\n    1,\n    2\n  ],\n  "loss": 0.5\n}\n');
    assert.equal(await readFile(join(dir, 'out', 'stdout.txt'), 'utf8'), 'hello\n');
    assert.deepEqual([...(await readFile(join(dir, 'out', 'raw.bin')))], [1, 2]);
    const npy = await readFile(join(dir, 'out', 'weights.npy'));
    assert.equal(npy.subarray(0, 128).toString('latin1'), numpyHeaders[0]![1]);
    assert.deepEqual([...new Float32Array(npy.buffer.slice(npy.byteOffset + 128, npy.byteOffset + npy.byteLength))], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'out', 'record.json'), 'utf8')), c.record);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('exportOutputs refuses colliding file names and missing payloads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'basin-export-'));
  try {
    const store = openMemoryStore();
    const c = makeCommit({ a: { type: 'json', value: 1 }, 'a.json': { type: 'bytes', data: new Uint8Array(1) } }, { e: 2 });
    await store.commit(c.record, c.payloads, c.state);
    await assert.rejects(exportOutputs(c.record, store, dir), /both be named a\.json/);
    const r = makeCommit({ record: { type: 'json', value: 1 } }, { e: 3 });
    await store.commit(r.record, r.payloads, r.state);
    await assert.rejects(exportOutputs(r.record, store, dir), /record\.json/);
    const m = makeCommit({ gone: { type: 'json', value: 'x' } }, { e: 4 });
    await assert.rejects(exportOutputs(m.record, store, dir), /not in the store/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
