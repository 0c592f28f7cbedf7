import { describe, expect, it } from 'vitest';
import { seededRandom, systemRandom } from '../../src/core/random.js';
import * as testing from '../../src/testing/index.js';

const take = (random: () => number, n: number): number[] => Array.from({ length: n }, () => random());

describe('seededRandom', () => {
  it('yields the same sequence for the same seed', () => {
    for (const seed of [0, 1, 42, -7, 2 ** 31, 123.456]) expect(take(seededRandom(seed), 500)).toEqual(take(seededRandom(seed), 500));
  });

  it('yields different sequences for different seeds, fractional parts included', () => {
    const first = (seed: number) => take(seededRandom(seed), 4).join();
    const seeds = [0, 1, 2, 3, 42, 1.5, 1.25, -1];
    expect(new Set(seeds.map(first)).size).toBe(seeds.length);
  });

  it('instances are independent: drawing from one does not move another', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    take(a, 100);
    expect(take(b, 10)).toEqual(take(seededRandom(9), 10));
  });

  it('stays in [0, 1)', () => {
    for (const seed of [0, 1, 99, 2 ** 32 - 1]) {
      for (const x of take(seededRandom(seed), 20_000)) {
        expect(x >= 0 && x < 1).toBe(true);
      }
    }
  });

  it('is roughly uniform: 10 equal bins within 4.5 sigma of their share, mean near 1/2', () => {
    for (const seed of [3, 1234, 987654]) {
      const n = 50_000;
      const bins = new Array<number>(10).fill(0);
      let sum = 0;
      for (const x of take(seededRandom(seed), n)) {
        bins[Math.floor(x * 10)]!++;
        sum += x;
      }
      const sigma = Math.sqrt(n * 0.1 * 0.9);
      for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(4.5 * sigma);
      expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    }
  });

  it('rejects a seed that is not a finite number', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, '1', undefined]) {
      expect(() => seededRandom(bad as number)).toThrow(TypeError);
    }
    expect(() => seededRandom(Number.NaN)).toThrow(/seededRandom: seed must be a finite number, got NaN/);
  });

  it('is the one sluice/testing exports', () => {
    expect(testing.seededRandom).toBe(seededRandom);
  });
});

describe('systemRandom', () => {
  it('returns numbers in [0, 1)', () => {
    for (const x of take(systemRandom, 1000)) expect(x >= 0 && x < 1).toBe(true);
  });
});
