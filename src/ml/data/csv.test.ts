import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../config/package-root.js';
import { parseCsv, splitFields, type CsvOptions } from './csv.js';
import { DataError } from './error.js';

const opts = (o: Partial<CsvOptions>): CsvOptions => ({ label: 'y', header: true, delimiter: ',', ...o });

test('the tiny iris table: string labels become sorted class numbers, quoted fields are unquoted', () => {
  const text = readFileSync(join(packageRoot(), 'test/fixtures/data/tiny.csv'), 'utf8');
  const pool = parseCsv(text, 'tiny.csv', opts({ label: 'species, name' }));
  assert.equal(pool.n, 9);
  assert.deepEqual(pool.inputShape, [2]);
  assert.deepEqual(pool.classNames, ['setosa', 'versicolor', 'virginica']);
  assert.equal(pool.classes, 3);
  assert.deepEqual([...pool.labels], [0, 0, 1, 1, 2, 2, 0, 1, 2]);
  assert.deepEqual([...pool.x.slice(0, 4)], [5.1, 3.5, 4.9, 3.0].map(Math.fround));
});

test('integer labels are the classes; columns by index or name, in the order given; CRLF and blank lines', () => {
  const text = 'a,b,y,c\r\n1,2,0,3\r\n\r\n4,5,2,6\r\n';
  const pool = parseCsv(text, 't.csv', opts({ features: ['c', 0] }));
  assert.deepEqual([...pool.x], [3, 1, 6, 4]);
  assert.deepEqual([...pool.labels], [0, 2]);
  assert.equal(pool.classes, 3);
  assert.equal(pool.classNames, undefined);
  const noHeader = parseCsv('1;2;1\n3;4;0\n', 'n.csv', opts({ label: 2, header: false, delimiter: ';' }));
  assert.deepEqual([...noHeader.x], [1, 2, 3, 4]);
  assert.deepEqual([...noHeader.labels], [1, 0]);
});

test('fields: quotes, doubled quotes, delimiters inside quotes, empty trailing field', () => {
  assert.deepEqual(splitFields('a,"b, c","say ""hi""",', ',', 'w'), ['a', 'b, c', 'say "hi"', '']);
  assert.deepEqual(splitFields(' 1 , "2" ,3', ',', 'w'), [' 1 ', '2', '3']);
  assert.throws(() => splitFields('a,"b', ',', 'f.csv:4'), /f.csv:4: a quoted field is not closed/);
  assert.throws(() => splitFields('"a"b,c', ',', 'f.csv:2'), /f.csv:2: unexpected text after a closing quote/);
});

test('errors name file:line and the column, and say what to do', () => {
  const cases: [string, Partial<CsvOptions>, RegExp][] = [
    ['x,y\n1,0\nabc,1\n', {}, /^t.csv:3: column "x" must be a number, found "abc"$/],
    ['x,y\n1,0\n,1\n', {}, /^t.csv:3: column "x" must be a number, found an empty field$/],
    ['x,y\n1,0\n2,1,3\n', {}, /^t.csv:3: 3 fields, but the header \(line 1\) has 2: check the delimiter/],
    ['x,y\n1,\n', {}, /^t.csv:2: the label column "y" is empty$/],
    ['x,y\n', {}, /"t.csv" has no data rows/],
    ['x,y\n1,0\n', { label: 'z' }, /no label column "z"; the header has "x", "y"/],
    ['1,0\n2,1\n', { header: false }, /label column "y" is a name, but header is false: give a 0-based index/],
    ['1,0\n2,1\n', { header: false, label: 5 }, /label column index 5 is out of range: the file has 2 columns \(0 to 1\)/],
    ['x,y\n1,0\n2,1\n', { features: ['x', 'y'] }, /the label column "y" is also listed in features/],
    ['x,y\n1,0\n2,0\n', {}, /the label column has 1 class; a classification set needs at least 2/],
    ['x,y\n1e400,0\n', {}, /column "x" must be a number, found "1e400"/],
  ];
  for (const [text, o, message] of cases) {
    assert.throws(() => parseCsv(text, 't.csv', opts(o)), (e: unknown) => e instanceof DataError && message.test(e.message), `${JSON.stringify(text)} -> ${message}`);
  }
});
