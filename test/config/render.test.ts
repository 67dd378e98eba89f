import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDag } from '../../src/graph/render.js';
import { load, pipeline } from './helpers.js';

const p = load(pipeline(`stages:
  data: { kind: command, with: { run: "echo data" } }
  train: { kind: probe, matrix: { seed: [0, 1] }, inputs: { data: data } }
  hessian: { kind: probe, foreach: train, inputs: { model: train } }
  summary: { kind: probe, inputs: { models: train } }
`));

test('text, stage level: kinds, fan-out and bindings', () => {
  assert.equal(
    renderDag(p, 'text', 'stages'),
    [
      'pipeline t: 4 stages, 6 nodes',
      '',
      '  data     command  1 node',
      '  train    probe    2 nodes  matrix seed    data <- data',
      '  hessian  probe    2 nodes  foreach train  model <- train (one each)',
      '  summary  probe    1 node                  models <- train (all 2)',
    ].join('\n'),
  );
});

test('text, node level: every node with its inputs', () => {
  assert.equal(
    renderDag(p, 'text', 'nodes'),
    [
      'pipeline t: 6 nodes in run order',
      '',
      '  data             command',
      '  train[seed=0]    probe    data <- data',
      '  train[seed=1]    probe    data <- data',
      '  hessian[seed=0]  probe    model <- train[seed=0]',
      '  hessian[seed=1]  probe    model <- train[seed=1]',
      '  summary          probe    models <- train (all 2)',
    ].join('\n'),
  );
});

test('mermaid and dot', () => {
  assert.equal(
    renderDag(p, 'mermaid', 'stages'),
    [
      'flowchart LR',
      '  n0["data (command)"]',
      '  n1["train (probe, 2 nodes)"]',
      '  n2["hessian (probe, 2 nodes)"]',
      '  n3["summary (probe)"]',
      '  n0 -->|"data"| n1',
      '  n1 -->|"foreach, model"| n2',
      '  n1 -->|"models"| n3',
    ].join('\n'),
  );
  const dot = renderDag(p, 'dot', 'nodes');
  assert.match(dot, /^digraph "t" \{/);
  assert.match(dot, /"train\[seed=1\]" -> "hessian\[seed=1\]" \[label="model"\];/);
  assert.match(dot, /"train\[seed=0\]" -> "summary" \[label="models"\];/);
  assert.equal(renderDag(p, 'mermaid', 'nodes').split('\n').filter((l) => l.includes('-->')).length, 2 + 2 + 2);
});
