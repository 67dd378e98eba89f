import type { Diagnostic, SourceRange } from '../diagnostics/diagnostic.js';
import { closest } from '../diagnostics/suggest.js';
import { isPlainObject } from '../util/json.js';
import type { MatrixValue } from './types.js';
import type { DocPath } from './paths.js';
import type { SourceDoc } from './source-doc.js';

/** One combination of axis values, with where it comes from (the matrix, or an include entry). */
export interface Combination {
  /** Values in axis order. */
  readonly values: readonly MatrixValue[];
  readonly location: SourceRange;
}

export interface MatrixPlan {
  readonly axes: readonly string[];
  readonly combinations: readonly Combination[];
}

type Coordinates = Readonly<Record<string, MatrixValue>>;

const isMatrixValue = (v: unknown): v is MatrixValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const isCoordinates = (v: unknown): v is Coordinates => isPlainObject(v) && Object.values(v).every(isMatrixValue);

/** How a value appears in a node id: raw when it reads unambiguously, else JSON-quoted. */
export function formatMatrixValue(v: MatrixValue): string {
  return typeof v === 'string' && !/^[A-Za-z0-9_.+-]+$/.test(v) ? JSON.stringify(v) : String(v);
}

/** `train[seed=1,attack=2000]`, or the bare stage name for a stage without fan-out. */
export function formatNodeId(stage: string, axes: readonly string[], values: readonly MatrixValue[]): string {
  if (axes.length === 0) return stage;
  return `${stage}[${axes.map((a, i) => `${a}=${formatMatrixValue(values[i]!)}`).join(',')}]`;
}

const showEntry = (entry: Coordinates): string =>
  `{ ${Object.entries(entry).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} }`;

/**
 * The combinations of a stage's matrix: the cartesian product of the axes (first axis slowest) minus
 * `exclude` matches, then `include` entries in order. Returns undefined when the matrix is malformed
 * (the schema reported it) or has no axes; reports include/exclude and duplicate problems and carries on.
 */
