import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendName } from './backend.js';
import { curvatureOperator, setGradient, type CurvatureKind } from './hvp.js';
import { LOSS_NAMES, type LossName } from './loss.js';
import { disposeEvalSet, uploadEvalSet, type EvalSet } from './metrics.js';
import type { Activation } from './mlp.js';
import { dot, matVec, referenceForward, referenceGradient, referenceHessian, relativeError, tinyProblem, type TinyProblem } from './reference.js';
import { Rng } from './rng.js';
import { loadTf } from './runtime.js';

const backend = (process.env['BASIN_TEST_BACKEND'] ?? 'cpu') as BackendName;
const tf = await loadTf(backend);

const problem = (activation: Activation, loss: LossName, hidden = [4], n = 10) =>
  tinyProblem({ inputs: 5, hidden, outputs: 3, activation, init: 'he' }, loss, n, `curvature-${activation}-${loss}-${hidden.join('x')}`);

/** The problem's examples in chunks of `chunk` rows (10 rows in chunks of 4: sizes 4, 4, 2). */
const upload = (p: TinyProblem, chunk: number): EvalSet => uploadEvalSet(tf, p.x, p.targets, undefined, p.layout.spec.inputs, p.layout.spec.outputs, chunk);

const direction = (d: number, seed: string) => {
  const rng = new Rng(seed);
  return Float64Array.from({ length: d }, () => rng.normal());
};

async function product(p: TinyProblem, kind: CurvatureKind, v: Float64Array, chunk = 4): Promise<Float64Array> {
  const set = upload(p, chunk);
  const op = curvatureOperator(tf, p.layout, p.loss, p.params, set, kind);
  try {
    return await op.apply(v);
  } finally {
    op.dispose();
    disposeEvalSet(set);
  }
}

test('Hessian-vector products over uneven chunks match the dense float64 Hessian (relu and tanh, cross-entropy and mse)', async (t) => {
  for (const activation of ['relu', 'tanh'] as const) {
    for (const loss of LOSS_NAMES) {
      const p = problem(activation, loss);
      const H = referenceHessian(p.layout, loss, p.params, p);
      const v = direction(p.layout.size, `v-${activation}-${loss}`);
      const got = await product(p, 'hessian', v);
      const err = relativeError(got, matVec(H, v));
      t.diagnostic(`${backend} ${activation} ${loss} d=${p.layout.size}: HVP relative error ${err.toExponential(2)}`);
      assert.ok(err <= 1e-4, `${activation} ${loss}: relative error ${err}`);
    }
  }
});

test('the product is the mean over the set, whatever the chunking: 1 chunk, chunks of 3, chunks of 1', async () => {
  const p = problem('tanh', 'cross-entropy', [4], 11);
  const v = direction(p.layout.size, 'chunks');
  const whole = await product(p, 'hessian', v, 1000);
  for (const chunk of [3, 1]) {
    const err = relativeError(await product(p, 'hessian', v, chunk), whole);
    assert.ok(err <= 1e-6, `chunks of ${chunk}: ${err}`);
  }
  // And the mean, not the sum: doubling the set (every example twice) leaves Hv unchanged.
  const doubled = { ...p, x: Float32Array.from([...p.x, ...p.x]), targets: Float32Array.from([...p.targets, ...p.targets]), n: 2 * p.n };
  assert.ok(relativeError(await product(doubled, 'hessian', v, 4), whole) <= 1e-6);
});

test('Hessian products are symmetric: u.Hv = v.Hu', async () => {
  for (const activation of ['relu', 'softplus'] as const) {
    const p = problem(activation, 'cross-entropy', [6, 5]);
    const u = direction(p.layout.size, 'u');
    const v = direction(p.layout.size, 'v');
    const hv = await product(p, 'hessian', v);
    const uHv = dot(u, hv);
    const vHu = dot(v, await product(p, 'hessian', u));
    // float32 products: compare on the scale of the terms summed (|u| |Hv|), not of their sum.
    const scale = Math.sqrt(dot(u, u) * dot(hv, hv));
    assert.ok(Math.abs(uHv - vHu) <= 1e-6 * scale, `${activation}: ${uHv} vs ${vHu} (scale ${scale})`);
  }
});

test('a smooth model: Hv agrees with central differences of TF.js gradients', async () => {
  const p = problem('softplus', 'mse', [6]);
  const set = upload(p, 4);
  const v = direction(p.layout.size, 'fd');
  const norm = Math.sqrt(dot(v, v));
  const eps = 1e-2 / norm;
  const shifted = (s: number) => Float32Array.from(p.params, (w, i) => w + s * eps * (v[i] as number));
  const gp = setGradient(tf, p.layout, p.loss, shifted(1), set);
  const gm = setGradient(tf, p.layout, p.loss, shifted(-1), set);
  disposeEvalSet(set);
  const fd = gp.map((g, i) => (g - (gm[i] as number)) / (2 * eps));
  const err = relativeError(await product(p, 'hessian', v), fd);
  assert.ok(err <= 2e-3, `finite differences: ${err}`);
});

