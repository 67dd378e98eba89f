import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createHash } from 'node:crypto';

type Generator = ReturnType<typeof xoroshiro128plus>;

/**
 * The one seeded random source of basin's numerical code: xoroshiro128+ from pure-rand, mutated in
 * place. Seeds may be numbers or strings; `derive(label)` gives an independent stream for a named
 * purpose (init, batches, attack labels), so adding a use of randomness in one place never shifts
 * the numbers drawn in another.
 */
export class Rng {
  readonly #gen: Generator;
  #spare: number | undefined;

  constructor(readonly seed: number | string) {
    this.#gen = xoroshiro128plus(seedToInt(seed));
  }

  /** An independent generator for a named purpose, reproducible from (seed, label). */
  derive(label: string): Rng {
    return new Rng(`${String(this.seed)}/${label}`);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = uniformInt(this.#gen, 0, (1 << 26) - 1);
    const lo = uniformInt(this.#gen, 0, (1 << 27) - 1);
    return (hi * 2 ** 27 + lo) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`internal error: Rng.int(${n})`);
    return uniformInt(this.#gen, 0, n - 1);
  }

  /** Standard normal (Marsaglia's polar method; deterministic given the stream). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const r = u * u + v * v;
      if (r === 0 || r >= 1) continue;
      const f = Math.sqrt((-2 * Math.log(r)) / r);
      this.#spare = v * f;
      return u * f;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p;
  }
}

/**
 * Every seed is hashed first: small integer seeds (0, 1, 2: what people write) would otherwise start
 * xoroshiro128+ from a nearly all-zero state, whose first outputs are far from random.
 */
function seedToInt(seed: number | string): number {
  return createHash('sha256').update(`${typeof seed}:${String(seed)}`).digest().readInt32LE(0);
}
