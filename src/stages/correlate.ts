import { analyse, type Analysis, type CorrelateOptions } from '../analysis/correlate.js';
import type { CorrelationMethod } from '../analysis/stats.js';
import { buildTable, tableCsv, type GatheredNode } from '../analysis/table.js';
import type { MatrixValue } from '../config/types.js';
import type { JsonValue } from '../util/json.js';
import { StageFailure } from './failure.js';
import type { StageDefinition } from './types.js';

/**
 * The `correlate` stage: gathers the flat `metrics` output of every node of the stages it reads
 * (usually whole sweeps: an input naming a fanned-out stage that this stage does not fan out over
 * gathers all its nodes), joins them into one per-model table by matrix coordinates, and runs the
 * analyses of src/analysis/correlate.ts. Cheap and TF.js-free: runs inline.
 *
 * Outputs: `correlations` (JSON, headline: every correlation with its bootstrap interval, group
 * means, the good-vs-bad contrast, granulated Kendall), `table` (JSON rows) and `table_csv` (CSV).
 */
export interface CorrelateParams {
  readonly targets: readonly string[];
  readonly metrics: readonly string[] | 'all';
  readonly methods: readonly CorrelationMethod[];
  readonly bootstrap: number;
  readonly seed: number | string;
  readonly contrast: { readonly axis: string; readonly good: MatrixValue } | null;
  readonly minModels: number;
}

export const correlate: StageDefinition<CorrelateParams> = {
  kind: 'correlate',
  version: 1,
  schema: 'correlate.schema.json',
  placement: 'inline',
  loadsInputs: true,
  headline: 'correlations',
  async run(ctx) {
    const gathered: GatheredNode[] = [];
    for (const [input, nodes] of Object.entries(ctx.inputs)) {
      for (const n of nodes) {
        const m = n.outputs['metrics'];
        if (m?.type !== 'json' || m.value === null || typeof m.value !== 'object' || Array.isArray(m.value)) {
          throw new StageFailure(`input ${input} (${n.nodeId}) has no metrics output: correlate reads the per-model stages (train, hessian, basin-volume, sharpness, restarts); remove ${input} from inputs`);
        }
        gathered.push({ input, nodeId: n.nodeId, matrix: n.matrix ?? {}, metrics: m.value as Record<string, JsonValue> });
      }
    }
    if (!gathered.length) throw new StageFailure('correlate has no inputs: write `inputs: { train: <a train stage>, hessian: <a hessian stage>, ... }`');
    const table = buildTable(gathered);
    let analysis: Analysis;
    try {
      analysis = analyse(table, ctx.params as CorrelateOptions);
    } catch (e) {
      if (e instanceof RangeError) throw new StageFailure(`${e.message}: name columns as <input name>.<metric>, e.g. train.testAcc`);
      throw e;
    }
    return {
      outputs: {
        correlations: { type: 'json', value: JSON.parse(JSON.stringify(analysis)) as JsonValue },
        table: { type: 'json', value: JSON.parse(JSON.stringify(table)) as JsonValue },
        table_csv: { type: 'bytes', data: new TextEncoder().encode(tableCsv(table)), mediaType: 'text/csv' },
      },
      summary: summaryOf(analysis),
      highlights: highlightsOf(analysis),
    };
  },
};

/** The strongest Spearman correlations with the first target, with their intervals. */
export function summaryOf(a: Analysis): string {
  const target = a.targets[0];
  const rows = a.correlations
    .filter((c) => c.method === 'spearman' && c.target === target && c.value !== null)
    .sort((p, q) => Math.abs(q.value as number) - Math.abs(p.value as number))
    .slice(0, 3);
  const f = (v: number) => v.toFixed(2);
  const parts = rows.map((c) => `${c.metric} ${f(c.value as number)}${c.interval ? ` [${f(c.interval.low)}, ${f(c.interval.high)}]` : ''}`);
  return `${a.models} models; Spearman with ${target}: ${parts.join(', ') || 'none computable'}`;
}

/**
 * The small table printed at the end of a run: the metrics of other stages than the first target's
 * most strongly rank-correlated with it (Spearman, 95% bootstrap interval), then the paired
 * good-vs-bad difference of each (mean bad - good, Wilcoxon p).
 */
export function highlightsOf(a: Analysis, count = 6): string[] {
  const target = a.targets[0] as string;
  const own = `${target.split('.')[0]}.`;
  const rows = a.correlations
    .filter((c) => c.method === 'spearman' && c.target === target && c.value !== null && !c.metric.startsWith(own))
    .sort((p, q) => Math.abs(q.value as number) - Math.abs(p.value as number))
    .slice(0, count);
  if (!rows.length) return [`no metric of another stage correlates with ${target} yet (${a.models} models)`];
  const contrast = a.contrast && 'rows' in a.contrast ? a.contrast : undefined;
  const width = Math.max(...rows.map((c) => c.metric.length), 6);
  const num = (v: number) => (v >= 0 ? ' ' : '') + v.toFixed(2);
  const g = (v: number) => Number(v.toPrecision(3)).toString();
  const lines = [`${'metric'.padEnd(width)}  Spearman with ${target} [95% CI]${contrast ? `   bad - good (${contrast.axis} != ${String(contrast.good)}, paired), Wilcoxon p` : ''}`];
  for (const c of rows) {
    const ci = c.interval ? `[${num(c.interval.low)}, ${num(c.interval.high)}]` : '[ -, - ]';
    const diffs = contrast ? contrast.rows.filter((r) => r.metric === c.metric).map((r) => `${g(r.meanDifference)} (p ${r.pValue === null ? '-' : g(r.pValue)}, n ${r.n})`) : [];
    lines.push(`${c.metric.padEnd(width)}  ${num(c.value as number)} ${ci.padEnd(16)}  n ${String(c.n).padEnd(4)}${diffs.length ? `  ${diffs.join('; ')}` : ''}`);
  }
  return lines;
}
