import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { collect, RunOutcome, Workspace } from './rig.js';

/** Resolves once `count` events of `type` have appeared on the child's JSON stdout. */
function waitForEvents(child: ChildProcess, type: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    let buffer = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const e = JSON.parse(line) as { type: string; node?: string };
        if (e.type === type && e.node) seen.push(e.node);
        if (seen.length === count) resolve([...seen]);
      }
    });
    child.on('close', () => reject(new Error(`exited after ${seen.length} ${type} events`)));
  });
}

const sleepy = (n: number, ms: number) => `
version: 1
name: sleepy
stages:
  work:
    kind: probe
    matrix: { i: [${Array.from({ length: n }, (_, i) => i).join(', ')}] }
    with: { value: "\${matrix.i}", sleepMs: ${ms}, arrayLength: 1000, seed: "\${matrix.i}" }
  total: { kind: probe, inputs: { parts: work } }
`;

test('kill -9 in the middle of a run loses no finished node and corrupts nothing', async () => {
  const ws = new Workspace();
  after(() => ws.dispose());
  ws.write('basin.yaml', sleepy(12, 150));
  const child = ws.start(['run', 'basin.yaml', '--json', '--jobs', '2']);
  const done = await waitForEvents(child, 'node-done', 3);
  child.kill('SIGKILL');
  await collect(child);

  const r = await ws.run();
  assert.equal(r.code, 0, r.result.stderr);
  for (const node of done) assert.ok(r.cached.includes(node), `${node} finished before the kill but was not reused`);
  assert.equal(r.end.ran + r.end.cached, 13);
  const again = await ws.run();
  assert.equal(again.end.cached, 13);
});

test('two runs on one cache both finish and never compute the same node twice', async () => {
  const ws = new Workspace();
  after(() => ws.dispose());
  ws.write('basin.yaml', sleepy(8, 200));
  const [a, b] = await Promise.all([
    collect(ws.start(['run', 'basin.yaml', '--json', '--jobs', '2'])),
    collect(ws.start(['run', 'basin.yaml', '--json', '--jobs', '2'])),
  ]);
  const ra = new RunOutcome(a);
  const rb = new RunOutcome(b);
  assert.equal(ra.code, 0, a.stderr);
  assert.equal(rb.code, 0, b.stderr);
  const computed = [...ra.ran, ...rb.ran].sort();
  assert.equal(computed.length, 9, `computed: ${computed.join(' ')}`);
  assert.equal(new Set(computed).size, 9);
  assert.equal(ra.end.ran + ra.end.cached, 9);
  assert.equal(rb.end.ran + rb.end.cached, 9);
});

test('Ctrl-C stops running stages, keeps finished work, and exits 130', async () => {
  const ws = new Workspace();
  after(() => ws.dispose());
  ws.write(
    'basin.yaml',
    `
version: 1
name: interrupt
stages:
  quick: { kind: probe, with: { value: 1 } }
  slow: { kind: probe, inputs: { q: quick }, with: { sleepMs: 60000, steps: 600 } }
  after: { kind: probe, inputs: { s: slow } }
`,
  );
  const child = ws.start(['run', 'basin.yaml', '--json']);
  await waitForEvents(child, 'node-start', 2);
  child.kill('SIGINT');
  const result = await collect(child);
  assert.equal(result.code, 130);
  const r = await ws.run('basin.yaml', '--only', 'quick');
  assert.deepEqual(r.cached, ['quick']);
});
