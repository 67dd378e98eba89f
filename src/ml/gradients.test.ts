import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tensor, Tensor1D } from '@tensorflow/tfjs';
import type { BackendName } from './backend.js';
import { installGradientFixes } from './gradients.js';
import { lossFn, LOSS_NAMES, type LossName } from './loss.js';
import { ACTIVATIONS, mlpForward, type Activation } from './mlp.js';
import { dot, matVec, referenceGradient, referenceHessian, referenceLoss, relativeError, tinyProblem, type TinyProblem } from './reference.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

/** Hessian-vector product by reverse-over-reverse: grad_p (grad_p f(p) . v). */
function hvp(f: (x: Tensor) => Tensor, x: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => tf.grad((q) => tf.sum(tf.mul(tf.grad(f)(q), v)))(x));
}

function download(f: () => Tensor): Float32Array {
  return tf.tidy(() => f().dataSync() as Float32Array);
}

function mlpLoss(p: TinyProblem): (q: Tensor) => Tensor {
  const x = tf.tensor2d(p.x, [p.n, p.layout.spec.inputs]);
  const y = tf.tensor2d(p.targets, [p.n, p.layout.spec.outputs]);
  return (q) => lossFn(tf, p.loss, mlpForward(tf, p.layout, q as Tensor1D, x), y);
}

const problem = (activation: Activation, loss: LossName, hidden = [4], seed = 'hvp') =>
  tinyProblem({ inputs: 5, hidden, outputs: 3, activation, init: 'he' }, loss, 8, `${seed}-${activation}-${loss}-${hidden.join('x')}`);

const direction = (d: number, seed: string) => {
  const rng = new Rng(seed);
  return Float32Array.from({ length: d }, () => rng.normal());
};

test('the float64 reference gradient matches central differences of the reference loss', () => {
  for (const activation of ['tanh', 'softplus'] as const) {
    for (const loss of LOSS_NAMES) {
      const p = problem(activation, loss);
      const g = referenceGradient(p.layout, loss, p.params, p);
      const w = Float64Array.from(p.params);
      const fd = g.map((_, j) => {
        const h = 1e-6;
        const w0 = w[j] as number;
        w[j] = w0 + h;
        const plus = referenceLoss(p.layout, loss, w, p);
        w[j] = w0 - h;
        const minus = referenceLoss(p.layout, loss, w, p);
        w[j] = w0;
        return (plus - minus) / (2 * h);
      });
      assert.ok(relativeError(fd, g) < 1e-7, `${activation} ${loss}`);
    }
  }
});

test('second derivatives through each fixed op match closed forms', () => {
  const xs = [-2, -0.5, 0.3, 1.7];
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  // Elementwise f: the HVP of sum(f(x)) with v = 1 is the vector of f''(x).
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number, number[]][] = [
    ['exp', (x) => tf.exp(x), (x) => Math.exp(x), xs],
    ['sigmoid', (x) => tf.sigmoid(x), (x) => sig(x) * (1 - sig(x)) * (1 - 2 * sig(x)), xs],
    ['tanh', (x) => tf.tanh(x), (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2), xs],
    ['softplus', (x) => tf.softplus(x), (x) => sig(x) * (1 - sig(x)), xs],
    ['elu', (x) => tf.elu(x), (x) => (x > 0 ? 0 : Math.exp(x)), xs],
    ['pow base', (x) => tf.pow(x, 3), (x) => 6 * x, [0.5, 1.2, 2]],
    ['pow exponent', (x) => tf.pow(tf.scalar(2.5), x), (x) => Math.log(2.5) ** 2 * 2.5 ** x, xs],
  ];
  for (const [name, f, second, at] of cases) {
    const got = download(() => hvp((x) => tf.sum(f(x)), tf.tensor1d(at), tf.onesLike(tf.tensor1d(at))));
    const expected = at.map((x) => second(Math.fround(x)));
    assert.ok(relativeError(got, expected) < 1e-5, `${name}: ${Array.from(got)} vs ${expected}`);
  }
  // max/min: sum over rows of (row max)^2 has Hessian 2 on the arg-max entries; Equal's gradient is zero.
  const m = tf.tensor2d([[1, 3, 2], [5, 4, 0]]);
  const ones = tf.onesLike(m);
  assert.deepEqual(Array.from(download(() => hvp((x) => tf.sum(tf.square(tf.max(x, 1))), m, ones))), [0, 2, 0, 2, 0, 0]);
  assert.deepEqual(Array.from(download(() => hvp((x) => tf.sum(tf.square(tf.min(x, 0, true))), m, ones))), [2, 2, 0, 0, 0, 2]);
  // softmax: g = sum_j c_j p_j has d2g/dxi dxj = p_j (dij - p_i)(c_j - cbar) - p_i p_j (c_i - cbar).
  const z = [0.2, -1.1, 0.7, 1.5];
  const c = [1, -2, 0.5, 3];
  const v = [0.3, 1, -0.4, 0.8];
  const e = z.map((t) => Math.exp(Math.fround(t)));
  const pr = e.map((t) => t / e.reduce((a, b) => a + b, 0));
  const cbar = dot(pr, c);
  const H = pr.flatMap((pi, i) => pr.map((pj, j) => pj * ((i === j ? 1 : 0) - pi) * ((c[j] as number) - cbar) - pi * pj * ((c[i] as number) - cbar)));
  const got = download(() => hvp((x) => tf.sum(tf.mul(tf.softmax(x), c)), tf.tensor1d(z), tf.tensor1d(v)));
  assert.ok(relativeError(got, matVec(H, v.map(Math.fround))) < 1e-5, 'softmax');
  tf.dispose([m, ones]);
});

