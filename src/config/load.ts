import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { sortDiagnostics } from '../diagnostics/sort.js';
import { asStageName, type NodeId } from '../fingerprint/ids.js';
import { isPlainObject, type JsonObject } from '../util/json.js';
import { err, ok, type Result } from '../util/result.js';
import type { KindCatalog } from './catalog.js';
import { bindInputs, expandStage, type ExpandedStage } from './expand.js';
import { compileTemplate } from './interpolate.js';
import { checkStages } from './references.js';
import { resolveWith } from './resolve-with.js';
import { compiledFor } from './schema-compile.js';
import { schemaDiagnostics } from './schema-errors.js';
import { parseSource } from './source-doc.js';
import { readStages } from './stage-read.js';
import type { Pipeline, PipelineSettings, PlannedNode, StageSpec } from './types.js';

export interface LoadOptions {
  /** Directory `file` is relative to; defaults to process.cwd(). */
  readonly cwd?: string;
}

/**
 * YAML text to a validated, expanded pipeline, or every independent problem found, in file order.
 * Pure apart from the catalog's schemas: the caller reads the file. `file` is the path as the user
 * gave it (messages show it); the pipeline's directory is that of the resolved absolute path.
 *
 * Passes: parse (syntax errors stop here) -> schema on the raw document -> stage checks (kinds,
 * references, cycles) -> per stage in dependency order: nodes, input binding, interpolation, and
 * the resolved `with` checked against the kind's schema, with defaults applied.
 */
export function loadPipeline(file: string, source: string, catalog: KindCatalog, opts: LoadOptions = {}): Result<Pipeline, Diagnostic[]> {
  const parsed = parseSource(file, source);
  if (!parsed.ok) return err(sortDiagnostics(parsed.error));
  const { source: doc, value } = parsed.value;
  if (value === null || value === undefined) {
    return err([{
      code: 'empty-file',
      message: 'the pipeline file is empty',
      location: { file, line: 1, column: 1 },
      expected: 'a mapping with version, name and stages',
      found: 'nothing',
      remedy: 'start with "version: 1", "name: <name>" and "stages:"',
    }]);
  }

  const problems: Diagnostic[] = [];
  const report = (d: Diagnostic): void => void problems.push(d);
  const schemas = compiledFor(catalog);
  // Stages whose `with` already failed the schema: checking their resolved values would repeat it.
  const badWith = new Set<string>();
  if (!schemas.document(value)) {
    const errors = schemas.document.errors ?? [];
    for (const e of errors) {
      const m = /^\/stages\/([^/]+)(\/with(\/|$))?/.exec(e.instancePath);
      if (m && (m[2] !== undefined || (e.keyword === 'required' && e.params['missingProperty'] === 'with'))) badWith.add(m[1]!.replace(/~1/g, '/').replace(/~0/g, '~'));
    }
    problems.push(...schemaDiagnostics(errors, doc, { interpolation: true }));
  }
  if (!isPlainObject(value)) return err(sortDiagnostics(problems));

  const name = typeof value['name'] === 'string' ? value['name'] : '';
  const params = isPlainObject(value['params']) ? (value['params'] as JsonObject) : value['params'] === undefined ? {} : undefined;
  const stages = readStages(value['stages']);
  const { order } = checkStages(stages, catalog, doc, report);

  const expanded = new Map<string, ExpandedStage>();
  const nodesOf = new Map<string, PlannedNode[]>();
  for (const raw of order) {
    const stage = expandStage(raw, expanded, doc, report);
    if (stage) expanded.set(raw.name, stage);
    const inputs = stage ? bindInputs(stage, expanded, doc, report) : undefined;
    const axes = stage?.axes ?? (raw.hasMatrix || raw.foreach !== undefined ? undefined : []);
    if (raw.with === undefined) continue; // not a mapping: the schema said so
    const template = compileTemplate(raw.with, [...raw.path, 'with'], { pipeline: name, stage: raw.name, params, axes, foreach: raw.foreach }, doc, report);
    if (!stage || !inputs || raw.kind === undefined) continue;
    const validate = badWith.has(raw.name) ? undefined : schemas.resolved(raw.kind);
    const withs = resolveWith(stage, template, validate, doc, report);
    nodesOf.set(
      raw.name,
      stage.ids.map((id, n) => ({
        id,
        stage: raw.name,
        kind: raw.kind!,
        matrix: stage.coords[n]!,
        params: withs[n]!,
        inputs: inputs[n]!,
        location: stage.locations[n]!,
      })),
    );
  }
  if (problems.length > 0) return err(sortDiagnostics(problems));

  const specs: StageSpec[] = stages.map((s) => {
    const e = expanded.get(s.name)!;
    return {
      name: s.name,
      kind: s.kind!,
      axes: e.axes,
      ...(s.foreach !== undefined ? { foreach: asStageName(s.foreach) } : {}),
      nodes: e.ids as NodeId[],
      location: doc.keyRange(s.path),
      inputs: Object.fromEntries(s.inputs.map((i) => [i.name, expanded.get(i.stage)!.raw.name])),
      ...(s.description !== undefined ? { description: s.description } : {}),
    };
  });
  const absFile = resolve(opts.cwd ?? process.cwd(), file);
  return ok({
    name,
    file,
    absFile,
    workdir: dirname(absFile),
    params: params ?? {},
    settings: (value['settings'] ?? {}) as PipelineSettings,
    stages: specs,
    nodes: order.flatMap((s) => nodesOf.get(s.name)!),
  });
}
