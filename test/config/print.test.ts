import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDiagnostic } from '../../src/diagnostics/print.js';
import { sortDiagnostics } from '../../src/diagnostics/sort.js';
import { closest, editDistance } from '../../src/diagnostics/suggest.js';

const at = (line: number, column: number, endColumn?: number) => ({ file: 'p.yaml', line, column, ...(endColumn ? { endLine: line, endColumn } : {}) });

test('a diagnostic prints its location, source line, marker and details', () => {
  const source = 'version: 1\n\tname: x # tab\n';
  const text = formatDiagnostic(
    { code: 'c', message: 'bad name', location: at(2, 3, 6), expected: 'e', found: 'f', remedy: 'r', related: [{ message: 'see', location: at(1, 1) }] },
    source,
  );
  assert.equal(
    text,
    ['p.yaml:2:3: error: bad name', '   2 | \tname: x # tab', '     | \t ^^^^', '  expected: e', '  found: f', '  remedy: r', '  note: p.yaml:1:1: see', '   1 | version: 1', '     | ^'].join('\n'),
  );
});

test('without source or location only the text lines are printed', () => {
  assert.equal(formatDiagnostic({ code: 'c', message: 'm', location: at(3, 1) }), 'p.yaml:3:1: error: m');
  assert.equal(formatDiagnostic({ code: 'c', message: 'm', remedy: 'r' }, 'x'), 'error: m\n  remedy: r');
});

test('a range over several lines is marked to the end of its first line', () => {
  const text = formatDiagnostic({ code: 'c', message: 'm', location: { file: 'p.yaml', line: 1, column: 3, endLine: 2, endColumn: 2 } }, 'a: bcd  \nx\n');
  assert.equal(text.split('\n')[2], '     |   ^^^^');
});

test('diagnostics sort by position and repeats are dropped', () => {
  const d = (line: number, message: string) => ({ code: 'c', message, location: at(line, 1) });
  assert.deepEqual(sortDiagnostics([d(3, 'b'), d(1, 'a'), d(3, 'b'), { code: 'c', message: 'file' }]).map((x) => x.message), ['file', 'a', 'b']);
});

test('did you mean: typos, swaps and case, nothing for far-off words', () => {
  assert.equal(editDistance('trian', 'train'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(closest('matirx', ['kind', 'with', 'matrix']), 'matrix');
  assert.equal(closest('sleepMS', ['sleepMs', 'steps']), 'sleepMs');
  assert.equal(closest('banana', ['kind', 'with']), undefined);
  assert.equal(closest('kind', ['kind']), undefined);
});
