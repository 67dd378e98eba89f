/**
 * A metric's curve kept at a bounded size for a sparkline, however long the node runs: every
 * `stride`-th report is kept; when `TRAIL_MAX` values are kept, every other one is dropped and the
 * stride doubles. The kept values always span the whole run (from the first report), at a
 * resolution between TRAIL_MAX / 2 and TRAIL_MAX points; `last` is the latest report, which the
 * sparkline ends on.
 */
export interface Trail {
  readonly values: readonly number[];
  readonly stride: number;
  /** Reports since the last kept one. */
  readonly pending: number;
  readonly last: number;
}

export const TRAIL_MAX = 64;

export function pushSample(trail: Trail | undefined, value: number): Trail | undefined {
  if (!Number.isFinite(value)) return trail;
  if (trail === undefined) return { values: [value], stride: 1, pending: 0, last: value };
  if (trail.pending + 1 < trail.stride) return { ...trail, pending: trail.pending + 1, last: value };
  const values = [...trail.values, value];
  if (values.length < TRAIL_MAX) return { values, stride: trail.stride, pending: 0, last: value };
  // Values [0, 2, ..., MAX-2] stay; the one just pushed is dropped, so `stride` reports have passed
  // since the last kept value, of the 2 * stride until the next.
  return { values: values.filter((_, i) => i % 2 === 0), stride: trail.stride * 2, pending: trail.stride, last: value };
}

/** The points to draw: the kept values, ending on the latest report. */
export function trailPoints(trail: Trail): readonly number[] {
  return trail.pending > 0 ? [...trail.values, trail.last] : trail.values;
}
