/**
 * Random sources. Every primitive that jitters takes a `random` option; library code never calls `Math.random`
 * outside this file.
 */

/** A function returning uniformly distributed numbers in [0, 1). */
export type RandomSource = () => number;

/** The host's `Math.random`. Not seedable; use {@link seededRandom} in tests and simulations. */
export const systemRandom: RandomSource = () => Math.random();

/**
 * A fast deterministic random source (sfc32 seeded through splitmix32), good enough for jitter and simulation,
 * not for cryptography. The same seed always yields the same sequence, on every platform.
 *
 * @param seed - any finite number; its low 32 bits and fractional part are mixed in.
 * @throws {TypeError} when `seed` is not a finite number.
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // always the same first value for seed 42
 * ```
 */
export function seededRandom(seed: number): RandomSource {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new TypeError(`seededRandom: seed must be a finite number, got ${String(seed)}`);
  }
  let s = (Math.floor(seed) ^ Math.floor((seed % 1) * 0x100000000)) >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 0x100000000;
  };
}
