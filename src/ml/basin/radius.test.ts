import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findRadius, powerGrid, type LineLoss, type RadiusOptions } from './radius.js';

const BASE: Omit<RadiusOptions, 'level' | 'lossAtZero'> = { span: 10, grid: { points: 16, power: 2 }, tol: 1e-3, sectionPoints: 7 };

/** L(t) = l0 + a t^2 / 2: crosses l0 + c at sqrt(2c / a). */
const parabola = (l0: number, a: number): LineLoss => (ts) => ts.map((t) => l0 + 0.5 * a * t * t);

test('the power grid: span (i / points)^power, ending exactly at the span', () => {
  assert.deepEqual(powerGrid(8, 4, 1), [2, 4, 6, 8]);
  const g = powerGrid(10, 5, 3);
  assert.equal(g.length, 5);
  assert.equal(g[4], 10);
  assert.ok(Math.abs((g[0] as number) - 10 / 125) < 1e-15);
  assert.ok(g.every((t, i) => i === 0 || t > (g[i - 1] as number)));
  assert.throws(() => powerGrid(0, 4, 2), /span must be a positive/);
  assert.throws(() => powerGrid(1, 0, 2), /grid points/);
});

test('refinement reaches the tolerance: the bracket holds the exact crossing and is at most tol wide', () => {
  for (const sectionPoints of [1, 3, 7, 15]) {
    for (const [a, c] of [[1, 0.1], [250, 0.1], [0.03, 0.5], [4, 1e-3]] as const) {
      const exact = Math.sqrt((2 * c) / a);
      for (const tol of [1e-2, 1e-3, 1e-6]) {
        const r = findRadius(parabola(0.2, a), { ...BASE, sectionPoints, tol, level: 0.2 + c, lossAtZero: 0.2 });
        const where = `m=${sectionPoints} a=${a} c=${c} tol=${tol}`;
        assert.equal(r.censored, false, where);
        assert.ok(r.converged && r.hi - r.lo <= tol * r.hi, `${where}: bracket [${r.lo}, ${r.hi}]`);
        assert.ok(r.lo <= exact && exact <= r.hi, `${where}: ${exact} outside [${r.lo}, ${r.hi}]`);
        assert.ok(r.lo <= r.radius && r.radius <= r.hi, where);
        // The interpolated crossing is far better than the bracket: second order in its width.
        assert.ok(Math.abs(r.radius - exact) <= Math.max(tol * tol * exact, 1e-12 * exact), `${where}: ${r.radius} vs ${exact}`);
        // One call for the grid, then sectionPoints points per refinement call.
        assert.equal(r.points, BASE.grid.points + (r.calls - 1) * sectionPoints, where);
      }
    }
  }
});

test('bisection halves the bracket per call; more points per call need fewer calls', () => {
  // a = 1, c = 0.1: the crossing sqrt(0.2) = 0.447 lies in the grid bracket (10 (3/16)^2, 10 (4/16)^2] = (0.3516, 0.625].
  const calls = (sectionPoints: number) => findRadius(parabola(0, 1), { ...BASE, sectionPoints, level: 0.1, lossAtZero: 0 }).calls - 1;
  const width = 0.625 - 0.3515625;
  // Bisection: the first k with width / 2^k <= tol * hi, hi >= the crossing.
  const bound = Math.ceil(Math.log2(width / (1e-3 * Math.sqrt(0.2))));
  assert.ok(calls(1) <= bound && calls(1) >= bound - 1, `${calls(1)} bisection steps, expected about ${bound}`);
  assert.ok(calls(7) < calls(3) && calls(3) < calls(1), `${calls(1)}, ${calls(3)}, ${calls(7)}`);
  // Each call shrinks the bracket by 8 exactly.
  const eighths = Math.ceil(Math.log(width / (1e-3 * Math.sqrt(0.2))) / Math.log(8));
  assert.ok(calls(7) <= eighths && calls(7) >= eighths - 1, `${calls(7)} calls, expected about ${eighths}`);
});

test('a direction that never crosses within the span is censored at the span, after one call', () => {
  // Rises, but saturates below the level: zero curvature far out.
  const flat: LineLoss = (ts) => ts.map((t) => 0.01 + 0.05 * (1 - Math.exp(-t * t)));
  const r = findRadius(flat, { ...BASE, level: 0.11, lossAtZero: 0.01 });
  assert.deepEqual(r, { radius: 10, censored: true, lo: 10, hi: 10, converged: true, points: 16, calls: 1 });
  // A crossing exactly at the span is not censored.
  const edge = findRadius(parabola(0, 2 * 0.1 / 99.9), { ...BASE, level: 0.1, lossAtZero: 0 });
  assert.equal(edge.censored, false);
});

test('the first crossing on the grid wins; a non-finite loss counts as a crossing', () => {
  // A bump above the level at t in [2, 3] before the loss rises for good at t = 6.
  const bumpy: LineLoss = (ts) => ts.map((t) => (t >= 2 && t <= 3 ? 1 : t >= 6 ? 1 : 0));
  const r = findRadius(bumpy, { ...BASE, grid: { points: 40, power: 1 }, level: 0.5, lossAtZero: 0 });
  assert.ok(Math.abs(r.radius - 2) <= 2e-3 * 2, `${r.radius}`);
  // Float32 overflow far out: NaN and Infinity are above any level.
  for (const bad of [Number.NaN, Infinity]) {
    const overflow: LineLoss = (ts) => ts.map((t) => (t < 1.5 ? 0 : bad));
    const o = findRadius(overflow, { ...BASE, level: 0.1, lossAtZero: 0 });
    assert.ok(o.lo < 1.5 && 1.5 <= o.hi && Math.abs(o.radius - 1.5) <= 1e-3 * 1.5, `${bad}: ${o.radius}`);
  }
});

test('bad options are refused', () => {
  const line = parabola(0, 1);
  assert.throws(() => findRadius(line, { ...BASE, level: 0.1, lossAtZero: 0.2 }), /loss at t = 0 \(0.2\) must be at or below the level \(0.1\)/);
  assert.throws(() => findRadius(line, { ...BASE, level: Number.NaN, lossAtZero: 0 }), /level must be finite/);
  assert.throws(() => findRadius(line, { ...BASE, tol: 0, level: 0.1, lossAtZero: 0 }), /tolerance/);
  assert.throws(() => findRadius(line, { ...BASE, sectionPoints: 0, level: 0.1, lossAtZero: 0 }), /section points/);
  assert.throws(() => findRadius(() => [1], { ...BASE, level: 0.1, lossAtZero: 0 }), /returned 1 values for 16 points/);
});

test('a refinement budget that runs out is reported as unconverged, never as converged', () => {
  const r = findRadius(parabola(0, 1), { ...BASE, sectionPoints: 1, tol: 1e-9, maxRefinements: 3, level: 0.1, lossAtZero: 0 });
  assert.equal(r.converged, false);
  assert.equal(r.calls, 4);
  assert.ok(r.lo <= Math.sqrt(0.2) && Math.sqrt(0.2) <= r.hi);
});
