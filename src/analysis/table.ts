import type { MatrixValue } from '../config/types.js';
import type { JsonValue } from '../util/json.js';

/**
 * The per-model table of a sweep: one row per matrix coordinate tuple (e.g. seed=1, attack=2000),
 * one column per metric `<input>.<name>`, gathered from the flat `metrics` JSON output that every
 * per-model stage writes (train, hessian, basin-volume, sharpness, restarts). Rows are joined on the
 * coordinates, so `hessian[seed=1,attack=2000]` and `train[seed=1,attack=2000]` fill one row.
 */
export interface GatheredNode {
  readonly input: string;
  readonly nodeId: string;
  readonly matrix: Readonly<Record<string, MatrixValue>>;
  readonly metrics: Readonly<Record<string, JsonValue>>;
}

export interface Row {
  /** Matrix coordinates (the union over the row's nodes; they agree on shared axes). */
  readonly coords: Readonly<Record<string, MatrixValue>>;
  readonly nodes: readonly string[];
  readonly values: Readonly<Record<string, number | null>>;
}

export interface Table {
  readonly axes: readonly string[];
  readonly columns: readonly string[];
  readonly rows: readonly Row[];
}

/**
 * Joins nodes into rows by their coordinates on the axes they share. Every input's nodes must carry
 * the same axes as the others or a subset of them; a node whose coordinates match no row starts one.
 * Numeric leaves only (strings such as a stop reason are left out; null stays null).
 */
export function buildTable(nodes: readonly GatheredNode[]): Table {
  const axes: string[] = [];
  for (const n of nodes) for (const a of Object.keys(n.matrix)) if (!axes.includes(a)) axes.push(a);
  const columns: string[] = [];
  const rows: { coords: Record<string, MatrixValue>; nodes: string[]; values: Record<string, number | null> }[] = [];
  // Nodes with every axis first, so partial-coordinate nodes join existing rows.
  const ordered = [...nodes].sort((a, b) => Object.keys(b.matrix).length - Object.keys(a.matrix).length);
  for (const n of ordered) {
    const matches = rows.filter((r) => Object.entries(n.matrix).every(([a, v]) => r.coords[a] === v));
    const targets = matches.length ? matches : [rows[rows.push({ coords: { ...n.matrix }, nodes: [], values: {} }) - 1] as (typeof rows)[number]];
    for (const [name, v] of Object.entries(n.metrics)) {
      if (typeof v !== 'number' && v !== null) continue;
      const column = `${n.input}.${name}`;
      if (!columns.includes(column)) columns.push(column);
      for (const r of targets) r.values[column] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
    for (const r of targets) r.nodes.push(n.nodeId);
  }
  // Stable order: by coordinates, axis by axis, in first-seen order of values.
  const order = new Map(axes.map((a) => [a, [] as MatrixValue[]]));
  for (const n of nodes) for (const [a, v] of Object.entries(n.matrix)) if (!order.get(a)!.includes(v)) order.get(a)!.push(v);
  rows.sort((p, q) => {
    for (const a of axes) {
      const vs = order.get(a)!;
      const d = vs.indexOf(p.coords[a] as MatrixValue) - vs.indexOf(q.coords[a] as MatrixValue);
      if (d !== 0) return d;
    }
    return 0;
  });
  return { axes, columns, rows };
}

/** The table as CSV (RFC 4180 quoting): node ids, coordinates, then every column. */
export function tableCsv(t: Table): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [['nodes', ...t.axes, ...t.columns].map(cell).join(',')];
  for (const r of t.rows) lines.push([r.nodes.join(' '), ...t.axes.map((a) => r.coords[a]), ...t.columns.map((c) => r.values[c])].map(cell).join(','));
  return `${lines.join('\n')}\n`;
}

/** Paired (metric, target) values over the rows where both are finite. */
export function paired(t: Table, metric: string, target: string): { x: number[]; y: number[]; rows: Row[] } {
  const x: number[] = [];
  const y: number[] = [];
  const rows: Row[] = [];
  for (const r of t.rows) {
    const a = r.values[metric];
    const b = r.values[target];
    if (typeof a === 'number' && typeof b === 'number') {
      x.push(a);
      y.push(b);
      rows.push(r);
    }
  }
  return { x, y, rows };
}
