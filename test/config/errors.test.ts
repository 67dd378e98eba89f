import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPipeline } from '../../src/config/load.js';
import { formatDiagnostics } from '../../src/diagnostics/print.js';
import { catalog, root } from './helpers.js';

/**
 * Golden diagnostics: each test/fixtures/errors/<name>.yaml is a malformed pipeline and <name>.txt
 * the exact text a user sees. BASIN_UPDATE_GOLDEN=1 rewrites the .txt files (then read the diff).
 */
const dir = join(root, 'test/fixtures/errors');
const update = process.env['BASIN_UPDATE_GOLDEN'] === '1';
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

test('there are golden error cases', () => {
  assert.ok(cases.length >= 24, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden diagnostics: ${name}`, () => {
    const file = `test/fixtures/errors/${name}.yaml`;
    const source = readFileSync(join(dir, `${name}.yaml`), 'utf8');
    const r = loadPipeline(file, source, catalog, { cwd: root });
    assert.equal(r.ok, false, `${file} loaded without errors`);
    if (r.ok) return;
    const actual = `${formatDiagnostics(r.error, source)}\n`;
    const golden = join(dir, `${name}.txt`);
    if (update) writeFileSync(golden, actual);
    else assert.equal(actual, readFileSync(golden, 'utf8'));
  });
}
