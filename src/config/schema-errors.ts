import type { ErrorObject } from 'ajv/dist/2020.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import { containerOf, describeValue, orList, subjectOf, typesWord, typeWord, type DocPath, type PathSegment } from './paths.js';
import type { SourceDoc } from './source-doc.js';

/**
 * JSON Schema errors (ajv, run with allErrors and verbose) in a user's words, each pointed at the
 * YAML node it concerns: the offending key for unknown keys, the parent's key for missing keys,
 * the value for wrong types and values.
 */
export interface SchemaErrorOptions {
  /** Path of the validated value in the document (a `with` block when checking resolved values). */
  readonly prefix?: DocPath;
  /** Whether "${...}" is an accepted alternative (raw document) or not (resolved values). */
  readonly interpolation: boolean;
}

const INTERPOLATION_PATTERN = '^\\$\\{[^}]+\\}$';
const PATTERN_WORDS: Readonly<Record<string, string>> = {
  '^[A-Za-z_][A-Za-z0-9_-]*$': 'a name: a letter or "_" first, then letters, digits, "_" or "-"',
  '^[A-Za-z0-9_.-]+$': 'letters, digits, "_", "." and "-" only',
  [INTERPOLATION_PATTERN]: 'an interpolation "${...}"',
};

export function schemaDiagnostics(errors: readonly ErrorObject[], source: SourceDoc, opts: SchemaErrorOptions): Diagnostic[] {
  const consumed = new Set<number>();
  const out: Diagnostic[] = [];
  // anyOf errors come after the errors of their branches; fold those branches into one message.
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i]!;
    if (e.keyword !== 'anyOf') continue;
    const branch: ErrorObject[] = [];
    // Deeper errors already folded by an inner anyOf (a field of a mapping that may also be an
    // interpolation) were reported on their own: they make this anyOf's summary redundant.
    let deeper = false;
    for (let j = i - 1; j >= 0 && within(errors[j]!.instancePath, e.instancePath); j--) {
      if (consumed.has(j)) {
        deeper ||= errors[j]!.instancePath !== e.instancePath;
        continue;
      }
      consumed.add(j);
      branch.unshift(errors[j]!);
    }
    consumed.add(i);
    // Errors deeper inside a branch (an item of a list) are specific too, whatever their keyword.
    const specific = branch.filter((b) => b.instancePath !== e.instancePath || !isTypeMismatch(b));
    // A value of the right type that breaks a constraint (-1 for a number >= 0): say which constraint.
    if (specific.length > 0) out.push(...specific.flatMap((b) => one(b, source, opts)));
    else if (!deeper) out.push(...one(e, source, opts));
  }
  errors.forEach((e, i) => {
    if (!consumed.has(i)) out.push(...one(e, source, opts));
  });
  return out;
}

const within = (path: string, parent: string): boolean => path === parent || path.startsWith(`${parent}/`);

function isTypeMismatch(e: ErrorObject): boolean {
  return (
    e.keyword === 'type' ||
    e.keyword === 'false schema' ||
    e.keyword === 'anyOf' ||
    (e.keyword === 'pattern' && e.params['pattern'] === INTERPOLATION_PATTERN)
  );
}

function pathOf(e: ErrorObject, prefix: DocPath): PathSegment[] {
  const segs = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/');
  return [...prefix, ...segs.map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^\d+$/.test(s) ? Number(s) : s))];
}

