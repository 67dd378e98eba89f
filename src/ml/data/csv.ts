import { DataError } from './error.js';
import type { ClassificationPool } from './pool.js';

export interface CsvOptions {
  /** The label column: a header name, or a 0-based column index. */
  readonly label: string | number;
  /** Whether the first non-empty line names the columns. */
  readonly header: boolean;
  /** Feature columns (names or 0-based indices), in this order; default every column but the label. */
  readonly features?: readonly (string | number)[];
  readonly delimiter: string;
}

/**
 * A classification table: numeric feature columns and one label column. Labels that are all
 * non-negative integers are the classes themselves; otherwise the distinct label texts, sorted,
 * are classes 0, 1, ... (`classNames`). Fields may be quoted ("a, b", "" for a quote) but may not
 * span lines. Empty lines are skipped. Every error names file:line and the column.
 */
export function parseCsv(text: string, shown: string, o: CsvOptions): ClassificationPool {
  const rows: { line: number; fields: string[] }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    rows.push({ line: i + 1, fields: splitFields(line, o.delimiter, `${shown}:${i + 1}`) });
  });
  const head = o.header ? rows.shift() : undefined;
  if (rows.length === 0) throw new DataError(`"${shown}" has no data rows`);
  const width = head?.fields.length ?? rows[0]!.fields.length;
  const names = head?.fields.map((f) => f.trim());
  const column = (c: string | number, role: string): number => resolveColumn(c, role, names, width, shown);
  const labelCol = column(o.label, 'label');
  const featureCols = o.features ? o.features.map((f) => column(f, 'feature')) : [...Array(width).keys()].filter((c) => c !== labelCol);
  if (featureCols.includes(labelCol)) throw new DataError(`"${shown}": the label column ${show(labelCol, names)} is also listed in features: remove it from features`);
  if (featureCols.length === 0) throw new DataError(`"${shown}" has no feature columns besides the label: add columns, or list them in features`);

  const d = featureCols.length;
  const x = new Float32Array(rows.length * d);
  const labelTexts: string[] = [];
  rows.forEach(({ line, fields }, r) => {
    const where = `${shown}:${line}`;
    if (fields.length !== width) {
      const from = head ? `the header (line ${head.line})` : `the first row (line ${rows[0]!.line})`;
      throw new DataError(`${where}: ${fields.length} fields, but ${from} has ${width}: check the delimiter and quoting on this line`);
    }
    featureCols.forEach((c, j) => {
      const cell = fields[c]!.trim();
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) {
        const found = cell === '' ? 'an empty field' : `"${cell}"`;
        throw new DataError(`${where}: column ${show(c, names)} must be a number, found ${found}`);
      }
      x[r * d + j] = v;
    });
    const label = fields[labelCol]!.trim();
    if (label === '') throw new DataError(`${where}: the label column ${show(labelCol, names)} is empty`);
    labelTexts.push(label);
  });

  const { labels, classes, classNames } = encodeLabels(labelTexts);
  if (classes < 2) throw new DataError(`"${shown}": the label column has ${classes} class; a classification set needs at least 2`);
  const shape = [d];
  return { task: 'classification', n: rows.length, inputShape: shape, x, labels, classes, ...(classNames ? { classNames } : {}) };
}

function encodeLabels(texts: readonly string[]): { labels: Int32Array; classes: number; classNames?: string[] } {
  if (texts.every((t) => /^\d{1,5}$/.test(t))) {
    const labels = Int32Array.from(texts, Number);
    return { labels, classes: labels.reduce((m, v) => Math.max(m, v + 1), 0) };
  }
  const classNames = [...new Set(texts)].sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { labels: Int32Array.from(texts, (t) => index.get(t)!), classes: classNames.length, classNames };
}

function resolveColumn(c: string | number, role: string, names: readonly string[] | undefined, width: number, shown: string): number {
  if (typeof c === 'number') {
    if (!Number.isInteger(c) || c < 0 || c >= width) throw new DataError(`"${shown}": ${role} column index ${c} is out of range: the file has ${width} columns (0 to ${width - 1})`);
    return c;
  }
  if (!names) throw new DataError(`"${shown}": ${role} column "${c}" is a name, but header is false: give a 0-based index, or set header: true`);
  const i = names.indexOf(c);
  if (i < 0) throw new DataError(`"${shown}": no ${role} column "${c}"; the header has ${names.map((n) => `"${n}"`).join(', ')}`);
  return i;
}

const show = (c: number, names: readonly string[] | undefined): string => (names ? `"${names[c]}"` : String(c));

/** One line's fields: `a,"b, c",d` -> [a, b, c, d]; a quote doubled inside quotes is a quote. */
export function splitFields(line: string, delimiter: string, where: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    let start = i;
    while (line[start] === ' ') start++;
    if (line[start] === '"') {
      i = start + 1;
      for (;;) {
        if (i >= line.length) throw new DataError(`${where}: a quoted field is not closed (quoted fields may not span lines)`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (line[i] === ' ') i++;
      if (i < line.length && !line.startsWith(delimiter, i)) throw new DataError(`${where}: unexpected text after a closing quote`);
    } else {
      const end = line.indexOf(delimiter, i);
      field = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i += delimiter.length;
  }
}
