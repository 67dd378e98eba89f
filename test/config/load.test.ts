import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPipeline } from '../../src/config/load.js';
import type { Pipeline } from '../../src/config/types.js';
import { catalog, load, loadErrors, pipeline, root } from './helpers.js';

const ids = (p: Pipeline, stage?: string): string[] => p.nodes.filter((n) => stage === undefined || n.stage === stage).map((n) => n.id);
const node = (p: Pipeline, id: string) => {
  const n = p.nodes.find((x) => x.id === id);
  assert.ok(n, `no node ${id}`);
  return n;
};

/** Every node's inputs come before it in Pipeline.nodes. */
function assertTopological(p: Pipeline): void {
  const seen = new Set<string>();
  for (const n of p.nodes) {
    for (const input of Object.values(n.inputs)) for (const up of input.nodes) assert.ok(seen.has(up), `${n.id} before its input ${up}`);
    seen.add(n.id);
  }
}

test('the demo pipeline expands into nodes in topological order', () => {
  const file = 'test/fixtures/pipelines/demo.yaml';
  const r = loadPipeline(file, readFileSync(join(root, file), 'utf8'), catalog, { cwd: root });
  assert.ok(r.ok);
  const p = r.value;
  assert.equal(p.name, 'demo');
  assert.equal(p.file, file);
  assert.equal(p.absFile, join(root, file));
  assert.equal(p.workdir, join(root, 'test/fixtures/pipelines'));
  assert.deepEqual(p.settings, { jobs: 2, keepGoing: false });
  assert.deepEqual(p.params, { epochs: 200, model: { width: 100 } });
  assert.deepEqual(p.stages.map((s) => [s.name, s.kind, s.axes, s.nodes.length]), [
    ['data', 'command', [], 1],
    ['train', 'probe', ['seed', 'attack'], 6],
    ['hessian', 'probe', ['seed', 'attack'], 6],
    ['summary', 'probe', [], 1],
  ]);
  assert.equal(p.stages[2]!.foreach, 'train');
  assert.deepEqual(ids(p, 'train'), [
    'train[seed=0,attack=0]',
    'train[seed=0,attack=2000]',
    'train[seed=1,attack=0]',
    'train[seed=1,attack=2000]',
    'train[seed=2,attack=0]',
    'train[seed=2,attack=2000]',
  ]);
  assert.equal(p.nodes.length, 14);
  assertTopological(p);
});

test('stages written before their inputs still come after them, otherwise file order holds', () => {
  const p = load(pipeline(`stages:
  report: { kind: probe, inputs: { a: late } }
  early: { kind: probe }
  late: { kind: probe, inputs: { e: early } }
  alone: { kind: probe }
`));
  assert.deepEqual(ids(p), ['early', 'late', 'report', 'alone']);
  assert.deepEqual(p.stages.map((s) => s.name), ['report', 'early', 'late', 'alone'], 'stages keep file order');
});

test('node ids print strings raw when unambiguous and JSON-quoted otherwise', () => {
  const p = load(pipeline(`stages:
  s:
    kind: probe
    matrix: { v: [1.5, -2, true, abc, "a b", "x=y", "", v1.2+build] }
`));
  assert.deepEqual(ids(p), ['s[v=1.5]', 's[v=-2]', 's[v=true]', 's[v=abc]', 's[v="a b"]', 's[v="x=y"]', 's[v=""]', 's[v=v1.2+build]']);
});

test('exclude removes every partial match; include appends combinations in order', () => {
  const p = load(pipeline(`stages:
  train:
    kind: probe
    matrix:
      seed: [0, 1, 2]
      attack: [0, 2000]
      exclude: [ { attack: 2000, seed: 2 }, { seed: 0 } ]
      include: [ { seed: 9, attack: 0 }, { attack: 5, seed: 9 } ]
`));
  assert.deepEqual(ids(p), [
    'train[seed=1,attack=0]',
    'train[seed=1,attack=2000]',
    'train[seed=2,attack=0]',
    'train[seed=9,attack=0]',
    'train[seed=9,attack=5]',
  ]);
  assert.deepEqual(node(p, 'train[seed=9,attack=5]').matrix, { seed: 9, attack: 5 });
});

test('an include may bring back a combination that exclude removed', () => {
  const p = load(pipeline(`stages:
  s: { kind: probe, matrix: { a: [1, 2], exclude: [ { a: 2 } ], include: [ { a: 2 } ] } }
`));
  assert.deepEqual(ids(p), ['s[a=1]', 's[a=2]']);
});

