import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import { isPlainObject, type JsonObject, type JsonValue } from '../util/json.js';
import { describeValue, subjectOf, type DocPath } from './paths.js';
import type { SourceDoc } from './source-doc.js';
import type { MatrixValue } from './types.js';

/**
 * `${...}` in `with` values. A stage's `with` is compiled once into a template: references to params,
 * the pipeline name and the stage name are resolved (and checked) at compile time, so only matrix
 * values remain to fill per node, and every error is reported once per stage, not once per node.
 */
export type Template =
  | { readonly t: 'value'; readonly v: JsonValue }
  | { readonly t: 'axis'; readonly axis: string }
  | { readonly t: 'concat'; readonly parts: readonly (string | { readonly axis: string })[] }
  | { readonly t: 'array'; readonly items: readonly Template[] }
  | { readonly t: 'object'; readonly entries: readonly (readonly [string, Template])[] };

export interface TemplateScope {
  readonly pipeline: string;
  readonly stage: string;
  /** undefined when params are malformed (already reported): references to them go unchecked. */
  readonly params: JsonObject | undefined;
  /** Axes of the stage's nodes; [] without fan-out; undefined when unknown (upstream is broken). */
  readonly axes: readonly string[] | undefined;
  /** The stage followed with foreach, if any (to explain where axes come from). */
  readonly foreach?: string | undefined;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const ROOTS = ['params', 'matrix', 'name', 'stage'];
const FORMS = '${params.<key>...}, ${matrix.<axis>}, ${name} or ${stage}';

export function compileTemplate(value: unknown, path: DocPath, scope: TemplateScope, source: SourceDoc, report: (d: Diagnostic) => void): Template {
  if (typeof value === 'string') return compileString(value, path, scope, source, report);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileTemplate(v, [...path, i], scope, source, report));
    return items.every((i) => i.t === 'value') ? { t: 'value', v: items.map((i) => i.v) } : { t: 'array', items };
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([k, v]) => [k, compileTemplate(v, [...path, k], scope, source, report)] as const);
    if (!entries.every(([, e]) => e.t === 'value')) return { t: 'object', entries };
    return { t: 'value', v: Object.fromEntries(entries.map(([k, e]) => [k, (e as { v: JsonValue }).v])) };
  }
  return { t: 'value', v: value as JsonValue };
}

/** The value of a template for one node's coordinates. Containers are always fresh (callers mutate them). */
export function instantiate(t: Template, coords: Readonly<Record<string, MatrixValue>>): JsonValue {
  switch (t.t) {
    case 'value':
      return copy(t.v);
    case 'axis':
      return coords[t.axis] ?? null;
    case 'concat':
      return t.parts.map((p) => (typeof p === 'string' ? p : String(coords[p.axis]))).join('');
    case 'array':
      return t.items.map((i) => instantiate(i, coords));
    case 'object': {
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of t.entries) out[k] = instantiate(v, coords);
      return out;
    }
  }
}

function copy(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy);
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of Object.entries(v)) out[k] = copy(x);
  return out;
}

type Resolved = { readonly v: JsonValue } | { readonly axis: string } | undefined;

function compileString(s: string, path: DocPath, scope: TemplateScope, source: SourceDoc, report: (d: Diagnostic) => void): Template {
  if (!s.includes('${')) return { t: 'value', v: s };
  const parts: (string | { axis: string } | { v: JsonValue; ref: string })[] = [];
  let text = '';
  let failed = false;
  const seen = new Map<string, number>(); // occurrences of each `${...}` so far, to point at the right one
  for (let i = 0; i < s.length; ) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (!s.startsWith('${', i)) {
      text += s[i++];
      continue;
    }
    const close = s.indexOf('}', i + 2);
    const raw = close < 0 ? s.slice(i) : s.slice(i, close + 1);
    const occurrence = seen.get(raw) ?? 0;
    seen.set(raw, occurrence + 1);
    const at = (): Diagnostic['location'] => source.rangeWithin(path, raw, occurrence);
    if (close < 0) {
      report({
        code: 'interpolation-syntax',
        message: `unclosed "\${" in ${subjectOf(path)}`,
        location: at(),
        expected: `a reference closed by "}", e.g. ${FORMS}`,
        found: JSON.stringify(raw),
        remedy: 'add the closing "}", or write "$${" for a literal "${"',
      });
      return { t: 'value', v: s };
    }
    const ref = s.slice(i + 2, close).trim();
    const segments = ref.split('.');
    if (!segments.every((seg) => SEGMENT.test(seg))) {
      report({
        code: 'interpolation-syntax',
        message: `invalid reference "${raw}" in ${subjectOf(path)}`,
        location: at(),
        expected: FORMS,
        found: JSON.stringify(raw),
        remedy: 'fix the reference, or write "$${" for a literal "${"',
      });
      failed = true;
    } else {
      const resolved = resolve(segments, raw, path, scope, (d) => report({ ...d, location: at() }));
      if (resolved === undefined) failed = true;
      else {
        if (text) parts.push(text);
        text = '';
        parts.push('axis' in resolved ? { axis: resolved.axis } : { v: resolved.v, ref: raw });
      }
    }
    i = close + 1;
  }
  if (text) parts.push(text);
  if (failed) return { t: 'value', v: s };
  // Exactly one reference and nothing else: the value keeps its type (a number stays a number).
  if (parts.length === 1 && typeof parts[0] !== 'string') {
    const only = parts[0]!;
    return 'axis' in only ? { t: 'axis', axis: only.axis } : { t: 'value', v: only.v };
  }
  const out: (string | { axis: string })[] = [];
  for (const p of parts) {
    if (typeof p === 'string' || 'axis' in p) out.push(p);
    else if (p.v !== null && typeof p.v === 'object') {
      const kind = Array.isArray(p.v) ? 'a list' : 'a mapping';
      report({
        code: 'interpolation-type',
        message: `${p.ref} is ${kind} and cannot be part of a longer string in ${subjectOf(path)}`,
        location: source.rangeWithin(path, p.ref, 0),
        expected: 'a string, number, true, false or null inside a longer string',
        found: `${p.ref} is ${describeValue(p.v)}`,
        remedy: `make "${p.ref}" the whole value, or refer to one of its ${Array.isArray(p.v) ? 'items' : 'keys'}`,
      });
      return { t: 'value', v: s };
    } else out.push(String(p.v));
  }
  // Adjacent literal pieces merge, so a string without matrix references becomes a plain value.
  const merged: (string | { axis: string })[] = [];
  for (const p of out) {
    const last = merged[merged.length - 1];
    if (typeof p === 'string' && typeof last === 'string') merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  if (merged.every((p) => typeof p === 'string')) return { t: 'value', v: merged.join('') };
  return { t: 'concat', parts: merged };
}

