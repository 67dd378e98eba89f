import type { Pipeline, PlannedNode, StageSpec } from '../config/types.js';
import { unreachable } from '../util/unreachable.js';

export type DagFormat = 'text' | 'mermaid' | 'dot';
export type DagLevel = 'stages' | 'nodes';

/**
 * The pipeline's graph for people (text), docs (Mermaid) or Graphviz (DOT). At stage level each stage
 * shows its kind and fan-out, edges carry input names; at node level every node and edge is drawn.
 * Edges point the way data flows: upstream -> downstream.
 */
export function renderDag(p: Pipeline, format: DagFormat, level: DagLevel): string {
  const edges = level === 'stages' ? stageEdges(p) : nodeEdges(p);
  const labels = level === 'stages' ? p.stages.map((s) => ({ id: s.name as string, label: stageLabel(s) })) : p.nodes.map((n) => ({ id: n.id as string, label: n.id as string }));
  switch (format) {
    case 'text':
      return level === 'stages' ? stageText(p) : nodeText(p);
    case 'mermaid':
      return mermaid(labels, edges);
    case 'dot':
      return dot(p.name, labels, edges);
    default:
      return unreachable(format, 'format');
  }
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

function stageEdges(p: Pipeline): Edge[] {
  const edges: Edge[] = [];
  for (const s of p.stages) {
    const byUpstream = new Map<string, string[]>();
    if (s.foreach !== undefined) byUpstream.set(s.foreach, ['foreach']);
    for (const [input, up] of Object.entries(s.inputs ?? {})) byUpstream.set(up, [...(byUpstream.get(up) ?? []), input]);
    for (const [up, names] of byUpstream) edges.push({ from: up, to: s.name, label: names.join(', ') });
  }
  return edges;
}

function nodeEdges(p: Pipeline): Edge[] {
  const edges: Edge[] = [];
  for (const n of p.nodes) {
    for (const [input, b] of Object.entries(n.inputs)) for (const up of b.nodes) edges.push({ from: up, to: n.id, label: input });
  }
  return edges;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function fanOut(s: StageSpec): string {
  if (s.foreach !== undefined) return `foreach ${s.foreach}`;
  return s.axes.length > 0 ? `matrix ${s.axes.join(' x ')}` : '';
}

const stageLabel = (s: StageSpec): string => `${s.name} (${s.kind}${s.nodes.length > 1 ? `, ${plural(s.nodes.length, 'node')}` : ''})`;

/** How an input binds, in words: `data`, `train (one each)`, `train (all 6)`. */
function bindingText(nodes: readonly PlannedNode[], input: string, upstream: StageSpec | undefined): string {
  const first = nodes[0]?.inputs[input];
  if (!first || !upstream) return input;
  if (first.gather) return `${upstream.name} (all ${first.nodes.length})`;
  return upstream.nodes.length > 1 ? `${upstream.name} (one each)` : upstream.name;
}

function stageText(p: Pipeline): string {
  const byName = new Map(p.stages.map((s) => [s.name as string, s]));
  const nodesOf = new Map<string, PlannedNode[]>();
  for (const n of p.nodes) {
    const list = nodesOf.get(n.stage);
    if (list) list.push(n);
    else nodesOf.set(n.stage, [n]);
  }
  const order = [...new Set(p.nodes.map((n) => n.stage as string))].map((name) => byName.get(name)!);
  const rows = order.map((s) => [
    s.name,
    s.kind,
    plural(s.nodes.length, 'node'),
    fanOut(s),
    Object.entries(s.inputs ?? {}).map(([input, up]) => `${input} <- ${bindingText(nodesOf.get(s.name) ?? [], input, byName.get(up))}`).join(', '),
  ]);
  const header = `pipeline ${p.name}: ${plural(p.stages.length, 'stage')}, ${plural(p.nodes.length, 'node')}`;
  return [header, '', ...table(rows)].join('\n');
}

function nodeText(p: Pipeline): string {
  const rows = p.nodes.map((n) => [
    n.id,
    n.kind,
    Object.entries(n.inputs)
      .map(([input, b]) => `${input} <- ${b.gather ? `${b.stage} (all ${b.nodes.length})` : b.nodes.join(', ')}`)
      .join(', '),
  ]);
  return [`pipeline ${p.name}: ${plural(p.nodes.length, 'node')} in run order`, '', ...table(rows)].join('\n');
}

/** Left-aligned columns two spaces apart; trailing blanks trimmed. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}

function mermaid(labels: readonly { id: string; label: string }[], edges: readonly Edge[]): string {
  // Mermaid ids must be simple; node ids contain brackets and quotes, so number them.
  const ref = new Map(labels.map((l, i) => [l.id, `n${i}`]));
  const esc = (s: string): string => s.replace(/"/g, '#quot;');
  return [
    'flowchart LR',
    ...labels.map((l) => `  ${ref.get(l.id)}["${esc(l.label)}"]`),
    ...edges.map((e) => `  ${ref.get(e.from)} -->|"${esc(e.label)}"| ${ref.get(e.to)}`),
  ].join('\n');
}

function dot(name: string, labels: readonly { id: string; label: string }[], edges: readonly Edge[]): string {
  const q = (s: string): string => JSON.stringify(s); // a DOT quoted string accepts JSON escapes for " and \
  return [
    `digraph ${q(name)} {`,
    '  rankdir=LR;',
    '  node [shape=box];',
    ...labels.map((l) => `  ${q(l.id)} [label=${q(l.label)}];`),
    ...edges.map((e) => `  ${q(e.from)} -> ${q(e.to)} [label=${q(e.label)}];`),
    '}',
  ].join('\n');
}
