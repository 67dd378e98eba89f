import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from './format.js';

test('durations round once, at the unit shown: never 60s or 1000ms', () => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [999.4, '999ms'],
    [999.6, '1.00s'],
    [9994, '9.99s'],
    [9996, '10.0s'],
    [59940, '59.9s'],
    [59960, '1m00s'],
    [239_600, '4m00s'],
    [3_599_400, '59m59s'],
    [3_599_600, '1h00m'],
    [5_430_000, '1h31m'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
});
