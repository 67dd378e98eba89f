import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse } from '../analysis/correlate.js';
import { buildTable, type GatheredNode } from '../analysis/table.js';
import { Rng } from '../ml/rng.js';
import { buildReport } from './report.js';

/** A synthetic sweep with every kind of figure data: the report's structure, not its science. */
function inputs() {
  const rng = new Rng('report');
  const nodes: GatheredNode[] = [];
  const slq = [];
  const radii = [];
  const slices = [];
  for (const seed of [0, 1, 2]) {
    for (const attack of [0, 1000]) {
      const matrix = { seed, attack };
      const testAcc = 0.9 - attack / 2500 + 0.01 * rng.normal();
      nodes.push({ input: 'train', nodeId: `train[seed=${seed},attack=${attack}]`, matrix, metrics: { testAcc, gap: 1 - testAcc } });
      nodes.push({ input: 'hessian', nodeId: `hessian[seed=${seed},attack=${attack}]`, matrix, metrics: { lambdaMax: 0.2 + attack / 5000 + 0.01 * rng.normal(), trace: 1 + attack / 1000 } });
      const steps = 5;
      slq.push({ node: `hessian[seed=${seed},attack=${attack}]`, matrix, runs: 2, steps, nodes: Float64Array.from({ length: 2 * steps }, (_, i) => (i % steps) * 0.1 * (1 + attack / 1000)), weights: Float64Array.from({ length: 2 * steps }, () => 1 / steps) });
      radii.push({ node: `volume[seed=${seed},attack=${attack}]`, matrix, radii: Float64Array.from({ length: 20 }, () => Math.exp(rng.normal() - attack / 1000)) });
      slices.push({ node: `slice[seed=${seed},attack=${attack}]`, matrix, mode: '1d', t: Float64Array.from({ length: 9 }, (_, i) => i - 4), loss: Float64Array.from({ length: 9 }, (_, i) => 0.01 + (1 + attack / 1000) * (i - 4) ** 2) });
    }
  }
  const table = buildTable(nodes);
  const analysis = analyse(table, { targets: ['train.testAcc'], metrics: 'all', methods: ['spearman', 'kendall', 'pearson-log'], bootstrap: 200, seed: 0, contrast: { axis: 'attack', good: 0 }, minModels: 4 });
  return { table, analysis, slq, radii, slices };
}

test('the report: one inline SVG per figure, every figure with data, tables, no scripts or external resources', async () => {
  const { table, analysis, slq, radii, slices } = inputs();
  const r = await buildReport({ title: 'synthetic <sweep>', analysis, table, scatterPlots: 3, slq, radii, slices });
  const titles = r.figures.map((f) => f.title.split(/[:(]/)[0]!.trim());
  assert.equal(titles[0], 'train.testAcc by attack');
  // The strongest Spearman correlations with the target among other stages' metrics (not train.gap).
  assert.deepEqual(titles.slice(1, 3).sort(), ['hessian.lambdaMax', 'hessian.trace']);
  assert.deepEqual(titles.slice(3), ['Hessian spectral density', 'Basin radii along random directions by attack', 'Loss along 1-D slices by attack']);
  assert.ok(r.figures.every((f) => f.rows > 0), JSON.stringify(r.figures));
  assert.equal((r.html.match(/<svg /g) ?? []).length, r.figures.length);
  assert.ok(r.html.includes('<title>synthetic &lt;sweep&gt;</title>'), 'the title is escaped');
  assert.ok(!/<script|<link|<img|src="http|href="http|@import/.test(r.html), 'self-contained');
  // Every scatter has one mark per model (6): Vega's SVG draws each point as a path with a role.
  assert.match(r.html, /Spearman -?[0-9.]+ \[-?[0-9.]+, -?[0-9.]+\] \(n = 6\)/);
  assert.match(r.markdown, /^\| metric \| Spearman rho \[95% CI\] \| Kendall tau-b \[95% CI\] \| Pearson r, log metric \[95% CI\] \| models \|$/m);
  assert.match(r.markdown, /^\| hessian\.trace \| -?[0-9.]+ \[/m);
  assert.match(r.markdown, /^## Good \(attack = 0\) vs bad, paired$/m);
  assert.equal(r.csv.trim().split('\n').length, 7);
});

test('figures are left out when their inputs are absent', async () => {
  const { table, analysis } = inputs();
  const r = await buildReport({ title: 't', analysis, table, scatterPlots: 0 });
  assert.deepEqual(r.figures.map((f) => f.title), ['train.testAcc by attack (points: models; line: mean +- sd)']);
});
