import type { Analysis } from '../analysis/correlate.js';
import type { Table } from '../analysis/table.js';
import type { RadiiInput, SliceInput, SlqInput } from '../report/report.js';
import type { JsonValue } from '../util/json.js';
import { StageFailure } from './failure.js';
import { jsonOutput, singleInput } from './inputs.js';
import type { InputNode, StageContext, StageDefinition } from './types.js';

/**
 * The `report` stage: the study's HTML report (inline SVG figures rendered with Vega-Lite, no
 * network), a Markdown summary and the per-model CSV, from a `correlate` node and, optionally, the
 * hessian (spectral densities), basin-volume (radius distributions) and slice (1-D slices) nodes of
 * the sweep. Outputs `report` (HTML), `summary` (Markdown), `models` (CSV); `basin report --out DIR`
 * writes them as report.html, summary.md, models.csv. See src/report/.
 */
export interface ReportParams {
  readonly title: string;
  readonly groupBy: string | null;
  readonly scatterPlots: number;
}

export const report: StageDefinition<ReportParams> = {
  kind: 'report',
  version: 2,
  schema: 'report.schema.json',
  placement: 'inline',
  loadsInputs: true,
  async run(ctx) {
    const p = ctx.params;
    const node = singleInput(ctx, 'report', 'correlate', 'correlate');
    const analysis = jsonOutput(node, 'correlations', 'correlate', 'correlate').value as unknown as Analysis;
    const table = jsonOutput(node, 'table', 'correlate', 'correlate').value as unknown as Table;
    const known = new Set(['correlate', 'hessian', 'volume', 'slice']);
    const extra = Object.keys(ctx.inputs).filter((k) => !known.has(k));
    if (extra.length) throw new StageFailure(`report reads inputs correlate, hessian, volume and slice; it does not know ${extra.join(', ')}: rename or remove them`);
    const { buildReport } = await import('../report/report.js');
    const r = await buildReport({
      title: p.title,
      analysis,
      table,
      ...(p.groupBy ? { groupBy: p.groupBy } : {}),
      scatterPlots: p.scatterPlots,
      slq: (ctx.inputs['hessian'] ?? []).flatMap((n) => slqOf(n)),
      radii: (ctx.inputs['volume'] ?? []).flatMap((n) => radiiOf(n)),
      slices: (ctx.inputs['slice'] ?? []).flatMap((n) => sliceOf(n)),
    });
    const empty = r.figures.filter((f) => f.rows === 0);
    if (empty.length) ctx.log(`figures without data: ${empty.map((f) => f.title).join('; ')}`);
    const text = (s: string, mediaType: string) => ({ type: 'bytes' as const, data: new TextEncoder().encode(s), mediaType });
    return {
      outputs: {
        report: text(r.html, 'text/html'),
        summary: text(r.markdown, 'text/markdown'),
        models: text(r.csv, 'text/csv'),
        // figure.01, figure.02, ...: each figure on its own, for papers and slides.
        ...Object.fromEntries(r.svgs.map((svg, i) => [figureOutput(i), text(svg, 'image/svg+xml')])),
      },
      info: { figures: r.figures as unknown as JsonValue },
      summary: `${r.figures.length} figures, ${analysis.models} models: basin report --out DIR writes report.html, summary.md, models.csv, figures/`,
    };
  },
};

function arrayOf(n: InputNode, name: string): { data: Float64Array; shape: readonly number[] } | undefined {
  const a = n.outputs[name];
  return a?.type === 'array' && a.dtype === 'float64' ? { data: a.data as Float64Array, shape: a.shape } : undefined;
}

/** A hessian node's SLQ quadrature; none when it ran without SLQ. */
function slqOf(n: InputNode): SlqInput[] {
  const nodes = arrayOf(n, 'slq_nodes');
  const weights = arrayOf(n, 'slq_weights');
  if (!nodes || !weights) {
    if (!n.outputs['spectrum']) throw new StageFailure(`input hessian (${n.nodeId}) is not a hessian stage: point \`inputs.hessian\` at one`);
    return [];
  }
  return [{ node: n.nodeId, matrix: n.matrix ?? {}, nodes: nodes.data, weights: weights.data, runs: nodes.shape[0] as number, steps: nodes.shape[1] as number }];
}

function radiiOf(n: InputNode): RadiiInput[] {
  const r = arrayOf(n, 'radii');
  if (!r) throw new StageFailure(`input volume (${n.nodeId}) has no radii output: point \`inputs.volume\` at a basin-volume stage`);
  const c = n.outputs['censored'];
  return [{ node: n.nodeId, matrix: n.matrix ?? {}, radii: r.data, ...(c?.type === 'array' ? { censored: c.data as Uint8Array } : {}) }];
}

function sliceOf(n: InputNode): SliceInput[] {
  const surface = n.outputs['surface'];
  if (surface?.type !== 'json') throw new StageFailure(`input slice (${n.nodeId}) has no surface output: point \`inputs.slice\` at a slice stage`);
  const mode = String((surface.value as Record<string, JsonValue>)['mode'] ?? '');
  const t = arrayOf(n, 'alphas') ?? arrayOf(n, 'coords');
  const loss = arrayOf(n, 'train_loss');
  // 2-D surfaces are not drawn as lines.
  if (mode === '2d' || !t || !loss || loss.shape.length !== 1) return [];
  return [{ node: n.nodeId, matrix: n.matrix ?? {}, t: t.data, loss: loss.data, mode }];
}

export type { StageContext };

/** The output name of the i-th figure (0-based): `figure.01`, ... */
export function figureOutput(i: number): string {
  return `figure.${String(i + 1).padStart(2, '0')}`;
}
