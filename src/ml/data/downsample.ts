import { DataError } from './error.js';

/**
 * 2x2 average pooling of n images [h, w] stored row-major: 28x28 MNIST becomes 14x14 (196
 * inputs), which makes exact Hessians and basin-volume sampling affordable. Each output pixel is the
 * mean of its 2x2 block, summed in float64 and rounded once to float32.
 */
export function avgPool2x2(x: Float32Array, n: number, h: number, w: number): Float32Array {
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new DataError(`downsample: 2 needs even image sides, the images are ${h}x${w}: use downsample: 1`);
  }
  if (x.length !== n * h * w) throw new Error(`internal error: avgPool2x2 got ${x.length} values for ${n}x${h}x${w}`);
  const oh = h / 2;
  const ow = w / 2;
  const out = new Float32Array(n * oh * ow);
  for (let i = 0; i < n; i++) {
    const src = i * h * w;
    const dst = i * oh * ow;
    for (let r = 0; r < oh; r++) {
      const top = src + 2 * r * w;
      const bottom = top + w;
      for (let c = 0; c < ow; c++) {
        const a = 2 * c;
        out[dst + r * ow + c] = (x[top + a]! + x[top + a + 1]! + x[bottom + a]! + x[bottom + a + 1]!) / 4;
      }
    }
  }
  return out;
}
