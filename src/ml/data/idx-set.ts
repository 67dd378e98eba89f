import { parseIdx, type IdxArray } from './idx.js';
import { DataError } from './error.js';
import type { ClassificationPool } from './pool.js';
import { readMaybeGzip } from './read.js';

/**
 * An image set in IDX files (MNIST, Fashion-MNIST, KMNIST): images [n, ...] and labels [n].
 * uint8 images are scaled to [0, 1] (divided by 255) like the `mnist` package's digits; other
 * dtypes are kept as they are. Labels must be non-negative integers; the number of classes is the
 * largest label plus one.
 */
export async function loadIdxSet(images: { path: string; shown: string }, labels: { path: string; shown: string }): Promise<ClassificationPool> {
  const img = parseIdx(await readMaybeGzip(images.path, images.shown), images.shown);
  const lab = parseIdx(await readMaybeGzip(labels.path, labels.shown), labels.shown);
  if (img.dims.length < 2) {
    throw new DataError(`"${images.shown}" has dimensions [${img.dims.join(', ')}]; an images file has [n, ...] (e.g. [60000, 28, 28]): is it the labels file?`);
  }
  if (lab.dims.length !== 1) {
    throw new DataError(`"${labels.shown}" has dimensions [${lab.dims.join(', ')}]; a labels file has one dimension [n]: is it the images file?`);
  }
  const n = img.dims[0]!;
  if (lab.dims[0] !== n) {
    throw new DataError(`"${images.shown}" holds ${n} images but "${labels.shown}" holds ${lab.dims[0]} labels: use files of the same set`);
  }
  const y = integerLabels(lab, labels.shown);
  let classes = 0;
  for (const v of y) classes = Math.max(classes, v + 1);
  if (classes < 2) throw new DataError(`"${labels.shown}" has ${classes} distinct class(es); a classification set needs at least 2`);
  const x = new Float32Array(img.data.length);
  if (img.dtype === 'uint8') for (let i = 0; i < x.length; i++) x[i] = img.data[i]! / 255;
  else x.set(img.data);
  return { task: 'classification', n, inputShape: img.dims.slice(1), x, labels: y, classes };
}

function integerLabels(lab: IdxArray, shown: string): Int32Array {
  const y = new Int32Array(lab.data.length);
  for (let i = 0; i < y.length; i++) {
    const v = lab.data[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 65535) {
      throw new DataError(`"${shown}": label ${i} is ${v}; labels must be non-negative integers (class numbers)`);
    }
    y[i] = v;
  }
  return y;
}
