import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { JsonValue } from '../util/json.js';
import type { ExpandedStage } from './expand.js';
import { instantiate, type Template } from './interpolate.js';
import { schemaDiagnostics } from './schema-errors.js';
import type { SourceDoc } from './source-doc.js';

/**
 * Each node's `with`: the stage's template filled with the node's coordinates, checked against the
 * kind's schema with interpolation no longer allowed, defaults filled in. The raw document was already
 * checked, so errors here come from interpolated values; the same error on many nodes is reported once.
 */
export function resolveWith(
  stage: ExpandedStage,
  template: Template,
  validate: ValidateFunction | undefined,
  source: SourceDoc,
  report: (d: Diagnostic) => void,
): JsonValue[] {
  const prefix = [...stage.raw.path, 'with'];
  if (template.t === 'value') {
    // No matrix references: every node gets the same value, so check it (and fill defaults) once.
    const value = instantiate(template, {});
    if (validate && !validate(value)) {
      const total = stage.ids.length;
      for (const d of schemaDiagnostics(validate.errors ?? [], source, { prefix, interpolation: false })) {
        report({ ...d, message: `${d.message}${total === 1 ? '' : ` (all ${total} nodes)`}`, ...(d.found !== undefined ? { found: `${d.found} (after interpolation)` } : {}) });
      }
    }
    const checked: Template = { t: 'value', v: value };
    return stage.ids.map((_, n) => (n === 0 ? value : instantiate(checked, {})));
  }
  const groups = new Map<string, { diagnostic: Diagnostic; count: number; first: string }>();
  const values = stage.coords.map((coords, n) => {
    const value = instantiate(template, coords);
    if (validate && !validate(value)) {
      for (const d of schemaDiagnostics(validate.errors ?? [], source, { prefix, interpolation: false })) {
        const key = JSON.stringify([d.message, d.location]);
        const group = groups.get(key);
        if (group) group.count++;
        else groups.set(key, { diagnostic: d, count: 1, first: stage.ids[n]! });
      }
    }
    return value;
  });
  for (const { diagnostic: d, count, first } of groups.values()) {
    const total = stage.ids.length;
    const nodes = total === 1 ? '' : count === 1 ? ` (node ${first})` : count === total ? ` (all ${total} nodes)` : ` (${count} of ${total} nodes, e.g. ${first})`;
    report({ ...d, message: `${d.message}${nodes}`, ...(d.found !== undefined ? { found: `${d.found} (after interpolation)` } : {}) });
  }
  return values;
}
