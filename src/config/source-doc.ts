import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import { err, ok, type Result } from '../util/result.js';
import { containerOf, subjectOf, type DocPath } from './paths.js';

/**
 * The parsed YAML document with positions: every later pass reports problems through it, by the
 * path of the value they concern, so no pass needs to know about YAML nodes.
 */
export class SourceDoc {
  constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** A source range from offsets [start, end) of the text. */
  range(start: number, end: number): SourceRange {
    const a = this.lines.linePos(start);
    const b = this.lines.linePos(Math.max(start, end - 1));
    return { file: this.file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  }

  /** The value at `path`; when the path does not exist, the deepest value on the way to it. */
  valueRange(path: DocPath): SourceRange {
    const found = this.walk(path);
    return this.nodeRange(found.value) ?? this.start();
  }

  /**
   * The key that introduces the value at `path` (for a list item, the item itself); when the path
   * does not exist, the key of the deepest value on the way (so "missing key" points at its parent).
   */
  keyRange(path: DocPath): SourceRange {
    if (path.length === 0) return this.start();
    const found = this.walk(path);
    return this.nodeRange(found.key ?? found.value) ?? this.start();
  }

  /**
   * The `occurrence`-th appearance of `needle` in the source of the scalar at `path` (to point at one
   * `${...}` inside a string). Falls back to the whole scalar when escapes make the source differ.
   */
  rangeWithin(path: DocPath, needle: string, occurrence: number): SourceRange {
    const found = this.walk(path);
    const r = found.complete ? found.value?.range : undefined;
    if (!r) return this.valueRange(path);
    const raw = this.text.slice(r[0], r[1]);
    let at = -1;
    for (let i = 0; i <= occurrence; i++) {
      at = raw.indexOf(needle, at + 1);
      if (at < 0) return this.valueRange(path);
    }
    return this.range(r[0] + at, r[0] + at + needle.length);
  }

  /** The first character of the document (for problems with the file as a whole). */
  start(): SourceRange {
    const r = this.doc.contents?.range;
    return r ? this.range(r[0], r[0] + 1) : { file: this.file, line: 1, column: 1 };
  }

  private nodeRange(node: Node | undefined): SourceRange | undefined {
    const r = node?.range;
    return r ? this.range(r[0], r[1]) : undefined;
  }

  private walk(path: DocPath): { value: Node | undefined; key: Node | undefined; complete: boolean } {
    let value: Node | undefined = this.doc.contents ?? undefined;
    let key: Node | undefined;
    for (const seg of path) {
      const current = this.deref(value);
      let next: { value: Node | undefined; key: Node | undefined } | undefined;
      if (isMap(current)) {
        const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair) next = { value: (pair.value as Node | null) ?? (pair.key as Node), key: pair.key as Node };
      } else if (isSeq(current) && typeof seg === 'number') {
        const item = current.items[seg] as Node | undefined;
        if (item) next = { value: item, key: undefined };
      }
      if (!next) return { value, key, complete: false };
      ({ value, key } = next);
    }
    return { value, key, complete: true };
  }

  private deref(node: Node | undefined): Node | undefined {
    return isAlias(node) ? (node.resolve(this.doc) ?? undefined) : node;
  }
}

export interface ParsedSource {
  readonly source: SourceDoc;
  /** The document as plain JSON-like data (null for an empty file). */
  readonly value: unknown;
}

