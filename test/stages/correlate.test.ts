import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BackendName } from '../../src/ml/backend.js';
import { workspaceWith } from '../engine/rig.js';

/**
 * The `correlate` stage through the real CLI: a small sweep (3 seeds x 2 attack sizes of a tiny MLP on
 * a Gaussian mixture) with a hessian per model, gathered into one table; the analyses themselves are
 * tested in src/analysis/*.test.ts.
 */
const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;

const pipeline = (extra = '') => `version: 1
name: sweep
settings: { backend: ${backend} }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, dims: 3, classes: 3, train: 40, attack: 20, test: 60, separation: 3, std: 1 } }
  train:
    kind: train
    matrix: { seed: [0, 1, 2], attack: [0, 20] }
    inputs: { data: data }
    with: { model: { hidden: [6] }, optimizer: { name: adam, lr: 0.02 }, batchSize: 10, maxEpochs: 150, attack: "\${matrix.attack}", seed: "\${matrix.seed}" }
  hessian:
    kind: hessian
    foreach: train
    inputs: { model: train, data: data }
    with: { topK: 1, bottom: 0, hutchinson: 10, hutchpp: 0, slq: { runs: 0 }, dense: off }
  correlate:
    kind: correlate
    inputs: { train: train, hessian: hessian }
    with: { bootstrap: 200 }
  report:
    kind: report
    inputs: { correlate: correlate, hessian: hessian }
    with: { title: "tiny sweep" }
${extra}`;

test('CLI: correlate gathers a sweep into one table; show, export; bad inputs fail with a remedy', async () => {
  const ws = workspaceWith(pipeline());
  const r = await ws.basin('run');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /done\s+correlate\s+\S+\s+6 models; Spearman with train\.testAcc: \S+ -?[0-9.]+ \[-?[0-9.]+, -?[0-9.]+\]/);

  const out = join(ws.dir, 'out');
  const ex = await ws.basin('export', 'correlate', '--out', out);
  assert.equal(ex.code, 0, ex.stderr);
  const csv = readFileSync(join(out, 'table_csv.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 7);
  const header = csv[0]!.split(',');
  assert.deepEqual(header.slice(0, 3), ['nodes', 'seed', 'attack']);
  for (const c of ['train.testAcc', 'train.gap', 'hessian.lambdaMax', 'hessian.trace', 'hessian.frobenius']) assert.ok(header.includes(c), c);
  assert.match(csv[1]!, /^"train\[seed=0,attack=0\] hessian\[seed=0,attack=0\]",0,0,/);
  const analysis = JSON.parse(readFileSync(join(out, 'correlations.json'), 'utf8')) as { models: number; contrast: { rows: { metric: string; n: number }[] }; granulated: unknown[] };
  assert.equal(analysis.models, 6);
  assert.equal(analysis.contrast.rows.find((c) => c.metric === 'hessian.lambdaMax')?.n, 3);
  assert.ok(Array.isArray(analysis.granulated));

  const rep = await ws.basin('report', '--out', 'rep');
  assert.equal(rep.code, 0, rep.stderr);
  const written = rep.stdout.trim().split('\n').map((l) => l.replace(/^wrote .*\/rep\//, '')).sort();
  const figures = written.filter((f) => f.startsWith('figures/'));
  assert.deepEqual(written.filter((f) => !f.startsWith('figures/')), ['models.csv', 'report.html', 'summary.md']);
  const html = readFileSync(join(ws.dir, 'rep', 'report.html'), 'utf8');
  assert.ok(html.startsWith('<!doctype html>') && html.includes('<title>tiny sweep</title>'));
  const inline = html.match(/<svg /g) ?? [];
  assert.ok(inline.length >= 2);
  // Each inline figure also as its own SVG file, named after its title.
  assert.equal(figures.length, inline.length);
  assert.match(figures[0]!, /^figures\/01-[a-z0-9.-]+\.svg$/);
  for (const f of figures) assert.match(readFileSync(join(ws.dir, 'rep', f), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(readFileSync(join(ws.dir, 'rep', 'summary.md'), 'utf8'), /^## Correlations with train\.testAcc$/m);

  const shown = await ws.basin('show', 'correlate');
  assert.match(shown.stdout, /^ {2}summary {3}6 models; Spearman with train\.testAcc/m);

  ws.write('basin.yaml', pipeline('  bad: { kind: correlate, inputs: { data: data } }\n'));
  const bad = await ws.basin('run', '--only', 'bad');
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /input data \(data\) has no metrics output: correlate reads the per-model stages/);
  ws.write('basin.yaml', pipeline('  typo: { kind: correlate, inputs: { train: train }, with: { targets: [train.testacc] } }\n'));
  const typo = await ws.basin('run', '--only', 'typo');
  assert.equal(typo.code, 1);
  assert.match(typo.stdout + typo.stderr, /no column train\.testacc in the gathered metrics .*: name columns as <input name>\.<metric>/);
});

test('CLI: basin report never computes: it refuses while what the report reads is not cached', async () => {
  const ws = workspaceWith(pipeline());
  const r = await ws.basin('report', '--out', 'rep');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^basin: 14 node\(s\) the report reads are not in the cache \(data, train\[seed=0,attack=0\], train\[seed=0,attack=20\], \.\.\.\); run `basin run` first: basin report never trains or measures$/m);
  ws.write('basin.yaml', 'version: 1\nname: none\nstages:\n  p: { kind: probe }\n');
  const none = await ws.basin('report');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /has no report stage; add one/);
});
