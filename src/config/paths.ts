/**
 * Paths into the pipeline document (`['stages', 'train', 'with', 'sleepMs']`) and the words used to
 * name them in messages. One place, so every diagnostic says "stage "train"" the same way.
 */
export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `stages.train.with.sleepMs`, `matrix.include[0]`; odd keys quoted: `params["a b"]`. */
export function pathText(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** What a value at `path` is called as the subject of a sentence: `"with.sleepMs" of stage "train"`. */
export function subjectOf(path: DocPath): string {
  if (path.length === 0) return 'the pipeline';
  if (path[0] === 'stages' && path.length >= 2) {
    const stage = `stage "${String(path[1])}"`;
    return path.length === 2 ? stage : `"${pathText(path.slice(2))}" of ${stage}`;
  }
  return `"${pathText(path)}"`;
}

/** Where a key at `path` lives: `in stage "train"`, `at the top level`. */
export function containerOf(path: DocPath): string {
  if (path.length === 0) return 'at the top level';
  if (path.length === 1 && path[0] === 'stages') return 'in "stages"';
  return `in ${subjectOf(path)}`;
}

/** The stage a path is inside, if any. */
export function stageOfPath(path: DocPath): string | undefined {
  return path[0] === 'stages' && typeof path[1] === 'string' ? path[1] : undefined;
}

/** A value as shown after `found:`: short, YAML-flavoured words for containers. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 60 ? `${JSON.stringify(value.slice(0, 57))}...` : JSON.stringify(value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
    default:
      return typeof value;
  }
}

/** Several JSON Schema types in words: `a string, a number or a boolean`. */
export function typesWord(types: readonly string[]): string {
  if (types.length === 1) return typeWord(types[0]!);
  return orList(types.map((t) => (t === 'boolean' ? 'a boolean' : typeWord(t))));
}

/** The JSON Schema type name of a value, in the words users read in expected/found lines. */
export function typeWord(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    default:
      return type;
  }
}

/** `a, b or c` */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