test('foreach makes one node per upstream node with its coordinates', () => {
  const p = load(pipeline(`stages:
  train: { kind: probe, matrix: { seed: [0, 1], lr: [0.1] } }
  hessian:
    kind: probe
    foreach: train
    inputs: { model: train }
    with: { seed: "\${matrix.seed}", label: "h-\${matrix.lr}" }
  again: { kind: probe, foreach: hessian, inputs: { h: hessian } }
`));
  assert.deepEqual(ids(p, 'hessian'), ['hessian[seed=0,lr=0.1]', 'hessian[seed=1,lr=0.1]']);
  assert.deepEqual(ids(p, 'again'), ['again[seed=0,lr=0.1]', 'again[seed=1,lr=0.1]']);
  const h = node(p, 'hessian[seed=1,lr=0.1]');
  assert.deepEqual(h.matrix, { seed: 1, lr: 0.1 });
  assert.equal((h.params as { seed: number }).seed, 1);
  assert.equal((h.params as { label: string }).label, 'h-0.1');
  assert.deepEqual(h.inputs['model'], { stage: 'train', nodes: ['train[seed=1,lr=0.1]'], gather: false });
  assert.deepEqual(node(p, 'again[seed=0,lr=0.1]').inputs['h']!.nodes, ['hessian[seed=0,lr=0.1]']);
  assert.equal(p.stages.find((s) => s.name === 'hessian')!.foreach, 'train');
});

test('binding: single upstream node, matching coordinates, or gather all', () => {
  const p = load(pipeline(`stages:
  data: { kind: probe }
  prep: { kind: probe, matrix: { seed: [0, 1] } }
  train:
    kind: probe
    matrix: { seed: [1, 0], lr: [0.1, 0.2] }
    inputs: { data: data, prep: prep }
  summary: { kind: probe, inputs: { models: train, data: data } }
  bylr: { kind: probe, matrix: { lr: [0.1] }, inputs: { models: train } }
`));
  const t = node(p, 'train[seed=1,lr=0.2]');
  assert.deepEqual(t.inputs['data'], { stage: 'data', nodes: ['data'], gather: false });
  assert.deepEqual(t.inputs['prep'], { stage: 'prep', nodes: ['prep[seed=1]'], gather: false });
  const s = node(p, 'summary');
  assert.deepEqual(s.inputs['models'], {
    stage: 'train',
    nodes: ['train[seed=1,lr=0.1]', 'train[seed=1,lr=0.2]', 'train[seed=0,lr=0.1]', 'train[seed=0,lr=0.2]'],
    gather: true,
  });
  // bylr has axis lr but train also has seed, which bylr lacks: gather, not match.
  assert.equal(node(p, 'bylr[lr=0.1]').inputs['models']!.gather, true);
  assertTopological(p);
});

test('binding: a node whose coordinates the upstream lacks is an error naming them', () => {
  const ds = loadErrors(pipeline(`stages:
  prep: { kind: probe, matrix: { seed: [0, 1] } }
  train: { kind: probe, matrix: { seed: [0, 7] }, inputs: { p: prep } }
`));
  assert.deepEqual(ds.map((d) => d.code), ['missing-coordinate']);
  assert.match(ds[0]!.found!, /seed=7/);
  assert.equal(ds[0]!.location!.line, 5);
});

test('binding: matching coordinates compare types (1 is not "1")', () => {
  const ds = loadErrors(pipeline(`stages:
  prep: { kind: probe, matrix: { seed: ["1"] } }
  train: { kind: probe, matrix: { seed: [1] }, inputs: { p: prep } }
`));
  assert.deepEqual(ds.map((d) => d.code), ['missing-coordinate']);
});

test('interpolation: a whole reference keeps its type, partial references make strings', () => {
  const p = load(`version: 1
name: interp
params: { epochs: 200, model: { width: 100, tags: [a, b] }, flag: true, none: null, ratio: 0.5 }
stages:
  s:
    kind: probe
    matrix: { seed: [3] }
    with:
      value:
        epochs: "\${params.epochs}"
        model: "\${params.model}"
        tag: "\${params.model.tags.1}"
        flag: "\${params.flag}"
        none: "\${params.none}"
        seed: "\${matrix.seed}"
        text: "e\${params.epochs}-r\${params.ratio}-\${params.flag}-\${params.none}"
        who: "\${name}/\${stage}/\${matrix.seed}"
        spaced: "\${ params.epochs }"
        list: ["\${matrix.seed}", "x\${matrix.seed}", 1]
        plain: "no references"
`);
  assert.deepEqual(p.nodes[0]!.params, {
    value: {
      epochs: 200,
      model: { width: 100, tags: ['a', 'b'] },
      tag: 'b',
      flag: true,
      none: null,
      seed: 3,
      text: 'e200-r0.5-true-null',
      who: 'interp/s/3',
      spaced: 200,
      list: [3, 'x3', 1],
      plain: 'no references',
    },
    sleepMs: 0,
    busyMs: 0,
    arrayLength: 0,
    steps: 1,
  });
});

