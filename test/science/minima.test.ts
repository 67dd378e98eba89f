import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Workspace } from '../engine/rig.js';

/**
 * Claim 1 of Wu, Zhu & E (2017) at small scale, through the real CLI: with the same architecture,
 * seed and (100%) training accuracy, training on wrongly labelled attack data as well yields a
 * minimum that generalises far worse. The full-size figures (1000 digits, 4000 attack examples)
 * come from test/bench/science-acceptance.ts; see the README.
 */
const ws = new Workspace().write(
  'basin.yaml',
  `
version: 1
name: minima
settings: { backend: wasm }
stages:
  data: { kind: dataset, with: { source: mnist, train: 300, attack: 1200, test: 1000, seed: 0 } }
  train:
    kind: train
    matrix: { attack: [0, 1200] }
    inputs: { data: data }
    with: { attack: "\${matrix.attack}", optimizer: { name: adam, lr: 0.002 }, maxEpochs: 400, seed: 0 }
`,
);
after(() => ws.dispose());

interface Metrics {
  trainAcc: number;
  attackAcc: number | null;
  testAcc: number;
  stop: string;
}

async function metricsOf(node: string): Promise<Metrics> {
  const out = join(ws.dir, `export-${node.replace(/\W+/g, '_')}`);
  const r = await ws.basin('export', node, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Metrics;
}

test('attack data turns a good minimum into a bad one with the same training accuracy', { timeout: 600_000 }, async () => {
  const run = await ws.run('basin.yaml', '--jobs', '2');
  assert.equal(run.code, 0, run.result.stderr);
  const good = await metricsOf('train[attack=0]');
  const bad = await metricsOf('train[attack=1200]');
  assert.equal(good.stop, 'converged');
  assert.equal(bad.stop, 'converged');
  assert.equal(good.trainAcc, 1);
  assert.equal(bad.trainAcc, 1);
  assert.equal(bad.attackAcc, 1);
  assert.ok(good.testAcc >= 0.75, `clean test accuracy ${good.testAcc}`);
  assert.ok(bad.testAcc <= 0.4, `attacked test accuracy ${bad.testAcc}`);
});