/** A reference's value, or its axis when it varies per node; undefined after reporting a problem. */
function resolve(segments: readonly string[], raw: string, path: DocPath, scope: TemplateScope, report: (d: Omit<Diagnostic, 'location'>) => void): Resolved {
  const [root, ...rest] = segments as [string, ...string[]];
  const unknown = (expected: string, suggestion: string | undefined, remedy: string): undefined => {
    report({
      code: 'unknown-reference',
      message: `unknown reference "${raw}" in ${subjectOf(path)}`,
      expected,
      found: raw,
      remedy: suggestion ? `did you mean "\${${suggestion}}"?` : remedy,
    });
    return undefined;
  };
  switch (root) {
    case 'name':
    case 'stage':
      if (rest.length > 0) return unknown(FORMS, root, `use \${${root}} on its own`);
      return { v: root === 'name' ? scope.pipeline : scope.stage };
    case 'matrix': {
      if (scope.axes === undefined) return rest.length === 1 ? { axis: rest[0]! } : { v: null };
      if (scope.axes.length === 0) {
        report({
          code: 'no-matrix',
          message:
            scope.foreach === undefined
              ? `${raw} used in stage "${scope.stage}", which has no matrix or foreach`
              : `${raw} used in stage "${scope.stage}", which follows "${scope.foreach}", a stage without a matrix`,
          expected: 'a stage with a matrix, or a foreach over one',
          found: raw,
          remedy: 'add a matrix or foreach to the stage, or write the value itself',
        });
        return undefined;
      }
      const axis = rest.length === 1 ? rest[0]! : undefined;
      if (axis !== undefined && scope.axes.includes(axis)) return { axis };
      const axes = scope.axes.map((a) => `matrix.${a}`);
      return unknown(`one of ${axes.map((a) => `\${${a}}`).join(', ')}`, closest(segments.join('.'), axes), 'use one of the axes of the stage');
    }
    case 'params': {
      if (scope.params === undefined) return { v: null };
      let at: JsonValue = scope.params;
      for (let i = 0; i < rest.length; i++) {
        const key = rest[i]!;
        const here = ['params', ...rest.slice(0, i)].join('.');
        if (Array.isArray(at) && /^\d+$/.test(key) && Number(key) < at.length) {
          at = at[Number(key)]!;
        } else if (isPlainObject(at) && Object.hasOwn(at, key)) {
          at = (at as Record<string, JsonValue>)[key]!;
        } else if (isPlainObject(at)) {
          const keys = Object.keys(at).map((k) => `${here}.${k}`);
          const suggestion = closest([here, key].join('.'), keys);
          const shown = keys.slice(0, 8).map((k) => `\${${k}}`);
          return unknown(
            keys.length ? `one of ${shown.join(', ')}${keys.length > 8 ? ', ...' : ''}` : `a key defined under ${here}`,
            suggestion && [suggestion, ...rest.slice(i + 1)].join('.'),
            `add "${key}" under ${here}, or fix the name`,
          );
        } else {
          return unknown(`a reference into a mapping or list under ${here}`, undefined, `${here} is ${describeValue(at)}: refer to \${${here}} itself`);
        }
      }
      return { v: at };
    }
    default: {
      const suggestion = closest(root, ROOTS);
      return unknown(FORMS, suggestion && [suggestion, ...rest].join('.'), 'start the reference with params, matrix, name or stage');
    }
  }
}
