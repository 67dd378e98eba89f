import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArtifact, digestFrame, digestPayload, encodeOutputs, framePayload, InvalidOutput, unframePayload } from './artifact-codec.js';
import { NotCanonical } from './canonical.js';
import type { Artifact, Outputs } from '../stages/artifact.js';

test('digests pinned against an independent SHA-256 (Python hashlib over header line + bytes)', () => {
  assert.equal(digestPayload({ type: 'json' }, Buffer.from('1')), 'sha256:d8cb3161c94ba13d3a91cfe350bfe66d5a5aae8f487da4130f754282e56c3a79');
  const { refs } = encodeOutputs({ a: { type: 'array', dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } });
  assert.equal(refs['a']!.digest, 'sha256:4643effbfb2f4ce72dcef8fa0522c54e71995f86cca2d8a960cfaf2645249887');
});

test('equal bytes of a different type, dtype, shape or media type have different digests', () => {
  const bytes = new Uint8Array(8);
  const digests = [
    digestPayload({ type: 'bytes' }, bytes),
    digestPayload({ type: 'bytes', mediaType: 'text/plain' }, bytes),
    digestPayload({ type: 'json' }, bytes),
    digestPayload({ type: 'array', dtype: 'float32', shape: [2] }, bytes),
    digestPayload({ type: 'array', dtype: 'int32', shape: [2] }, bytes),
    digestPayload({ type: 'array', dtype: 'float32', shape: [1, 2] }, bytes),
    digestPayload({ type: 'array', dtype: 'float64', shape: [1] }, bytes),
    digestPayload({ type: 'array', dtype: 'uint8', shape: [8] }, bytes),
  ];
  assert.equal(new Set(digests).size, digests.length);
  for (const d of digests) assert.match(d, /^sha256:[0-9a-f]{64}$/);
});

test('a stored frame is exactly the digest preimage', () => {
  const h = { type: 'bytes', mediaType: 'text/plain' } as const;
  const bytes = Buffer.from('line one\nline two\n');
  const frame = framePayload(h, bytes);
  assert.equal(digestFrame(frame), digestPayload(h, bytes));
  assert.deepEqual(unframePayload(frame), new Uint8Array(bytes));
  assert.equal(unframePayload(new Uint8Array([1, 2, 3])), undefined);
});

test('encodeOutputs: refs, payload bytes and the manifest digest', () => {
  const outputs: Outputs = {
    metrics: { type: 'json', value: { b: 1, a: [true, null] } },
    log: { type: 'bytes', data: Buffer.from('hi'), mediaType: 'text/plain' },
    w: { type: 'array', dtype: 'int16', shape: [2, 1], data: Int16Array.from([1, -1]) },
  };
  const enc = encodeOutputs(outputs);
  assert.deepEqual(Object.keys(enc.refs).sort(), ['log', 'metrics', 'w']);
  const m = enc.refs['metrics']!;
  assert.deepEqual(new TextDecoder().decode(enc.payloads.get(m.digest)), '{"a":[true,null],"b":1}');
  assert.deepEqual({ ...m, digest: '' }, { digest: '', type: 'json', bytes: 23 });
  assert.deepEqual({ ...enc.refs['log']!, digest: '' }, { digest: '', type: 'bytes', bytes: 2, mediaType: 'text/plain' });
  assert.deepEqual({ ...enc.refs['w']!, digest: '' }, { digest: '', type: 'array', bytes: 4, dtype: 'int16', shape: [2, 1] });
  assert.deepEqual([...enc.payloads.get(enc.refs['w']!.digest)!], [1, 0, 0xff, 0xff], 'little-endian');

  // The manifest digest ignores insertion order and follows every output's content.
  const reordered = encodeOutputs({ w: outputs['w']!, log: outputs['log']!, metrics: outputs['metrics']! });
  assert.equal(reordered.outputsDigest, enc.outputsDigest);
  const changed = encodeOutputs({ ...outputs, log: { type: 'bytes', data: Buffer.from('ho'), mediaType: 'text/plain' } });
  assert.notEqual(changed.outputsDigest, enc.outputsDigest);
  const renamed = encodeOutputs({ metrics: outputs['metrics']!, log2: outputs['log']!, w: outputs['w']! });
  assert.notEqual(renamed.outputsDigest, enc.outputsDigest);
});

