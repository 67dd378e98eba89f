import type { MlpLayout } from '../mlp.js';
import type { Rng } from '../rng.js';

/**
 * Random directions in parameter space (flat vector, mlp.ts layout), the two kinds docs/science.md
 * asks for:
 *
 * - `sphere`: u ~ N(0, I_d) normalised to ||u|| = 1, uniform on the unit sphere. The volume identity
 *   V = omega_d E_u[r(u)^d] holds for these only.
 * - `filter`: filter-normalised (Li et al. 2018) for plots and slices: a Gaussian direction whose
 *   weights into each output neuron are rescaled to the norm of that neuron's weights in theta, biases
 *   zero. Our weights are stored [in, out], so neuron j of a layer owns COLUMN j (PyTorch's row j of
 *   its [out, in] weight). A neuron whose weights in theta are all zero gets a zero direction there.
 *   Scale invariance (Dinh et al. 2017) is why: a ReLU net rescaled layer by layer keeps its function,
 *   and filter-normalised directions rescale with it.
 *
 * Draw order (reproducible): d normals from `rng`, in storage order, for every direction kind.
 */
export type DirectionKind = 'sphere' | 'filter';

export function randomDirection(layout: MlpLayout, theta: Float32Array, kind: DirectionKind, rng: Rng): Float64Array {
  const u = new Float64Array(layout.size);
  for (let i = 0; i < u.length; i++) u[i] = rng.normal();
  return kind === 'sphere' ? normalise(u) : filterNormalise(layout, theta, u);
}

/** u scaled to unit Euclidean norm. */
export function normalise(u: Float64Array): Float64Array {
  let s = 0;
  for (const v of u) s += v * v;
  const n = Math.sqrt(s);
  if (!(n > 0)) throw new RangeError('cannot normalise a zero direction');
  return u.map((v) => v / n);
}

/** u with each neuron's incoming weights rescaled to that neuron's weight norm in theta; biases zero. */
export function filterNormalise(layout: MlpLayout, theta: Float32Array, u: Float64Array): Float64Array {
  const out = Float64Array.from(u);
  for (const { weight, bias } of layout.layers) {
    const [fanIn, fanOut] = weight.shape as [number, number];
    for (let j = 0; j < fanOut; j++) {
      let su = 0;
      let st = 0;
      for (let i = 0; i < fanIn; i++) {
        const k = weight.offset + i * fanOut + j;
        su += (u[k] as number) ** 2;
        st += (theta[k] as number) ** 2;
      }
      const scale = su > 0 ? Math.sqrt(st) / Math.sqrt(su) : 0;
      for (let i = 0; i < fanIn; i++) {
        const k = weight.offset + i * fanOut + j;
        out[k] = (u[k] as number) * scale;
      }
    }
    out.fill(0, bias.offset, bias.offset + (bias.shape[0] as number));
  }
  return out;
}
