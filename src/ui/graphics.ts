/** Text graphics for the live UI: progress bars and sparklines, one character per cell. */

export const GLYPH = { done: '█', cached: '▓', running: '▒', failed: '✗', skipped: '·', pending: '░' } as const;
export type Segment = keyof typeof GLYPH;

/**
 * A bar of `width` cells split among the segments in proportion to their counts (of `total`).
 * Every non-empty segment gets at least one cell when there is room, so one failure among 500
 * nodes still shows; the cells go to the segments by largest remainder.
 */
export function segmentedBar(counts: Readonly<Partial<Record<Segment, number>>>, total: number, width: number): { readonly segment: Segment; readonly cells: number }[] {
  if (width <= 0) return [];
  const order: Segment[] = ['done', 'cached', 'running', 'failed', 'skipped', 'pending'];
  const known = order.filter((s) => s !== 'pending').reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const all = { ...counts, pending: Math.max(0, total - known) };
  const denominator = Math.max(total, known);
  if (denominator === 0) return [{ segment: 'pending', cells: width }];
  const present = order.filter((s) => (all[s] ?? 0) > 0);
  const exact = present.map((s) => ((all[s] ?? 0) / denominator) * width);
  const cells = exact.map((x) => Math.floor(x));
  let left = width - cells.reduce((a, b) => a + b, 0);
  for (const { i } of exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r)) {
    if (left <= 0) break;
    cells[i] = (cells[i] as number) + 1;
    left--;
  }
  // One cell at least for every segment present, taken from the largest (which has two or more
  // whenever some segment has none and there are at least as many cells as segments).
  if (present.length <= width) {
    for (let i = 0; i < cells.length; i++) {
      if (cells[i] !== 0) continue;
      const largest = cells.indexOf(Math.max(...cells));
      cells[largest] = (cells[largest] as number) - 1;
      cells[i] = 1;
    }
  }
  return present.map((segment, i) => ({ segment, cells: cells[i] as number })).filter((s) => s.cells > 0);
}

/** A plain bar for a fraction 0..1: `█` filled, `░` empty. */
export function fractionBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return GLYPH.done.repeat(filled) + GLYPH.pending.repeat(Math.max(0, width - filled));
}

const TICKS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of at most `width` cells: the points are averaged into `width` bins (or drawn one per
 * cell when fewer), then scaled between their minimum and maximum. When all points are positive and
 * span more than a factor of 3 (a loss curve), the scale is logarithmic, so the late, slow part of
 * the descent stays visible instead of flattening into the bottom row.
 */
export function sparkline(points: readonly number[], width: number): string {
  const finite = points.filter(Number.isFinite);
  if (finite.length === 0 || width <= 0) return '';
  const bins = binned(finite, width);
  const min = Math.min(...bins);
  const max = Math.max(...bins);
  const log = min > 0 && max / min > 3;
  const f = (x: number) => (log ? Math.log(x) : x);
  const lo = f(min);
  const span = f(max) - lo;
  return bins.map((x) => TICKS[span > 0 ? Math.round(((f(x) - lo) / span) * (TICKS.length - 1)) : 0]).join('');
}

function binned(points: readonly number[], width: number): number[] {
  if (points.length <= width) return [...points];
  const out: number[] = [];
  for (let b = 0; b < width; b++) {
    const from = Math.floor((b * points.length) / width);
    const to = Math.max(from + 1, Math.floor(((b + 1) * points.length) / width));
    let sum = 0;
    for (let i = from; i < to; i++) sum += points[i] as number;
    out.push(sum / (to - from));
  }
  return out;
}
