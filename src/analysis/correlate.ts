import type { MatrixValue } from '../config/types.js';
import { Rng } from '../ml/rng.js';
import { bootstrapInterval, correlation, kendallTauB, pairedWilcoxon, type CorrelationMethod, type Interval, type PairedTest } from './stats.js';
import { paired, type Table } from './table.js';

/**
 * The analyses of docs/science.md "Analyses across models", on a per-model table:
 * - every metric against every target: Spearman rho, Kendall tau-b, Pearson r on log metrics, each
 *   with a seeded percentile-bootstrap 95% interval (resampling models);
 * - per value of each matrix axis: mean and sample standard deviation of every column;
 * - good vs bad, paired: rows that agree on every other axis, the `good` value of the contrast axis
 *   against each other value: mean and median difference (bad - good) and the paired Wilcoxon test;
 * - granulated Kendall (Jiang et al. 2020): for each axis, the mean of tau over the groups in which
 *   only that axis varies; their mean over axes is the overall Psi. Computed when >= 2 axes vary.
 *
 * Bootstrap streams: one per (metric, target, method), derived from `seed` by name, so adding a
 * metric never changes another's interval.
 */
export interface CorrelateOptions {
  readonly targets: readonly string[];
  /** Columns to correlate; `all`: every column that is not a target. */
  readonly metrics: readonly string[] | 'all';
  readonly methods: readonly CorrelationMethod[];
  readonly bootstrap: number;
  readonly seed: number | string;
  /** Good-vs-bad contrast; null skips it. */
  readonly contrast: { readonly axis: string; readonly good: MatrixValue } | null;
  /** Fewest models a correlation is computed on. */
  readonly minModels: number;
}

export interface CorrelationRow {
  readonly metric: string;
  readonly target: string;
  readonly method: CorrelationMethod;
  readonly n: number;
  readonly value: number | null;
  readonly interval: Interval | null;
  /** Why value is null, when it is. */
  readonly note?: string;
}

export interface ContrastRow extends PairedTest {
  readonly metric: string;
  readonly bad: MatrixValue;
}

export interface Analysis {
  readonly models: number;
  readonly axes: readonly string[];
  readonly targets: readonly string[];
  readonly metrics: readonly string[];
  readonly correlations: readonly CorrelationRow[];
  readonly groups: Readonly<Record<string, readonly { value: MatrixValue; n: number; stats: Record<string, { mean: number | null; sd: number | null; n: number }> }[]>>;
  readonly contrast: { axis: string; good: MatrixValue; rows: readonly ContrastRow[] } | { skipped: string } | null;
  readonly granulated: readonly { metric: string; target: string; perAxis: Record<string, number | null>; psi: number | null }[] | { skipped: string };
}

export function analyse(t: Table, o: CorrelateOptions): Analysis {
  const missing = o.targets.filter((c) => !t.columns.includes(c));
  if (missing.length) throw new RangeError(`no column ${missing.join(', ')} in the gathered metrics (columns: ${t.columns.join(', ')})`);
  const metrics = o.metrics === 'all' ? t.columns.filter((c) => !o.targets.includes(c)) : [...o.metrics];
  const unknown = metrics.filter((c) => !t.columns.includes(c));
  if (unknown.length) throw new RangeError(`no column ${unknown.join(', ')} in the gathered metrics (columns: ${t.columns.join(', ')})`);
  const rng = new Rng(o.seed);

  const correlations: CorrelationRow[] = [];
  for (const target of o.targets) {
    for (const metric of metrics) {
      const { x, y } = paired(t, metric, target);
      for (const method of o.methods) {
        const base = { metric, target, method, n: x.length };
        if (x.length < o.minModels) {
          correlations.push({ ...base, value: null, interval: null, note: `${x.length} models with both values (at least ${o.minModels} needed)` });
          continue;
        }
        const value = correlation(method, x, y);
        if (!Number.isFinite(value)) {
          const why = method === 'pearson-log' && x.some((v) => !(v > 0)) ? 'the metric is not positive for every model (no logarithm)' : 'a constant metric or target';
          correlations.push({ ...base, value: null, interval: null, note: why });
          continue;
        }
        const boot = bootstrapInterval(x, y, (a, b) => correlation(method, a, b), o.bootstrap, rng.derive(`${metric}|${target}|${method}`));
        correlations.push({ ...base, value, interval: boot.interval });
      }
    }
  }

  const columns = [...o.targets, ...metrics];
  const groups: Record<string, { value: MatrixValue; n: number; stats: Record<string, { mean: number | null; sd: number | null; n: number }> }[]> = {};
  for (const axis of t.axes) {
    const values = [...new Set(t.rows.map((r) => r.coords[axis]).filter((v) => v !== undefined))] as MatrixValue[];
    groups[axis] = values.map((value) => {
      const rows = t.rows.filter((r) => r.coords[axis] === value);
      const stats: Record<string, { mean: number | null; sd: number | null; n: number }> = {};
      for (const c of columns) stats[c] = meanSd(rows.map((r) => r.values[c]).filter((v): v is number => typeof v === 'number'));
      return { value, n: rows.length, stats };
    });
  }

  return {
    models: t.rows.length,
    axes: t.axes,
    targets: o.targets,
    metrics,
    correlations,
    groups,
    contrast: contrastOf(t, o, columns),
    granulated: granulated(t, o, metrics),
  };
}