function one(e: ErrorObject, source: SourceDoc, opts: SchemaErrorOptions): Diagnostic[] {
  const path = pathOf(e, opts.prefix ?? []);
  const subject = subjectOf(path);
  const at = source.valueRange(path);
  const found = describeValue(e.data);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
    case 'propertyNames': // its inner error (a pattern on the name) says more
      return [];
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      const allowed = Object.keys((parent['properties'] ?? {}) as object);
      const suggestion = closest(key, allowed);
      return [{
        code: 'unknown-key',
        message: `unknown key "${key}" ${containerOf(path)}`,
        location: source.keyRange([...path, key]),
        expected: allowed.length ? `one of ${allowed.join(', ')}` : 'no keys here',
        found: key,
        remedy: suggestion ? `rename it to "${suggestion}"` : 'remove it',
      }];
    }
    case 'required': {
      const key = String(e.params['missingProperty']);
      const kind = isRecord(e.data) && typeof e.data['kind'] === 'string' ? e.data['kind'] : undefined;
      return [{
        code: 'missing-key',
        message: `${subject} is missing required key "${key}"`,
        location: source.keyRange(path),
        expected: `a "${key}" key`,
        remedy:
          key === 'with' && kind
            ? `add a "with:" block with the parameters kind "${kind}" requires`
            : `add "${key}:" ${path.length === 0 ? 'at the top level' : `to ${subject}`}`,
      }];
    }
    case 'pattern': {
      const pattern = String(e.params['pattern']);
      const words = PATTERN_WORDS[pattern] ?? `text matching /${pattern}/`;
      if (e.propertyName !== undefined) {
        const name = e.propertyName;
        const isStage = path.length === 1 && path[0] === 'stages';
        return [{
          code: 'invalid-name',
          message: `invalid ${nameKind(path)} "${name}"${isStage ? '' : ` ${containerOf(path)}`}`,
          location: source.keyRange([...path, name]),
          expected: words,
          found: name,
          remedy: 'rename it',
        }];
      }
      if (path.length === 1 && path[0] === 'name' && typeof e.data === 'string') {
        return [{
          code: 'invalid-name',
          message: `invalid pipeline name ${found}`,
          location: at,
          expected: words,
          found,
          remedy: `rename it, e.g. "${e.data.replace(/[^A-Za-z0-9_.-]+/g, '-')}"`,
        }];
      }
      const reference = path[path.length - 1] === 'foreach' || path[path.length - 2] === 'inputs';
      return [{
        code: 'invalid-value',
        message: `${subject} is not a valid ${reference ? 'stage name' : 'value'}`,
        location: at,
        expected: words,
        found,
        remedy: reference ? 'use the name of a stage' : 'change it to the expected form',
      }];
    }
    case 'type': {
      const expected = expectedTypes(e.params['type']);
      const remedy = path.length === 0 ? 'write the pipeline as "key: value" lines: version, name, stages' : `write ${expected} here`;
      return [{ code: 'wrong-type', message: `${subject} must be ${expected}`, location: at, expected, found, remedy }];
    }
    case 'anyOf': {
      const forms = (e.schema as Record<string, unknown>[]).map((b) => describeBranch(b, opts.interpolation)).filter((f) => f !== '');
      const expected = orList(forms);
      return [{ code: 'wrong-type', message: `${subject} must be ${expected}`, location: at, expected, found, remedy: `write ${expected} here` }];
    }
    case 'const': {
      const want = JSON.stringify(e.params['allowedValue']);
      const isVersion = path.length === 1 && path[0] === 'version';
      return [{
        code: 'invalid-value',
        message: `${subject} must be ${want}`,
        location: at,
        expected: want,
        found,
        remedy: isVersion ? 'write "version: 1" (the only version of this format)' : `change it to ${want}`,
      }];
    }
    case 'enum': {
      const allowed = (e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v));
      const suggestion = typeof e.data === 'string' ? closest(JSON.stringify(e.data), allowed) : undefined;
      return [{
        code: 'invalid-value',
        message: `${subject} must be one of ${allowed.join(', ')}`,
        location: at,
        expected: `one of ${allowed.join(', ')}`,
        found,
        remedy: suggestion ? `did you mean ${suggestion}?` : 'use one of the listed values',
      }];
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const bound = `${String(e.params['comparison'])} ${String(e.params['limit'])}`;
      const expected = `${typeWord(String(parent['type'] ?? 'number'))} ${bound}`;
      return [{ code: 'out-of-range', message: `${subject} must be ${bound}`, location: at, expected, found, remedy: `use ${expected}` }];
    }
    case 'minItems':
      return [minItems(path, Number(e.params['limit']), at, found)];
    case 'minProperties':
      return [minProperties(path, Number(e.params['limit']), at, found)];
    case 'minLength':
      return [{ code: 'invalid-value', message: `${subject} must not be empty`, location: at, expected: 'a non-empty string', found, remedy: 'write a value, or remove the key' }];
    case 'false schema':
      return [{ code: 'invalid-value', message: `${subject} is not allowed here`, location: at, found, remedy: 'remove it' }];
    default:
      return [{ code: 'invalid-value', message: `${subject} ${e.message ?? 'is not valid'}`, location: at, found, remedy: 'change it to match the schema' }];
  }
}