test('array payloads: a whole-buffer view is used as is, a partial view is copied exactly', () => {
  const whole = Float64Array.from([1, 2, 3]);
  const enc1 = encodeOutputs({ a: { type: 'array', dtype: 'float64', shape: [3], data: whole } });
  assert.equal(enc1.payloads.values().next().value!.buffer, whole.buffer);
  const big = new Float64Array(100).fill(7);
  const part = big.subarray(10, 13);
  const enc2 = encodeOutputs({ a: { type: 'array', dtype: 'float64', shape: [3], data: part } });
  const bytes = enc2.payloads.values().next().value!;
  assert.notEqual(bytes.buffer, big.buffer);
  assert.equal(bytes.buffer.byteLength, 24);
  assert.deepEqual([...new Float64Array(bytes.buffer)], [7, 7, 7]);
});

test('invalid outputs are refused with their name', () => {
  const bad: [Outputs, RegExp | (new (...a: never[]) => Error)][] = [
    [{ '1abc': { type: 'json', value: 1 } }, /names must match/],
    [{ 'a b': { type: 'json', value: 1 } }, /names must match/],
    [{ '': { type: 'json', value: 1 } }, /names must match/],
    [{ a: { type: 'array', dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } }, /needs 4 elements, the data has 3/],
    [{ a: { type: 'array', dtype: 'float32', shape: [3], data: new Float64Array(3) } }, /float64 array/],
    [{ a: { type: 'array', dtype: 'uint8', shape: [-1], data: new Uint8Array(0) } }, /non-negative integer/],
    [{ a: { type: 'array', dtype: 'uint8', shape: [1.5], data: new Uint8Array(0) } }, /non-negative integer/],
    [{ a: { type: 'json', value: { x: NaN } } }, NotCanonical],
  ];
  for (const [outputs, expected] of bad) {
    assert.throws(() => encodeOutputs(outputs), expected instanceof RegExp ? (e: unknown) => e instanceof InvalidOutput && expected.test(e.message) : expected);
  }
  assert.doesNotThrow(() => encodeOutputs({ _a: { type: 'json', value: 1 }, 'b.c-d_1': { type: 'json', value: 1 } }));
});

test('decodeArtifact round-trips every dtype and realigns misaligned bytes', () => {
  const arrays: Artifact[] = [
    { type: 'array', dtype: 'float32', shape: [3], data: Float32Array.from([1.5, -0, 3e38]) },
    { type: 'array', dtype: 'float64', shape: [1, 2], data: Float64Array.from([NaN, -Infinity]) },
    { type: 'array', dtype: 'int32', shape: [1], data: Int32Array.from([-5]) },
    { type: 'array', dtype: 'uint32', shape: [1], data: Uint32Array.from([5]) },
    { type: 'array', dtype: 'int16', shape: [1], data: Int16Array.from([-5]) },
    { type: 'array', dtype: 'uint16', shape: [1], data: Uint16Array.from([5]) },
    { type: 'array', dtype: 'int8', shape: [1], data: Int8Array.from([-5]) },
    { type: 'array', dtype: 'uint8', shape: [2, 0], data: new Uint8Array(0) },
  ];
  for (const a of arrays) {
    const { refs, payloads } = encodeOutputs({ a });
    const ref = refs['a']!;
    const bytes = payloads.get(ref.digest)!;
    assert.deepEqual(decodeArtifact(ref, bytes), a);
    // The same bytes at an odd offset inside a larger buffer.
    const host = new Uint8Array(bytes.byteLength + 3);
    host.set(bytes, 1);
    const decoded = decodeArtifact(ref, host.subarray(1, 1 + bytes.byteLength));
    assert.deepEqual(decoded, a);
  }
  const { refs, payloads } = encodeOutputs({ j: { type: 'json', value: { ü: [1, 'x'] } } });
  assert.deepEqual(decodeArtifact(refs['j']!, payloads.get(refs['j']!.digest)!), { type: 'json', value: { ü: [1, 'x'] } });
  assert.throws(() => decodeArtifact(refs['j']!, new Uint8Array(1)), /has 1 bytes/);
});
