import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { root } from './helpers.js';

/**
 * The schema files as editors see them. basin compiles them without meta-schema checks (that costs
 * start-up time), so this is where they are checked against JSON Schema 2020-12, strictly.
 */
type Schema = Record<string, unknown>;
const read = (rel: string): Schema => JSON.parse(readFileSync(join(root, rel), 'utf8')) as Schema;
const pipelineSchema = read('schemas/pipeline.schema.json');
const stageKinds = readdirSync(join(root, 'schemas/stages'))
  .filter((f) => f.endsWith('.schema.json'))
  .map((f) => f.slice(0, -'.schema.json'.length))
  .sort();
const stageSchemas = stageKinds.map((k) => read(`schemas/stages/${k}.schema.json`));

function editorAjv(): Ajv2020 {
  const warnings: string[] = [];
  const log = (...args: unknown[]): void => void warnings.push(args.map(String).join(' '));
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, logger: { log, warn: log, error: log } });
  for (const s of stageSchemas) ajv.addSchema(s);
  ajv.addSchema(pipelineSchema);
  for (const s of [pipelineSchema, ...stageSchemas]) ajv.getSchema(String(s['$id']));
  assert.deepEqual(warnings, []);
  return ajv;
}

test('schemas are valid JSON Schema 2020-12 and compile strictly without warnings', () => {
  editorAjv();
});

test('schema ids are stable', () => {
  assert.equal(pipelineSchema['$id'], 'https://basin.dev/schemas/pipeline.schema.json');
  stageKinds.forEach((k, i) => assert.equal(stageSchemas[i]!['$id'], `https://basin.dev/schemas/stages/${k}.schema.json`));
});

test('every property has a description (editors show them)', () => {
  const missing: string[] = [];
  const walk = (s: unknown, where: string): void => {
    if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${where}/${i}`));
    if (s === null || typeof s !== 'object') return;
    const o = s as Schema;
    if (o['properties'] && typeof o['properties'] === 'object') {
      for (const [k, p] of Object.entries(o['properties'] as Schema)) {
        const prop = p as Schema;
        if (typeof prop['description'] !== 'string' && typeof prop['$ref'] !== 'string') missing.push(`${where}/properties/${k}`);
      }
    }
    // `if` conditions select a branch; they describe nothing an editor shows.
    for (const [k, v] of Object.entries(o)) if (k !== 'if') walk(v, `${where}/${k}`);
  };
  walk(pipelineSchema, 'pipeline');
  stageKinds.forEach((k, i) => walk(stageSchemas[i], k));
  assert.deepEqual(missing, []);
});

test('the pipeline schema lists exactly the stage kinds under schemas/stages (editors check `with` by kind)', () => {
  const stage = (pipelineSchema['$defs'] as Record<string, Schema>)['stage']!;
  const kind = (stage['properties'] as Record<string, Schema>)['kind']!;
  assert.deepEqual([...(kind['enum'] as string[])].sort(), stageKinds);
  const branches = (stage['allOf'] as Schema[]).map((b) => {
    const name = (((b['if'] as Schema)['properties'] as Schema)['kind'] as Schema)['const'];
    const ref = (((b['then'] as Schema)['properties'] as Schema)['with'] as Schema)['$ref'];
    assert.equal(ref, `stages/${String(name)}.schema.json`);
    return String(name);
  });
  assert.deepEqual(branches.sort(), stageKinds);
});

test('the editor schema accepts interpolations where numbers are expected and rejects real mistakes', () => {
  const ajv = editorAjv();
  const validate = ajv.getSchema(String(pipelineSchema['$id']))!;
  const demo = parse(readFileSync(join(root, 'test/fixtures/pipelines/demo.yaml'), 'utf8')) as unknown;
  assert.equal(validate(demo), true, JSON.stringify(validate.errors));
  const withNumbers = { version: 1, name: 'x', stages: { s: { kind: 'probe', with: { sleepMs: '${params.t}', steps: '${matrix.n}' } } } };
  assert.equal(validate(withNumbers), true, JSON.stringify(validate.errors));
  const typo = { version: 1, name: 'x', stages: { s: { kind: 'probe', with: { sleepMS: 1 } } } };
  assert.equal(validate(typo), false);
  const noRun = { version: 1, name: 'x', stages: { s: { kind: 'command', with: {} } } };
  assert.equal(validate(noRun), false);
  const notInterpolation = { version: 1, name: 'x', stages: { s: { kind: 'probe', with: { sleepMs: 'soon' } } } };
  assert.equal(validate(notInterpolation), false);
});