test('interpolation: $${ is a literal ${ and is never resolved', () => {
  const yaml = [
    'version: 1',
    'name: t',
    'stages:',
    '  s:',
    '    kind: probe',
    '    with: { label: "cost $${HOME} and $${params.x} and $$ alone", value: "$${name}" }',
    '',
  ].join('\n');
  const params = load(yaml).nodes[0]!.params as { label: string; value: string };
  assert.equal(params.label, 'cost ${HOME} and ${params.x} and $$ alone');
  assert.equal(params.value, '${name}');
});

test('interpolation: a resolved value that looks like a reference is not accepted as a number', () => {
  const ds = loadErrors(pipeline(`stages:
  s: { kind: probe, with: { sleepMs: "$\${x}" } }
`));
  assert.deepEqual(ds.map((d) => d.code), ['wrong-type']);
});

test('interpolated values are checked again, with the node named', () => {
  const ds = loadErrors(pipeline(`params: { wait: [1] }
stages:
  s: { kind: probe, matrix: { v: [1, -1, x] }, with: { sleepMs: "\${matrix.v}", busyMs: "\${params.wait}" } }
`));
  assert.deepEqual(
    ds.map((d) => d.message),
    [
      '"with.sleepMs" of stage "s" must be >= 0 (node s[v=-1])',
      '"with.sleepMs" of stage "s" must be a number >= 0 (node s[v=x])',
      '"with.busyMs" of stage "s" must be a number >= 0 (all 3 nodes)',
    ],
  );
});

test('defaults from the kind schema are applied to each node', () => {
  const p = load(pipeline(`stages:
  cmd: { kind: command, with: { run: "echo hi" } }
  probe: { kind: probe }
  set: { kind: probe, with: { steps: 3 } }
`));
  assert.deepEqual(node(p, 'cmd').params, { run: 'echo hi', deps: [], outs: [], env: {} });
  assert.deepEqual(node(p, 'probe').params, { value: null, sleepMs: 0, busyMs: 0, arrayLength: 0, steps: 1 });
  assert.equal((node(p, 'set').params as { steps: number }).steps, 3);
});

test('nodes do not share mutable params', () => {
  const p = load(pipeline(`params: { m: { a: 1 } }
stages:
  s: { kind: probe, matrix: { x: [1, 2] }, with: { value: "\${params.m}" } }
`));
  const [a, b] = p.nodes;
  assert.notEqual((a!.params as { value: object }).value, (b!.params as { value: object }).value);
  assert.notEqual((a!.params as { value: object }).value, p.params['m']);
});

test('stage specs keep inputs and description; file paths resolve against cwd', () => {
  const r = loadPipeline('sub/p.yaml', pipeline(`stages:
  a: { kind: probe, description: first }
  b: { kind: probe, inputs: { x: a } }
`), catalog, { cwd: '/tmp/w' });
  assert.ok(r.ok);
  assert.equal(r.value.absFile, '/tmp/w/sub/p.yaml');
  assert.equal(r.value.workdir, '/tmp/w/sub');
  assert.equal(r.value.stages[0]!.description, 'first');
  assert.deepEqual(r.value.stages[1]!.inputs, { x: 'a' });
  assert.deepEqual(r.value.settings, {});
  assert.deepEqual(r.value.params, {});
});

test('every independent problem is reported, sorted by position', () => {
  const ds = loadErrors(pipeline(`stages:
  b: { kind: probe, inputs: { x: nope } }
  a: { kind: prob, with: { sleepMS: 1 } }
  c: { kind: probe, matrix: { s: [] } }
`));
  assert.deepEqual(ds.map((d) => d.code), ['unknown-stage', 'unknown-kind', 'empty-axis']);
  const lines = ds.map((d) => d.location!.line);
  assert.deepEqual(lines, [...lines].sort((x, y) => x - y));
});

test('10,000 nodes: a 5000-value axis and a foreach over it', () => {
  const seeds = Array.from({ length: 5000 }, (_, i) => i).join(', ');
  const p = load(pipeline(`params: { epochs: 3 }
stages:
  data: { kind: probe }
  train:
    kind: probe
    matrix: { seed: [${seeds}] }
    inputs: { data: data }
    with: { value: "\${params.epochs}", seed: "\${matrix.seed}", label: "s\${matrix.seed}" }
  hessian: { kind: probe, foreach: train, inputs: { model: train, data: data } }
  summary: { kind: probe, inputs: { all: hessian } }
`));
  assert.equal(p.nodes.length, 10_002);
  assert.equal(node(p, 'hessian[seed=4999]').inputs['model']!.nodes[0], 'train[seed=4999]');
  assert.equal(node(p, 'summary').inputs['all']!.nodes.length, 5000);
  assert.equal((node(p, 'train[seed=17]').params as { label: string }).label, 's17');
});
