import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../rng.js';
import { wrongLabels } from './attack-labels.js';

test('an attack label is never the true label', () => {
  for (const classes of [2, 3, 10]) {
    const truth = Int32Array.from({ length: 5000 }, (_, i) => i % classes);
    const wrong = wrongLabels(truth, classes, new Rng(classes));
    assert.ok(wrong.every((y, i) => y !== truth[i] && y >= 0 && y < classes));
  }
});

test('for every true class, every other class is drawn with equal frequency (chi-square bound)', () => {
  const classes = 10;
  const perClass = 9000;
  const truth = Int32Array.from({ length: classes * perClass }, (_, i) => i % classes);
  const wrong = wrongLabels(truth, classes, new Rng(0).derive('attack-labels'));
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  wrong.forEach((y, i) => counts[truth[i]!]![y]!++);
  const expected = perClass / (classes - 1);
  for (let t = 0; t < classes; t++) {
    assert.equal(counts[t]![t], 0);
    const others = counts[t]!.filter((_, c) => c !== t);
    assert.ok(others.every((k) => k > 0), `true class ${t}: every other class appears (${others})`);
    const chi2 = others.reduce((s, k) => s + (k - expected) ** 2 / expected, 0);
    // 8 degrees of freedom: P(chi2 > 26.1) = 0.001. Deterministic for this seed.
    assert.ok(chi2 < 26.1, `true class ${t}: chi-square ${chi2.toFixed(1)} over ${others}`);
  }
});

test('two classes: the wrong label is always the other one', () => {
  const truth = Int32Array.from([0, 1, 1, 0]);
  assert.deepEqual([...wrongLabels(truth, 2, new Rng(5))], [1, 0, 0, 1]);
});