function meanSd(v: readonly number[]): { mean: number | null; sd: number | null; n: number } {
  if (!v.length) return { mean: null, sd: null, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : null;
  return { mean, sd, n: v.length };
}

function contrastOf(t: Table, o: CorrelateOptions, columns: readonly string[]): Analysis['contrast'] {
  if (!o.contrast) return null;
  const { axis, good } = o.contrast;
  if (!t.axes.includes(axis)) return { skipped: `no matrix axis ${axis} (axes: ${t.axes.join(', ') || 'none'})` };
  const others = t.axes.filter((a) => a !== axis);
  const keyOf = (r: Table['rows'][number]) => JSON.stringify(others.map((a) => r.coords[a]));
  const goodRows = new Map(t.rows.filter((r) => r.coords[axis] === good).map((r) => [keyOf(r), r]));
  if (!goodRows.size) return { skipped: `no model with ${axis} = ${JSON.stringify(good)}` };
  const bads = [...new Set(t.rows.map((r) => r.coords[axis]))].filter((v) => v !== good && v !== undefined) as MatrixValue[];
  const rows: ContrastRow[] = [];
  for (const bad of bads) {
    for (const metric of columns) {
      const a: number[] = [];
      const b: number[] = [];
      for (const r of t.rows) {
        if (r.coords[axis] !== bad) continue;
        const g = goodRows.get(keyOf(r));
        const gv = g?.values[metric];
        const bv = r.values[metric];
        if (typeof gv === 'number' && typeof bv === 'number') {
          a.push(gv);
          b.push(bv);
        }
      }
      if (a.length) rows.push({ metric, bad, ...pairedWilcoxon(a, b) });
    }
  }
  return { axis, good, rows };
}

function granulated(t: Table, o: CorrelateOptions, metrics: readonly string[]): Analysis['granulated'] {
  const varying = t.axes.filter((a) => new Set(t.rows.map((r) => r.coords[a])).size > 1);
  if (varying.length < 2) return { skipped: `granulated Kendall needs at least 2 varying matrix axes (varying: ${varying.join(', ') || 'none'})` };
  const out: { metric: string; target: string; perAxis: Record<string, number | null>; psi: number | null }[] = [];
  for (const target of o.targets) {
    for (const metric of metrics) {
      const perAxis: Record<string, number | null> = {};
      for (const axis of varying) {
        const others = varying.filter((a) => a !== axis);
        const groupsOf = new Map<string, { x: number[]; y: number[] }>();
        for (const r of t.rows) {
          const m = r.values[metric];
          const y = r.values[target];
          if (typeof m !== 'number' || typeof y !== 'number') continue;
          const key = JSON.stringify(others.map((a) => r.coords[a]));
          const g = groupsOf.get(key) ?? { x: [], y: [] };
          g.x.push(m);
          g.y.push(y);
          groupsOf.set(key, g);
        }
        const taus = [...groupsOf.values()].filter((g) => g.x.length >= 2).map((g) => kendallTauB(g.x, g.y)).filter(Number.isFinite);
        perAxis[axis] = taus.length ? taus.reduce((s, v) => s + v, 0) / taus.length : null;
      }
      const defined = Object.values(perAxis).filter((v): v is number => v !== null);
      out.push({ metric, target, perAxis, psi: defined.length === varying.length ? defined.reduce((s, v) => s + v, 0) / defined.length : null });
    }
  }
  return out;
}
