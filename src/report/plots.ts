import type { MatrixValue } from '../config/types.js';
import type { VegaLiteSpec } from './render.js';

/**
 * The report's figures as Vega-Lite specs (data inline). Each takes plain rows, so it can be tested
 * without rendering, and says nothing about where the rows came from.
 */

const WIDTH = 320;

/** A column name as a Vega-Lite field: dots would mean nested access (`train.testAcc`). */
const field = (name: string): string => name.replace(/[.[\]\\]/g, (c) => `\\${c}`);
const HEIGHT = 220;

/** A matrix axis as a Vega-Lite field type: numbers are ordinal in colour legends, quantitative on x. */
const colourOf = (axis: string) => ({ field: field(axis), type: 'ordinal' as const, title: axis, scale: { scheme: 'viridis' } });

/** Target (e.g. test accuracy) against a matrix axis (e.g. attack size): every model, plus mean +- sd. */
export function targetByAxis(rows: readonly Record<string, unknown>[], axis: string, target: string, numericAxis: boolean): VegaLiteSpec {
  const x = { field: field(axis), type: numericAxis ? 'quantitative' : 'ordinal', title: axis };
  const y = { field: field(target), type: 'quantitative', title: target, scale: { zero: false } };
  return {
    title: `${target} by ${axis} (points: models; line: mean +- sd)`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    layer: [
      { mark: { type: 'point', filled: true, opacity: 0.6 }, encoding: { x, y } },
      { mark: { type: 'errorbar', extent: 'stdev' }, encoding: { x, y } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { ...y, aggregate: 'mean' } } },
    ],
  };
}

/** One metric against the target, a point per model coloured by `colour`; the title carries the statistic. */
export function metricScatter(rows: readonly Record<string, unknown>[], metric: string, target: string, colour: string | null, title: string, logX: boolean): VegaLiteSpec {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 60 },
    encoding: {
      x: { field: field(metric), type: 'quantitative', title: metric, scale: logX ? { type: 'log' } : { zero: false } },
      y: { field: field(target), type: 'quantitative', title: target, scale: { zero: false } },
      ...(colour ? { color: colourOf(colour) } : {}),
      tooltip: [{ field: 'node', type: 'nominal' }],
    },
  };
}

/** Densities on a common grid, one line per group (e.g. attack size); log density axis. */
export function densities(rows: readonly { group: MatrixValue; eigenvalue: number; density: number }[], groupTitle: string): VegaLiteSpec {
  return {
    title: `Hessian spectral density (SLQ, mean over models) by ${groupTitle}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: 'line', clip: true },
    encoding: {
      x: { field: 'eigenvalue', type: 'quantitative', title: 'eigenvalue' },
      y: { field: 'density', type: 'quantitative', title: 'density', scale: { type: 'log', domainMin: 1e-6 } },
      color: { field: 'group', type: 'ordinal', title: groupTitle, scale: { scheme: 'viridis' } },
    },
  };
}

/** Histograms of log10 radius, one colour per group. */
export function radii(rows: readonly { group: MatrixValue; log10r: number }[], groupTitle: string): VegaLiteSpec {
  return {
    title: `Basin radii along random directions by ${groupTitle}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
    encoding: {
      x: { field: 'log10r', type: 'quantitative', bin: { maxbins: 30 }, title: 'log10 radius' },
      y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'directions' },
      color: { field: 'group', type: 'ordinal', title: groupTitle, scale: { scheme: 'viridis' } },
    },
  };
}

/** Loss along a 1-D slice or interpolation path, one line per model. */
export function slices(rows: readonly { node: string; group: MatrixValue | null; t: number; loss: number }[], groupTitle: string | null, xTitle: string): VegaLiteSpec {
  return {
    title: `Loss along 1-D slices${groupTitle ? ` by ${groupTitle}` : ''}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: 'line', opacity: 0.8 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: xTitle },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { type: 'log' } },
      detail: { field: 'node', type: 'nominal' },
      ...(groupTitle ? { color: { field: 'group', type: 'ordinal', title: groupTitle, scale: { scheme: 'viridis' } } } : {}),
    },
  };
}
