import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import { findCycles, topologicalOrder } from '../graph/dag.js';
import type { KindCatalog } from './catalog.js';
import type { DocPath } from './paths.js';
import type { SourceDoc } from './source-doc.js';
import type { RawStage } from './stage-read.js';

/** One use of a stage by another: an input or a foreach, with where it is written. */
export interface StageEdge {
  readonly from: RawStage;
  readonly upstream: string;
  readonly path: DocPath;
  readonly via: 'input' | 'foreach';
  readonly input?: string;
}

export interface StageOrder {
  /** Stages that can be expanded, upstream before downstream (file order among independent ones). */
  readonly order: readonly RawStage[];
}

/**
 * Stage-level checks that need the whole set of stages: known kinds, references to existing stages
 * (not to the stage itself), matrix and foreach not both, no cycles. Returns the order in which stages
 * can be expanded; stages in or below a cycle are left out (the cycle is the reported problem).
 */
export function checkStages(stages: readonly RawStage[], catalog: KindCatalog, source: SourceDoc, report: (d: Diagnostic) => void): StageOrder {
  const byName = new Map(stages.map((s) => [s.name as string, s]));
  const names = stages.map((s) => s.name as string);
  const edges = new Map<RawStage, StageEdge[]>();

  for (const s of stages) {
    if (s.kind !== undefined && !catalog.kinds.includes(s.kind)) {
      const suggestion = closest(s.kind, catalog.kinds);
      report({
        code: 'unknown-kind',
        message: `unknown stage kind "${s.kind}" in stage "${s.name}"`,
        location: source.valueRange([...s.path, 'kind']),
        expected: `one of ${catalog.kinds.join(', ')}`,
        found: s.kind,
        remedy: suggestion ? `did you mean "${suggestion}"?` : 'use one of the known kinds',
      });
    }
    if (s.hasMatrix && s.foreach !== undefined) {
      report({
        code: 'matrix-and-foreach',
        message: `stage "${s.name}" has both matrix and foreach`,
        location: source.keyRange([...s.path, 'foreach']),
        expected: 'either matrix (a grid of its own) or foreach (one node per node of another stage)',
        found: 'both',
        remedy: 'remove one of them',
        related: [{ message: 'the matrix is here', location: source.keyRange([...s.path, 'matrix']) }],
      });
    }
    const uses: StageEdge[] = [
      ...s.inputs.map((i): StageEdge => ({ from: s, upstream: i.stage, path: [...s.path, 'inputs', i.name], via: 'input', input: i.name })),
      ...(s.foreach !== undefined ? [{ from: s, upstream: s.foreach, path: [...s.path, 'foreach'], via: 'foreach' } as StageEdge] : []),
    ];
    const valid: StageEdge[] = [];
    for (const e of uses) {
      const what = e.via === 'input' ? `input "${e.input}" of stage "${s.name}"` : `foreach of stage "${s.name}"`;
      if (e.upstream === s.name) {
        report({
          code: 'self-reference',
          message: `${what} refers to the stage itself`,
          location: source.valueRange(e.path),
          expected: 'the name of another stage',
          found: e.upstream,
          remedy: 'a stage cannot use its own results: refer to an upstream stage',
        });
      } else if (!byName.has(e.upstream)) {
        const others = names.filter((n) => n !== s.name);
        const suggestion = closest(e.upstream, others);
        report({
          code: 'unknown-stage',
          message: `${what} refers to unknown stage "${e.upstream}"`,
          location: source.valueRange(e.path),
          expected: others.length ? `one of ${others.join(', ')}` : 'the name of another stage',
          found: e.upstream,
          remedy: suggestion ? `did you mean "${suggestion}"?` : `define a stage named "${e.upstream}", or fix the name`,
        });
      } else valid.push(e);
    }
    edges.set(s, valid);
  }

  const depsOf = (s: RawStage): RawStage[] => edges.get(s)!.map((e) => byName.get(e.upstream)!);
  for (const cycle of findCycles(stages, depsOf)) reportCycle(cycle, edges, source, report);
  return { order: topologicalOrder(stages, depsOf).order };
}

/**
 * `cycle` is a dependency path [a, c, b, a] (a uses c, ...). It is printed the way data would flow,
 * `a -> b -> c -> a`, located at the first use and with the other uses as related notes.
 */
function reportCycle(cycle: readonly RawStage[], edges: ReadonlyMap<RawStage, readonly StageEdge[]>, source: SourceDoc, report: (d: Diagnostic) => void): void {
  const uses = cycle.slice(0, -1).map((s, i) => edges.get(s)!.find((e) => e.upstream === cycle[i + 1]!.name)!);
  const flow = [...cycle].reverse().map((s) => s.name);
  const say = (e: StageEdge): string =>
    e.via === 'input' ? `stage "${e.from.name}" reads "${e.upstream}" (input "${e.input}")` : `stage "${e.from.name}" iterates over "${e.upstream}"`;
  const [first, ...rest] = uses;
  report({
    code: 'cycle',
    message: `stages form a cycle: ${flow.join(' -> ')}`,
    location: source.valueRange(first!.path),
    expected: 'each stage to use only stages that can run before it',
    found: say(first!),
    remedy: 'remove one of the uses in this cycle',
    related: rest.map((e) => ({ message: say(e), location: source.valueRange(e.path) })),
  });
}
