/**
 * Science acceptance of the `train` stage (docs/science.md, "Good and bad minima"): on MNIST with
 * 1000 clean training digits and one hidden layer of 100 ReLU units,
 *   - clean training (|A| = 0) reaches 100% train accuracy and >= 85% test accuracy (a good minimum);
 *   - with 4000 attack examples (wrong labels) it reaches 100% on S and on A with test accuracy
 *     <= 40% (a bad minimum with the same training error on S).
 * Both run through the real dataset and train stages, in-process, on one backend. Too slow for the
 * test suite on the project's 2-core machines, so it is a script; it exits 1 when a criterion fails.
 *
 *   npm run build && node dist/test/bench/science-acceptance.js [--backend wasm] [--downsample 1]
 *     [--optimizer adam] [--lr 0.002] [--batch 100] [--max-epochs 600] [--eval-every 1] [--seed 0]
 *     [--decay-every N --gamma 0.1] [--only clean|attack]
 *
 * The defaults are the settings that pass. Measured (wasm, 2 cores, Dec 2026): clean converged after
 * 107 epochs, test 90.2%, 11 s; |A| = 4000 converged after 288 epochs, S and A 100%, test 20.4%,
 * 106 s. Other settings tried: SGD lr 0.1 (the stage default) reaches 100% on S but L_S only 2.8e-2
 * after 300 epochs; with 2x2 downsampled digits (196 inputs) Adam fits A too slowly (99.2% after
 * 400 epochs at lr 0.003); a step decay of the learning rate slows fitting A further.
 */
import { parseArgs } from 'node:util';
import type { NodeId } from '../../src/fingerprint/ids.js';
import type { BackendName } from '../../src/ml/backend.js';
import { dataset, type DatasetParams } from '../../src/stages/dataset.js';
import { train, type TrainParams } from '../../src/stages/train.js';
import type { StageContext } from '../../src/stages/types.js';
import type { JsonValue } from '../../src/util/json.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    downsample: { type: 'string', default: '1' },
    optimizer: { type: 'string', default: 'adam' },
    lr: { type: 'string', default: '0.002' },
    batch: { type: 'string', default: '100' },
    'max-epochs': { type: 'string', default: '600' },
    'eval-every': { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    'decay-every': { type: 'string' },
    gamma: { type: 'string', default: '0.1' },
    only: { type: 'string' },
  },
});
const backend = o.backend as BackendName;

function context<P>(params: P, inputs: StageContext['inputs'], onLog = (_: string) => {}): StageContext<P> {
  return {
    nodeId: 'acceptance' as NodeId,
    params,
    inputs,
    workdir: process.cwd(),
    runtime: { backend },
    signal: new AbortController().signal,
    progress: (p) => {
      if (p.message && /^epoch \d*0\//.test(p.message) && p.metrics) process.stderr.write(`  ${p.message} loss ${p.metrics['loss']?.toExponential(2)} acc ${p.metrics['acc']?.toFixed(4)} attack acc ${p.metrics['attackAcc']?.toFixed(4) ?? '-'}\n`);
    },
    log: onLog,
  };
}

const dataParams = { source: 'mnist', seed: 0, train: 1000, attack: 4000, test: 2000, balanced: false, downsample: Number(o.downsample) } as DatasetParams;
const data = await dataset.run(context(dataParams, {}));
const inputs = { data: [{ nodeId: 'data' as NodeId, outputs: data.outputs }] };

const base: TrainParams = {
  model: { hidden: [100], activation: 'relu', init: 'he', initScale: 1 },
  loss: 'cross-entropy',
  optimizer: {
    name: o.optimizer as TrainParams['optimizer']['name'],
    lr: Number(o.lr),
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    schedule: o['decay-every'] ? { type: 'step', every: Number(o['decay-every']), gamma: Number(o.gamma) } : { type: 'constant', every: 100, gamma: 0.1 },
  },
  batchSize: Number(o.batch),
  attack: 0,
  seed: Number(o.seed),
  maxEpochs: Number(o['max-epochs']),
  tolerance: 1e-3,
  evalEvery: Number(o['eval-every']),
};

interface Outcome {
  readonly name: string;
  readonly ok: boolean;
  readonly line: string;
}
const outcomes: Outcome[] = [];
const pct = (v: JsonValue | undefined) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '-');

for (const attack of [0, 4000]) {
  const name = attack === 0 ? 'clean' : 'attack';
  if (o.only && o.only !== name) continue;
  process.stderr.write(`${name}: |A| = ${attack}\n`);
  const started = performance.now();
  const r = await train.run(context({ ...base, attack }, inputs, (l) => process.stderr.write(`  ${l}\n`)));
  const wall = (performance.now() - started) / 1000;
  const m = (r.outputs['metrics'] as { value: Record<string, JsonValue> }).value;
  const ok =
    attack === 0
      ? m['stop'] === 'converged' && m['trainAcc'] === 1 && (m['testAcc'] as number) >= 0.85
      : m['stop'] === 'converged' && m['trainAcc'] === 1 && m['attackAcc'] === 1 && (m['testAcc'] as number) <= 0.4;
  outcomes.push({
    name,
    ok,
    line:
      `${name.padEnd(6)} |A|=${attack}: ${ok ? 'PASS' : 'FAIL'}  stop ${m['stop']} after ${m['epochs']} epochs (${m['steps']} steps), ` +
      `train ${pct(m['trainAcc'])} (loss ${(m['trainLoss'] as number).toExponential(2)}), attack ${pct(m['attackAcc'])}, test ${pct(m['testAcc'])}, wall ${wall.toFixed(1)} s`,
  });
}

const d = Number(o.downsample) === 2 ? 196 : 784;
console.log(`science acceptance: mnist 1000 clean digits (${d} inputs), ${d}-100-10 relu, ${o.optimizer} lr ${o.lr}, batch ${o.batch}, maxEpochs ${o['max-epochs']}, ${backend}`);
for (const x of outcomes) console.log(x.line);
process.exitCode = outcomes.every((x) => x.ok) ? 0 : 1;