/** YAML text to a document with positions. Syntax errors stop here: later passes would only echo them. */
export function parseSource(file: string, text: string): Result<ParsedSource, Diagnostic[]> {
  const lines = new LineCounter();
  // uniqueKeys off: duplicates are reported below with both locations, not as a bare syntax error.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const source = new SourceDoc(file, text, doc, lines);
  const problems: Diagnostic[] = [];
  // Only the first syntax error: after one, the parser's view of the structure is off and the
  // errors that follow are mostly echoes of it (an unclosed bracket reports again at the file's end).
  const first = doc.errors[0];
  if (first) {
    const unclosed = /end with an? ([\]}])/.exec(first.message)?.[1];
    return err([{
      code: 'yaml-syntax',
      // The library's wording for this one names its own API; say what it means for the user.
      message: `invalid YAML: ${first.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document' : first.message}`,
      location: source.range(first.pos[0], first.pos[1]),
      remedy: unclosed
        ? `check that each "${unclosed === ']' ? '[' : '{'}" before this point is closed by "${unclosed}"`
        : YAML_REMEDIES[first.code] ?? 'fix the YAML syntax here (check indentation, colons, quotes and brackets)',
    }]);
  }
  checkNodes(doc.contents ?? undefined, [], source, problems, doc);
  if (problems.length > 0) return err(problems);
  try {
    return ok({ source, value: doc.toJS({ maxAliasCount: 1000 }) as unknown });
  } catch (e) {
    // Unresolvable or runaway aliases surface only when converting.
    const message = e instanceof Error ? e.message : String(e);
    return err([{ code: 'yaml-syntax', message: `invalid YAML: ${message}`, location: source.start(), remedy: 'check the anchors (&name) and aliases (*name)' }]);
  }
}

const YAML_REMEDIES: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation of this line against the lines above it',
  MULTIPLE_DOCS: 'keep one document per file: remove the extra "---"',
  MISSING_CHAR: 'add the missing character',
  BLOCK_AS_IMPLICIT_KEY: 'put the nested value on its own indented lines, or quote the text',
  MULTILINE_IMPLICIT_KEY: 'check the indentation: a key must fit on one line',
};

/** Duplicate keys, non-scalar keys and values JSON cannot hold, found by walking the node tree. */
function checkNodes(node: Node | undefined, path: DocPath, source: SourceDoc, out: Diagnostic[], doc: Document.Parsed): void {
  if (isAlias(node)) {
    const r = node.range;
    if (!node.resolve(doc) && r) {
      out.push({
        code: 'yaml-alias',
        message: `alias "*${node.source}" refers to no anchor`,
        location: source.range(r[0], r[1]),
        expected: `an anchor "&${node.source}" earlier in the file`,
        found: `*${node.source}`,
        remedy: `define "&${node.source}" on a value before this point, or write the value here`,
      });
    }
  } else if (isMap(node)) {
    const firstByKey = new Map<string, Node>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode) || (keyNode.value !== null && typeof keyNode.value === 'object')) {
        const r = keyNode?.range;
        out.push({
          code: 'yaml-key',
          message: `keys must be plain names ${containerOf(path)}`,
          ...(r ? { location: source.range(r[0], r[1]) } : {}),
          remedy: 'write the key as plain text',
        });
        continue;
      }
      const key = String(keyNode.value);
      const first = firstByKey.get(key);
      const r = keyNode.range;
      if (first?.range && r) {
        const isStage = path.length === 1 && path[0] === 'stages';
        out.push({
          code: 'duplicate-key',
          message: isStage ? `duplicate stage "${key}"` : `duplicate key "${key}" ${containerOf(path)}`,
          location: source.range(r[0], r[1]),
          expected: 'each key once per mapping',
          found: `"${key}" a second time`,
          remedy: isStage ? 'rename one of the stages or remove it' : 'remove one of them (YAML would silently keep the last)',
          related: [{ message: 'first defined here', location: source.range(first.range[0], first.range[1]) }],
        });
      } else firstByKey.set(key, keyNode);
      checkNodes((pair.value as Node | null) ?? undefined, [...path, key], source, out, doc);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => checkNodes(item as Node, [...path, i], source, out, doc));
  } else if (isScalar(node)) {
    const v = node.value;
    const r = node.range;
    const bad = typeof v === 'number' ? !Number.isFinite(v) : !(v === null || typeof v === 'string' || typeof v === 'boolean');
    if (bad && r) {
      out.push({
        code: 'unsupported-value',
        message: `unsupported value for ${subjectOf(path)}`,
        location: source.range(r[0], r[1]),
        expected: 'a string, a finite number, true, false or null',
        found: String(node.source ?? v),
        remedy: 'quote it to make it a string, or write a finite number',
      });
    }
  }
}