test('BatchMatMul gradient: explicit transposes give the stock gradient in all four transpose cases', () => {
  const rng = new Rng('matmul');
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  for (const batch of [[], [2]]) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      tf.tidy(() => {
        const a = rand([...batch, ...(tA ? [4, 3] : [3, 4])]);
        const b = rand([...batch, ...(tB ? [5, 4] : [4, 5])]);
        const w = rand([...batch, 3, 5]);
        const [da, db] = tf.grads((x, y) => tf.sum(tf.mul(tf.matMul(x as Tensor, y as Tensor, tA, tB), w)))([a, b]);
        // The stock formulas (tfjs-core BatchMatMul_grad), with dy = w.
        const mm = (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => tf.matMul(x, y, ta, tb);
        const [ea, eb] = !tA && !tB ? [mm(w, b, false, true), mm(a, w, true, false)]
          : !tA && tB ? [mm(w, b, false, false), mm(w, a, true, false)]
          : tA && !tB ? [mm(b, w, false, true), mm(a, w, false, false)]
          : [mm(b, w, true, true), mm(w, a, true, true)];
        assert.deepEqual(da?.shape, a.shape);
        assert.deepEqual(db?.shape, b.shape);
        assert.ok(relativeError(da!.dataSync(), ea.dataSync()) < 1e-6, `da, batch [${batch}], ${tA} ${tB}`);
        assert.ok(relativeError(db!.dataSync(), eb.dataSync()) < 1e-6, `db, batch [${batch}], ${tA} ${tB}`);
      });
    }
  }
});

test('Hessian-vector products of MLPs match the dense float64 Hessian', (t) => {
  const nets: [Activation, number[]][] = [...ACTIVATIONS.map((a): [Activation, number[]] => [a, [4]]), ['tanh', [4, 4]], ['relu', [4, 4]]];
  for (const [activation, hidden] of nets) {
    for (const loss of LOSS_NAMES) {
      const p = problem(activation, loss, hidden);
      const H = referenceHessian(p.layout, loss, p.params, p);
      const v = direction(p.layout.size, 'v');
      const got = download(() => hvp(mlpLoss(p), tf.tensor1d(p.params), tf.tensor1d(v)));
      const err = relativeError(got, matVec(H, v));
      t.diagnostic(`${backend} ${activation} [5,${hidden},3] ${loss}: HVP relative error ${err.toExponential(2)}`);
      assert.ok(err <= 1e-4, `${activation} [${hidden}] ${loss}: ${err}`);
    }
  }
});

test('Hessian-vector products are symmetric: u.Hv = v.Hu', () => {
  for (const activation of ['tanh', 'relu'] as const) {
    for (const loss of LOSS_NAMES) {
      const p = problem(activation, loss);
      const f = mlpLoss(p);
      const [u, v] = [direction(p.layout.size, 'u'), direction(p.layout.size, 'v')];
      const hv = download(() => hvp(f, tf.tensor1d(p.params), tf.tensor1d(v)));
      const hu = download(() => hvp(f, tf.tensor1d(p.params), tf.tensor1d(u)));
      const [uHv, vHu] = [dot(u, hv), dot(v, hu)];
      assert.ok(Math.abs(uHv - vHu) <= 1e-4 * (Math.abs(uHv) + Math.abs(vHu)), `${activation} ${loss}: ${uHv} vs ${vHu}`);
    }
  }
});