function nameKind(path: DocPath): string {
  const last = path[path.length - 1];
  if (path.length === 1 && last === 'stages') return 'stage name';
  if (last === 'matrix' || path[path.length - 2] === 'include' || path[path.length - 2] === 'exclude') return 'matrix axis name';
  if (last === 'inputs') return 'input name';
  return 'key';
}

function expectedTypes(type: unknown): string {
  return typesWord(Array.isArray(type) ? type.map(String) : [String(type)]);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** One alternative of an anyOf in words: `a number >= 0`, `an interpolation "${...}"`. */
function describeBranch(b: Record<string, unknown>, interpolation: boolean): string {
  const ref = b['$ref'];
  if (typeof ref === 'string' && ref.endsWith('#/$defs/interpolation')) return interpolation ? 'an interpolation "${...}"' : '';
  if (b['type'] === undefined) return b['const'] !== undefined ? JSON.stringify(b['const']) : 'another form';
  let words = expectedTypes(b['type']);
  if (typeof b['minimum'] === 'number') words += ` >= ${b['minimum']}`;
  if (typeof b['exclusiveMinimum'] === 'number') words += ` > ${b['exclusiveMinimum']}`;
  const items = b['items'] as Record<string, unknown> | undefined;
  if (b['type'] === 'array' && typeof items?.['type'] === 'string') words = `a list of ${items['type']}s`;
  const values = b['additionalProperties'] as Record<string, unknown> | undefined;
  if (b['type'] === 'object' && typeof values?.['type'] === 'string') words = `a mapping of ${values['type']}s`;
  return words;
}

function minItems(path: DocPath, limit: number, at: Diagnostic['location'], found: string): Diagnostic {
  const n = path.length;
  if (n === 4 && path[0] === 'stages' && path[2] === 'matrix') {
    return {
      code: 'empty-axis',
      message: `matrix axis "${String(path[3])}" of stage "${String(path[1])}" has no values`,
      location: at,
      expected: 'a non-empty list of values',
      found,
      remedy: 'list at least one value, or remove the axis',
    };
  }
  const what = limit === 1 ? 'must not be empty' : `must have at least ${limit} items`;
  return { code: 'invalid-value', message: `${subjectOf(path)} ${what}`, location: at, expected: `at least ${limit} item${limit === 1 ? '' : 's'}`, found, remedy: 'add items, or remove the key' };
}

function minProperties(path: DocPath, limit: number, at: Diagnostic['location'], found: string): Diagnostic {
  if (path.length === 1 && path[0] === 'stages') {
    return { code: 'no-stages', message: 'the pipeline defines no stages', location: at, expected: 'at least one stage under "stages:"', found, remedy: 'add a stage, e.g. "hello: { kind: command, with: { run: echo hello } }"' };
  }
  const entry = path[path.length - 2] === 'include' || path[path.length - 2] === 'exclude';
  return {
    code: 'invalid-value',
    message: `${subjectOf(path)} ${entry ? 'must name at least one axis' : `must have at least ${limit} key${limit === 1 ? '' : 's'}`}`,
    location: at,
    expected: entry ? 'axis: value pairs' : `at least ${limit} key${limit === 1 ? '' : 's'}`,
    found,
    remedy: entry ? 'give the axis values of the combination, or remove the entry' : 'add keys, or remove it',
  };
}