export function planMatrix(raw: unknown, stagePath: DocPath, source: SourceDoc, report: (d: Diagnostic) => void): MatrixPlan | undefined {
  if (!isPlainObject(raw)) return undefined;
  const matrixPath = [...stagePath, 'matrix'];
  const stage = `stage "${String(stagePath[1])}"`;
  const { include = [], exclude = [], ...axisLists } = raw;
  const axes = Object.keys(axisLists);
  const lists = Object.values(axisLists);
  if (!lists.every((l) => Array.isArray(l) && l.length > 0 && l.every(isMatrixValue))) return undefined;
  if (!Array.isArray(include) || !include.every(isCoordinates) || !Array.isArray(exclude) || !exclude.every(isCoordinates)) return undefined;
  if (axes.length === 0) {
    report({
      code: 'matrix-no-axes',
      message: `the matrix of ${stage} has no axes`,
      location: source.keyRange(matrixPath),
      expected: 'at least one axis, e.g. "seed: [0, 1, 2]"',
      found: include.length ? 'only include/exclude entries' : 'an empty mapping',
      remedy: 'add an axis, or remove the matrix',
    });
    return undefined;
  }
  const values = lists as MatrixValue[][];
  const where = `axes ${axes.map((a, i) => `${a} (${values[i]!.map((v) => JSON.stringify(v)).join(', ')})`).join(', ')}`;

  // A repeated value would make two nodes with one id; say so at the value, not at a node.
  const seen = axes.map(() => new Map<string, number>());
  axes.forEach((axis, a) => {
    values[a]!.forEach((v, i) => {
      const shown = formatMatrixValue(v);
      const first = seen[a]!.get(shown);
      if (first === undefined) return void seen[a]!.set(shown, i);
      report({
        code: 'duplicate-node',
        message: `matrix axis "${axis}" of ${stage} lists ${shown} twice`,
        location: source.valueRange([...matrixPath, axis, i]),
        expected: 'each value once',
        found: `${JSON.stringify(v)} again (node ids would repeat)`,
        remedy: 'remove the repeated value',
        related: [{ message: 'first listed here', location: source.valueRange([...matrixPath, axis, first]) }],
      });
    });
  });

  const checkAxes = (entry: Coordinates, path: DocPath, what: string): boolean => {
    let good = true;
    for (const key of Object.keys(entry)) {
      if (axes.includes(key)) continue;
      good = false;
      const suggestion = closest(key, axes);
      report({
        code: 'matrix-unknown-axis',
        message: `${what} of ${stage} names unknown axis "${key}"`,
        location: source.keyRange([...path, key]),
        expected: `axes of the matrix: ${axes.join(', ')}`,
        found: key,
        remedy: suggestion ? `did you mean "${suggestion}"?` : 'use the axes of the matrix',
      });
    }
    return good;
  };

  const excludes = (exclude as Coordinates[]).map((entry, i) => {
    const path = [...matrixPath, 'exclude', i];
    return { entry, path, usable: checkAxes(entry, path, 'exclude entry'), matched: false };
  });
  const stageLocation = source.keyRange(stagePath);
  const combinations: Combination[] = [];
  const firstById = new Map<string, SourceRange>();
  const counts = values.map((l) => l.length);
  const total = counts.reduce((a, b) => a * b, 1);
  const index = new Array<number>(axes.length).fill(0);
  for (let n = 0; n < total; n++) {
    const combo = index.map((i, a) => values[a]![i]!);
    let excluded = false;
    for (const x of excludes) {
      if (x.usable && axes.every((axis, a) => !(axis in x.entry) || x.entry[axis] === combo[a])) {
        x.matched = true;
        excluded = true;
      }
    }
    if (!excluded) {
      combinations.push({ values: combo, location: stageLocation });
      if (include.length > 0) firstById.set(combo.map(formatMatrixValue).join('\0'), stageLocation);
    }
    // Odometer: the last axis turns fastest, so the first axis varies slowest.
    for (let a = axes.length - 1; a >= 0; a--) {
      if (++index[a]! < counts[a]!) break;
      index[a] = 0;
    }
  }
  for (const x of excludes) {
    if (!x.usable || x.matched) continue;
    report({
      code: 'exclude-matches-nothing',
      message: `exclude entry of ${stage} matches no combination`,
      location: source.valueRange(x.path),
      expected: `values from the ${where}`,
      found: showEntry(x.entry),
      remedy: 'fix the values (types matter: 1 is not "1"), or remove the entry',
    });
  }

  (include as Coordinates[]).forEach((entry, i) => {
    const path = [...matrixPath, 'include', i];
    if (!checkAxes(entry, path, 'include entry')) return;
    const missing = axes.filter((a) => !(a in entry));
    if (missing.length > 0) {
      report({
        code: 'include-missing-axis',
        message: `include entry of ${stage} is missing axis ${missing.map((m) => `"${m}"`).join(', ')}`,
        location: source.valueRange(path),
        expected: `a value for every axis: ${axes.join(', ')}`,
        found: showEntry(entry),
        remedy: `add ${missing.map((m) => `"${m}: <value>"`).join(', ')}`,
      });
      return;
    }
    const combo = axes.map((a) => entry[a]!);
    const location = source.valueRange(path);
    const key = combo.map(formatMatrixValue).join('\0');
    const first = firstById.get(key);
    if (first) {
      report({
        code: 'duplicate-node',
        message: `include entry of ${stage} repeats node "${formatNodeId(String(stagePath[1]), axes, combo)}"`,
        location,
        expected: 'a combination the matrix does not already produce',
        found: showEntry(entry),
        remedy: 'remove the entry (node ids must be unique)',
        related: [{ message: first === stageLocation ? 'the matrix already produces it' : 'first included here', location: first }],
      });
      return;
    }
    firstById.set(key, location);
    combinations.push({ values: combo, location });
  });
  return { axes, combinations };
}
