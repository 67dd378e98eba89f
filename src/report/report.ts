import type { Analysis, CorrelationRow } from '../analysis/correlate.js';
import { tableCsv, type Table } from '../analysis/table.js';
import type { MatrixValue } from '../config/types.js';
import { density } from '../ml/linalg/slq.js';
import { densities, metricScatter, radii, slices, targetByAxis } from './plots.js';
import { renderSvg, type VegaLiteSpec } from './render.js';

/**
 * The study's report from a correlate node's analysis and table, plus optional per-model arrays
 * (SLQ quadrature, basin radii, 1-D slices): a self-contained HTML page (inline SVG, no scripts, no
 * network), a Markdown summary and the per-model CSV.
 */
export interface SlqInput {
  readonly node: string;
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  /** [runs, steps] row-major; padded entries have weight 0. */
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
  readonly runs: number;
  readonly steps: number;
}

export interface RadiiInput {
  readonly node: string;
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  readonly radii: Float64Array;
  /** 1 where the radius is censored (a lower bound at the span). */
  readonly censored?: Uint8Array;
}

export interface SliceInput {
  readonly node: string;
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  readonly t: Float64Array;
  readonly loss: Float64Array;
  /** `1d` (distance along a direction) or `interpolate` (alpha between two models). */
  readonly mode: string;
}

export interface ReportInput {
  readonly title: string;
  readonly analysis: Analysis;
  readonly table: Table;
  /** The axis that colours and groups the plots (default: `attack` when present, else the first axis). */
  readonly groupBy?: string;
  /** How many metric-vs-target scatter plots (the strongest Spearman first). */
  readonly scatterPlots: number;
  readonly slq?: readonly SlqInput[];
  readonly radii?: readonly RadiiInput[];
  readonly slices?: readonly SliceInput[];
}

export interface Report {
  readonly html: string;
  readonly markdown: string;
  readonly csv: string;
  /** Figure titles and how many data rows each has (a figure without data is a bug). */
  readonly figures: readonly { readonly title: string; readonly rows: number }[];
  /** Each figure as a standalone SVG document, in the order of `figures`. */
  readonly svgs: readonly string[];
}

export async function buildReport(r: ReportInput): Promise<Report> {
  const { analysis: a, table: t } = r;
  const target = a.targets[0] as string;
  const group = r.groupBy ?? (t.axes.includes('attack') ? 'attack' : t.axes[0]) ?? null;
  const rows = t.rows.map((row) => ({ node: row.nodes.join(' '), ...row.coords, ...row.values }));
  const figures: { title: string; rows: number; spec: VegaLiteSpec }[] = [];
  const add = (spec: VegaLiteSpec, n: number) => figures.push({ title: String(spec['title']), rows: n, spec });

  if (group) {
    const numeric = t.rows.every((row) => typeof row.coords[group] === 'number');
    add(targetByAxis(rows.filter((x) => typeof x[target as keyof typeof x] === 'number'), group, target, numeric), countWith(t, target));
  }
  // Scatter plots of what the study is about: metrics from other stages than the target's (train's
  // test loss against its test accuracy says nothing about the landscape).
  const own = `${target.split('.')[0]}.`;
  for (const c of strongest(a, target, r.scatterPlots, (m) => !m.startsWith(own))) {
    const spearman = c;
    const logX = t.rows.every((row) => !(typeof row.values[c.metric] === 'number') || (row.values[c.metric] as number) > 0) && spread(t, c.metric) > 100;
    const title = `${c.metric}: Spearman ${fmt(spearman.value)}${ci(spearman)} (n = ${c.n})`;
    add(metricScatter(rows.filter((x) => typeof x[c.metric as keyof typeof x] === 'number' && typeof x[target as keyof typeof x] === 'number'), c.metric, target, group, title, logX), c.n);
  }
  if (r.slq?.length) {
    const data = densityRows(r.slq, group);
    add(densities(data, group ?? 'model'), data.length);
  }
  if (r.radii?.length) {
    const data = r.radii.flatMap((v) => Array.from(v.radii, (x) => ({ group: group ? (v.matrix[group] ?? null) : v.node, log10r: Math.log10(x) })));
    add(radii(data as { group: MatrixValue; log10r: number }[], group ?? 'model'), data.length);
  }
  if (r.slices?.length) {
    const data = r.slices.flatMap((s) => Array.from(s.t, (x, i) => ({ node: s.node, group: group ? (s.matrix[group] ?? null) : null, t: x, loss: s.loss[i] as number })));
    add(slices(data, group, r.slices[0]?.mode === 'interpolate' ? 'alpha' : 'distance along a filter-normalised direction'), data.length);
  }
  const svgs = await Promise.all(figures.map((f) => renderSvg(f.spec)));
  const csv = tableCsv(t);
  return {
    html: html(r.title, a, t, svgs),
    markdown: markdown(r.title, a, t),
    csv,
    figures: figures.map(({ title, rows: n }) => ({ title, rows: n })),
    svgs,
  };
}