test('Hessian-vector products leak no tensors', () => {
  const p = problem('tanh', 'cross-entropy');
  const f = mlpLoss(p);
  const [params, v] = [tf.tensor1d(p.params), tf.tensor1d(direction(p.layout.size, 'v'))];
  hvp(f, params, v).dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) hvp(f, params, v).dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([params, v]);
});

test('installGradientFixes is idempotent', () => {
  const before = tf.getGradient('Tanh');
  installGradientFixes(tf);
  assert.equal(tf.getGradient('Tanh'), before);
  assert.deepEqual(before?.inputsToSave, ['x']);
});

test('the defect is real and fixed: stock TF.js gets tanh/cross-entropy HVPs wrong, the fixes get them right', (t) => {
  // A fresh process that loads TF.js WITHOUT loadTf (so without the fixes), measures, then installs
  // the fixes and measures again. It also compares the first-order gradient of a 784-100-10 net
  // before and after (the BatchMatMul change must not change the numbers).
  const require = createRequire(import.meta.url);
  const wasmDist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  const url = (p: string) => JSON.stringify(pathToFileURL(p).href);
  const here = (f: string) => JSON.stringify(new URL(f, import.meta.url).href);
  const p = problem('tanh', 'cross-entropy', [4], 'stock');
  const v = direction(p.layout.size, 'v');
  const script = `
    const tf = await import(${url(require.resolve('@tensorflow/tfjs'))});
    const { installGradientFixes } = await import(${here('./gradients.js')});
    const { mlpForward, mlpLayout, initParams } = await import(${here('./mlp.js')});
    const { lossFn } = await import(${here('./loss.js')});
    const { Rng } = await import(${here('./rng.js')});
    tf.env().set('PROD', true);
    if (${JSON.stringify(backend)} === 'wasm') (await import(${url(require.resolve('@tensorflow/tfjs-backend-wasm'))})).setWasmPaths(${JSON.stringify(wasmDist)});
    await tf.setBackend(${JSON.stringify(backend)});
    const p = ${JSON.stringify({ ...p, params: Array.from(p.params), x: Array.from(p.x), targets: Array.from(p.targets), labels: [] })};
    const f = (q) => lossFn(tf, 'cross-entropy', mlpForward(tf, p.layout, q, tf.tensor2d(p.x, [p.n, 5])), tf.tensor2d(p.targets, [p.n, 3]));
    const big = mlpLayout({ inputs: 784, hidden: [100], outputs: 10, activation: 'relu', init: 'he' });
    const rng = new Rng('big');
    const X = tf.tensor2d(Float32Array.from({ length: 32 * 784 }, () => rng.uniform()), [32, 784]);
    const Y = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, () => rng.int(10)), 'int32'), 10).cast('float32');
    const W = tf.tensor1d(initParams(big, rng));
    const measure = () => ({
      hv: Array.from(tf.grad((q) => tf.sum(tf.mul(tf.grad(f)(q), tf.tensor1d(${JSON.stringify(Array.from(v))}))))(tf.tensor1d(p.params)).dataSync()),
      grad: tf.grad((q) => lossFn(tf, 'cross-entropy', mlpForward(tf, big, q, X), Y))(W),
    });
    const stock = measure();
    installGradientFixes(tf);
    const fixed = measure();
    const gradDiff = tf.norm(tf.sub(fixed.grad, stock.grad)).dataSync()[0] / tf.norm(stock.grad).dataSync()[0];
    console.log(JSON.stringify({ stock: stock.hv, fixed: fixed.hv, gradDiff }));`;
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.equal(r.status, 0, `${r.error?.message ?? ''} ${r.signal ?? ''} ${r.stderr}`);
  const { stock, fixed, gradDiff } = JSON.parse(r.stdout) as { stock: number[]; fixed: number[]; gradDiff: number };
  const expected = matVec(referenceHessian(p.layout, p.loss, p.params, p), v);
  const [stockErr, fixedErr] = [relativeError(stock, expected), relativeError(fixed, expected)];
  t.diagnostic(`${backend} tanh/cross-entropy HVP relative error: stock ${stockErr.toExponential(2)}, fixed ${fixedErr.toExponential(2)}; 784-100-10 gradient, fixed vs stock: ${gradDiff.toExponential(2)}`);
  assert.ok(stockErr > 0.05, `stock TF.js was expected to be wrong, got relative error ${stockErr}`);
  assert.ok(fixedErr <= 1e-4, `fixed relative error ${fixedErr}`);
  assert.ok(gradDiff <= 1e-6, `784-100-10 gradient changed by ${gradDiff}`);
});
