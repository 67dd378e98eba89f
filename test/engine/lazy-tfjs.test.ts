import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { CLI, collect, Workspace } from './rig.js';

/** Loading TF.js costs about half a second: planning and fully cached runs must never pay it. */
const TRACE = fileURLToPath(new URL('../../../test/fixtures/trace-imports.mjs', import.meta.url));

const ws = new Workspace().write(
  'basin.yaml',
  `
version: 1
name: lazy
settings: { backend: cpu }
stages:
  data: { kind: dataset, with: { source: gaussian-mixture, train: 40, attack: 0, test: 20 } }
  train: { kind: train, inputs: { data: data }, with: { model: { hidden: [4] }, maxEpochs: 2 } }
`,
);
after(() => ws.dispose());

async function traced(...args: string[]): Promise<{ code: number | null; tensorflow: string[] }> {
  const log = join(ws.dir, 'imports.log');
  rmSync(log, { force: true });
  const child = spawn(process.execPath, ['--import', TRACE, CLI, ...args, '--cache', ws.cache], {
    cwd: ws.dir,
    env: { ...process.env, BASIN_TRACE_IMPORTS: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const r = await collect(child);
  assert.equal(r.code, 0, r.stderr);
  return { code: r.code, tensorflow: existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [] };
}

test('a run that trains loads TF.js (the trace works)', async () => {
  const first = await traced('run', 'basin.yaml');
  assert.ok(first.tensorflow.length > 0, 'no TensorFlow import was traced: the trace hook is broken');
});

test('plan, status and a fully cached run never load TF.js', async () => {
  for (const args of [['plan', 'basin.yaml'], ['status', 'basin.yaml'], ['run', 'basin.yaml']]) {
    const r = await traced(...args);
    assert.deepEqual(r.tensorflow, [], `${args[0]} loaded ${r.tensorflow.join(', ')}`);
  }
});