test('the set gradient matches the float64 reference gradient', () => {
  const p = problem('tanh', 'cross-entropy');
  const set = upload(p, 4);
  const g = setGradient(tf, p.layout, p.loss, p.params, set);
  disposeEvalSet(set);
  assert.ok(relativeError(g, referenceGradient(p.layout, p.loss, p.params, p)) <= 1e-5);
});

/** G = (1/n) sum_i J_i^T H_out,i J_i in float64, J by central differences of the reference forward pass. */
function referenceGaussNewton(p: TinyProblem): Float64Array {
  const d = p.layout.size;
  const k = p.layout.spec.outputs;
  const w = Float64Array.from(p.params);
  const h = 1e-6;
  const J = new Float64Array(p.n * k * d); // [(i, o), j]
  for (let j = 0; j < d; j++) {
    const w0 = w[j] as number;
    w[j] = w0 + h;
    const plus = referenceForward(p.layout, w, p.x, p.n);
    w[j] = w0 - h;
    const minus = referenceForward(p.layout, w, p.x, p.n);
    w[j] = w0;
    for (let r = 0; r < p.n * k; r++) J[r * d + j] = ((plus[r] as number) - (minus[r] as number)) / (2 * h);
  }
  const out = referenceForward(p.layout, w, p.x, p.n);
  const G = new Float64Array(d * d);
  for (let i = 0; i < p.n; i++) {
    // H_out for example i
    const Ho = new Float64Array(k * k);
    if (p.loss === 'mse') for (let a = 0; a < k; a++) Ho[a * k + a] = 1;
    else {
      const o = out.subarray(i * k, (i + 1) * k);
      const m = Math.max(...o);
      const e = Array.from(o, (z) => Math.exp(z - m));
      const s = e.reduce((a, b) => a + b, 0);
      const pr = e.map((z) => z / s);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) Ho[a * k + b] = (a === b ? (pr[a] as number) : 0) - (pr[a] as number) * (pr[b] as number);
    }
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const c = (Ho[a * k + b] as number) / p.n;
        if (c === 0) continue;
        const ra = (i * k + a) * d;
        const rb = (i * k + b) * d;
        for (let x = 0; x < d; x++) {
          const jx = (J[ra + x] as number) * c;
          for (let y = 0; y < d; y++) G[x * d + y] = (G[x * d + y] as number) + jx * (J[rb + y] as number);
        }
      }
    }
  }
  return G;
}

test('Gauss-Newton products match J^T H_out J from a float64 reference, and are positive semi-definite', async (t) => {
  for (const loss of LOSS_NAMES) {
    const p = problem('tanh', loss, [4]);
    const G = referenceGaussNewton(p);
    const v = direction(p.layout.size, `gn-${loss}`);
    const got = await product(p, 'gauss-newton', v);
    const err = relativeError(got, matVec(G, v));
    t.diagnostic(`${backend} tanh ${loss}: Gauss-Newton product relative error ${err.toExponential(2)}`);
    assert.ok(err <= 1e-4, `${loss}: ${err}`);
    assert.ok(dot(v, got) >= 0);
    // And it is not the Hessian: the tanh network's second derivatives make them differ.
    assert.ok(relativeError(await product(p, 'hessian', v), got) > 1e-2);
  }
});

test('for a linear model (no hidden layer) the Gauss-Newton matrix IS the Hessian', async () => {
  for (const loss of LOSS_NAMES) {
    const p = problem('relu', loss, []);
    const v = direction(p.layout.size, `lin-${loss}`);
    const err = relativeError(await product(p, 'gauss-newton', v), await product(p, 'hessian', v));
    assert.ok(err <= 1e-5, `${loss}: ${err}`);
  }
});

test('the operator counts products, checks lengths, refuses empty sets and use after dispose; no tensors leak', async () => {
  const p = problem('relu', 'cross-entropy');
  const set = upload(p, 4);
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  const op = curvatureOperator(tf, p.layout, p.loss, p.params, set, 'hessian', { onProduct: (n) => seen.push(n) });
  const v = direction(p.layout.size, 'count');
  await op.apply(v);
  await op.apply(v);
  assert.equal(op.products, 2);
  assert.deepEqual(seen, [1, 2]);
  await assert.rejects(op.apply(new Float64Array(3)), /length 3/);
  op.dispose();
  await assert.rejects(op.apply(v), /after dispose/);
  assert.equal(tf.memory().numTensors, before);
  disposeEvalSet(set);
  assert.throws(() => curvatureOperator(tf, p.layout, p.loss, p.params, { n: 0, chunks: [] }, 'hessian'), /empty example set/);
  const aborted = new AbortController();
  aborted.abort();
  const set2 = upload(p, 4);
  const op2 = curvatureOperator(tf, p.layout, p.loss, p.params, set2, 'hessian', { signal: aborted.signal });
  await assert.rejects(op2.apply(v), { name: 'AbortError' });
  op2.dispose();
  disposeEvalSet(set2);
});
