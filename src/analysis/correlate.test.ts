import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../ml/rng.js';
import { analyse, type CorrelateOptions } from './correlate.js';
import { kendallTauB, spearman } from './stats.js';
import { buildTable, tableCsv, type GatheredNode } from './table.js';

/** A synthetic sweep: seeds x attack sizes; test accuracy falls with attack, sharpness rises with it. */
function sweep(seeds = 5, attacks = [0, 1000, 4000]): GatheredNode[] {
  const rng = new Rng('sweep');
  const nodes: GatheredNode[] = [];
  for (const seed of Array.from({ length: seeds }, (_, i) => i)) {
    for (const attack of attacks) {
      const testAcc = 0.9 - attack / 8000 + 0.01 * rng.normal();
      nodes.push({ input: 'train', nodeId: `train[seed=${seed},attack=${attack}]`, matrix: { seed, attack }, metrics: { testAcc, gap: 1 - testAcc, stop: 'converged', attackAcc: attack ? 1 : null } });
      nodes.push({ input: 'hessian', nodeId: `hessian[seed=${seed},attack=${attack}]`, matrix: { seed, attack }, metrics: { frobenius: 0.3 + attack / 4000 + 0.02 * rng.normal(), noise: rng.normal() } });
    }
  }
  return nodes;
}

const OPTIONS: CorrelateOptions = { targets: ['train.testAcc'], metrics: 'all', methods: ['spearman', 'kendall', 'pearson-log'], bootstrap: 500, seed: 0, contrast: { axis: 'attack', good: 0 }, minModels: 4 };

test('the table joins nodes by coordinates, numeric columns only, rows in coordinate order', () => {
  const t = buildTable([...sweep(2, [0, 500])].reverse());
  assert.deepEqual([...t.axes].sort(), ['attack', 'seed']);
  assert.equal(t.rows.length, 4);
  assert.ok(!t.columns.includes('train.stop'), 'strings are not metrics');
  assert.ok(t.columns.includes('train.attackAcc') && t.columns.includes('hessian.frobenius'));
  for (const r of t.rows) {
    assert.equal(r.nodes.length, 2);
    assert.ok(r.nodes.every((id) => id.endsWith(`[seed=${r.coords['seed']},attack=${r.coords['attack']}]`)));
  }
  // A node with fewer axes (a per-seed stage) joins every row of its seed.
  const t2 = buildTable([...sweep(2, [0, 500]), { input: 'probe', nodeId: 'probe[seed=1]', matrix: { seed: 1 }, metrics: { x: 7 } }]);
  assert.deepEqual(t2.rows.map((r) => r.values['probe.x'] ?? null), t2.rows.map((r) => (r.coords['seed'] === 1 ? 7 : null)));
  const csv = tableCsv(buildTable([{ input: 'a', nodeId: 'n[label="x, y"]', matrix: { label: 'x, y' }, metrics: { v: 1.5, w: null } }]));
  assert.equal(csv, 'nodes,label,a.v,a.w\n"n[label=""x, y""]","x, y",1.5,\n');
});

test('correlations match the direct statistics; intervals are seeded and exclude 0 for a real effect', () => {
  const t = buildTable(sweep());
  const a = analyse(t, OPTIONS);
  assert.equal(a.models, 15);
  const get = (metric: string, method: string) => a.correlations.find((c) => c.metric === metric && c.method === method)!;
  const frob = t.rows.map((r) => r.values['hessian.frobenius'] as number);
  const acc = t.rows.map((r) => r.values['train.testAcc'] as number);
  assert.equal(get('hessian.frobenius', 'spearman').value, spearman(frob, acc));
  assert.equal(get('hessian.frobenius', 'kendall').value, kendallTauB(frob, acc));
  const s = get('hessian.frobenius', 'spearman');
  assert.ok((s.value as number) < -0.6 && s.interval!.high < 0, JSON.stringify(s));
  const noise = get('hessian.noise', 'spearman');
  assert.ok(noise.interval!.low < 0 && noise.interval!.high > 0, 'no effect: the interval covers 0');
  assert.deepEqual(analyse(t, OPTIONS), a, 'same seed, same intervals');
  // attackAcc is null for attack 0: computed on the 10 attacked models only.
  assert.equal(get('train.attackAcc', 'spearman').n, 10);
  assert.equal(get('train.attackAcc', 'spearman').value, null, 'constant 1: undefined, with a note');
  assert.match(get('train.attackAcc', 'spearman').note ?? '', /constant/);
  assert.match(get('hessian.noise', 'pearson-log').note ?? '', /not positive/);
});

test('groups, the paired good-vs-bad contrast and granulated Kendall', () => {
  const a = analyse(buildTable(sweep()), OPTIONS);
  const attack = a.groups['attack']!;
  assert.deepEqual(attack.map((g) => [g.value, g.n]), [[0, 5], [1000, 5], [4000, 5]]);
  assert.ok((attack[0]!.stats['train.testAcc']!.mean as number) > (attack[2]!.stats['train.testAcc']!.mean as number));
  assert.ok('rows' in a.contrast!);
  const c = (a.contrast as unknown as { rows: { metric: string; bad: unknown; n: number; meanDifference: number; pValue: number | null }[] }).rows.find((r) => r.metric === 'hessian.frobenius' && r.bad === 4000)!;
  assert.equal(c.n, 5);
  assert.ok(c.meanDifference > 0.8 && c.pValue! <= 0.0625, JSON.stringify(c)); // 5 of 5 pairs agree: exact p = 2/32
  assert.ok(Array.isArray(a.granulated));
  const g = (a.granulated as { metric: string; perAxis: Record<string, number | null>; psi: number | null }[]).find((r) => r.metric === 'hessian.frobenius')!;
  // Within a seed, attack orders frobenius and accuracy oppositely (tau -1); within an attack size
  // across seeds, only noise (tau near 0).
  assert.equal(g.perAxis['attack'], -1);
  assert.ok(Math.abs(g.perAxis['seed'] as number) < 0.5);
  assert.equal(g.psi, ((g.perAxis['attack'] as number) + (g.perAxis['seed'] as number)) / 2);
});

test('missing columns and axes are clear errors or recorded skips', () => {
  const t = buildTable(sweep(2, [0, 500]));
  assert.throws(() => analyse(t, { ...OPTIONS, targets: ['train.testacc'] }), /no column train\.testacc in the gathered metrics/);
  assert.throws(() => analyse(t, { ...OPTIONS, metrics: ['hessian.lambda'] }), /no column hessian\.lambda/);
  const one = buildTable(sweep(1, [0, 500, 1000, 2000, 4000]).map((n) => ({ ...n, matrix: { attack: n.matrix['attack']! } })));
  const a = analyse(one, { ...OPTIONS, contrast: { axis: 'lr', good: 0 } });
  assert.match((a.contrast as { skipped: string }).skipped, /no matrix axis lr/);
  assert.match((a.granulated as { skipped: string }).skipped, /at least 2 varying matrix axes/);
});