/** The strongest Spearman correlations with `target` (defined ones only). */
function strongest(a: Analysis, target: string, count: number, keep: (metric: string) => boolean = () => true): CorrelationRow[] {
  return a.correlations
    .filter((c) => c.method === 'spearman' && c.target === target && c.value !== null && keep(c.metric))
    .sort((p, q) => Math.abs(q.value as number) - Math.abs(p.value as number))
    .slice(0, count);
}

function countWith(t: Table, column: string): number {
  return t.rows.filter((row) => typeof row.values[column] === 'number').length;
}

function spread(t: Table, column: string): number {
  const v = t.rows.map((row) => row.values[column]).filter((x): x is number => typeof x === 'number' && x > 0);
  return v.length ? Math.max(...v) / Math.min(...v) : 1;
}

/** Mean SLQ density per group on a common grid; sigma a 1/80 of the spectrum's range. */
function densityRows(inputs: readonly SlqInput[], group: string | null): { group: MatrixValue; eigenvalue: number; density: number }[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of inputs) {
    s.nodes.forEach((v, i) => {
      if ((s.weights[i] as number) > 0) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    });
  }
  if (!(hi > lo)) return [];
  const sigma = (hi - lo) / 80;
  const grid = Array.from({ length: 200 }, (_, i) => lo - 3 * sigma + ((hi - lo + 6 * sigma) * i) / 199);
  const byGroup = new Map<MatrixValue, Float64Array[]>();
  for (const s of inputs) {
    const runs = Array.from({ length: s.runs }, (_, r) => ({
      nodes: s.nodes.subarray(r * s.steps, (r + 1) * s.steps),
      weights: s.weights.subarray(r * s.steps, (r + 1) * s.steps),
      steps: s.steps,
      exhausted: false,
    }));
    const d = density({ runs, steps: s.steps, products: 0 } as unknown as Parameters<typeof density>[0], grid, sigma);
    const key = group ? (s.matrix[group] ?? s.node) : s.node;
    byGroup.set(key, [...(byGroup.get(key) ?? []), d]);
  }
  const out: { group: MatrixValue; eigenvalue: number; density: number }[] = [];
  for (const [key, ds] of byGroup) {
    grid.forEach((x, i) => out.push({ group: key, eigenvalue: x, density: ds.reduce((s, d) => s + (d[i] as number), 0) / ds.length }));
  }
  return out;
}

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '-' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(digits) : v.toFixed(digits));
const ci = (c: CorrelationRow | undefined): string => (c?.interval ? ` [${fmt(c.interval.low)}, ${fmt(c.interval.high)}]` : '');

/** Per metric: the three correlation measures with the first target, in one row. */
function correlationRows(a: Analysis, target: string): string[][] {
  const byMetric = new Map<string, Partial<Record<string, CorrelationRow>>>();
  for (const c of a.correlations.filter((x) => x.target === target)) byMetric.set(c.metric, { ...byMetric.get(c.metric), [c.method]: c });
  const cell = (c: CorrelationRow | undefined) => (c && c.value !== null ? `${fmt(c.value)}${ci(c)}` : '-');
  return [...byMetric.entries()]
    .sort(([, p], [, q]) => Math.abs(q.spearman?.value ?? 0) - Math.abs(p.spearman?.value ?? 0))
    .map(([metric, m]) => [metric, cell(m.spearman), cell(m.kendall), cell(m['pearson-log']), String(m.spearman?.n ?? m.kendall?.n ?? 0)]);
}

const HEAD = ['metric', 'Spearman rho [95% CI]', 'Kendall tau-b [95% CI]', 'Pearson r, log metric [95% CI]', 'models'];

function contrastRows(a: Analysis): string[][] {
  if (!a.contrast || !('rows' in a.contrast)) return [];
  return a.contrast.rows.map((c) => [c.metric, String(c.bad), String(c.n), fmt(c.meanDifference, 3), fmt(c.medianDifference, 3), c.pValue === null ? '-' : c.pValue.toPrecision(3)]);
}

function markdown(title: string, a: Analysis, t: Table): string {
  const target = a.targets[0] as string;
  const table = (head: string[], body: string[][]) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`)].join('\n');
  const parts = [`# ${title}`, '', `${a.models} models; matrix axes: ${t.axes.join(', ') || 'none'}.`, '', `## Correlations with ${target}`, '', table(HEAD, correlationRows(a, target))];
  const contrast = contrastRows(a);
  if (contrast.length && a.contrast && 'axis' in a.contrast) {
    parts.push('', `## Good (${a.contrast.axis} = ${String(a.contrast.good)}) vs bad, paired`, '', table(['metric', `${a.contrast.axis} (bad)`, 'pairs', 'mean bad - good', 'median', 'Wilcoxon p'], contrast));
  }
  for (const [axis, groups] of Object.entries(a.groups)) {
    const columns = a.targets.concat(strongest(a, target, 4).map((c) => c.metric));
    parts.push('', `## Mean +- sd by ${axis}`, '', table([axis, 'models', ...columns], groups.map((g) => [String(g.value), String(g.n), ...columns.map((c) => `${fmt(g.stats[c]?.mean, 4)} +- ${fmt(g.stats[c]?.sd, 4)}`)])));
  }
  return `${parts.join('\n')}\n`;
}

const esc = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function html(title: string, a: Analysis, t: Table, svgs: readonly string[]): string {
  const target = a.targets[0] as string;
  const table = (head: string[], body: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const modelRows = t.rows.map((r) => [r.nodes[0] ?? '', ...t.axes.map((x) => String(r.coords[x] ?? '')), ...t.columns.map((c) => fmt(r.values[c], 4))]);
  const contrast = contrastRows(a);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.wide { overflow-x: auto; }
</style></head>
<body>
<h1>${esc(title)}</h1>
<p>${a.models} models; matrix axes: ${esc(t.axes.join(', ') || 'none')}; target: ${esc(target)}. Intervals: percentile bootstrap over models, 95%.</p>
<h2>Correlations with ${esc(target)}</h2>
${table(HEAD, correlationRows(a, target))}
<h2>Figures</h2>
<div class="figures">
${svgs.map((svg, i) => `<figure id="figure-${i + 1}">${svg}</figure>`).join('\n')}
</div>
${contrast.length && a.contrast && 'axis' in a.contrast ? `<h2>Good (${esc(a.contrast.axis)} = ${esc(String(a.contrast.good))}) vs bad, paired</h2>\n${table(['metric', `${a.contrast.axis} (bad)`, 'pairs', 'mean bad - good', 'median', 'Wilcoxon p'], contrast)}` : ''}
<h2>Models</h2>
<div class="wide">${table(['node', ...t.axes, ...t.columns], modelRows)}</div>
</body></html>
`;
}
