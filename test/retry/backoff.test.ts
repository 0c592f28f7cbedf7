import { describe, expect, it } from 'vitest';
import {
  constantBackoff,
  decorrelatedJitter,
  equalJitter,
  exponentialBackoff,
  fullJitter,
  type Backoff,
  type BackoffInput,
} from '../../src/retry/backoff.js';
import { seededRandom } from '../../src/core/random.js';

const failure = { kind: 'error', error: new Error('x') } as const;

function input(attempt: number, random: () => number, previousDelayMs = 0): BackoffInput {
  return { attempt, previousDelayMs, outcome: failure, random };
}

/** Runs a backoff over `n` retries the way the retry policy does, feeding back the previous delay. */
function schedule(backoff: Backoff, n: number, random: () => number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let k = 1; k <= n; k++) {
    prev = backoff(input(k, random, prev));
    out.push(prev);
  }
  return out;
}

describe('constantBackoff', () => {
  it('returns the same delay before every retry', () => {
    const b = constantBackoff({ delayMs: 250 });
    expect(schedule(b, 5, Math.random)).toEqual([250, 250, 250, 250, 250]);
  });

  it('defaults to no delay', () => {
    expect(constantBackoff()(input(3, Math.random))).toBe(0);
  });

  it('rejects a negative, NaN or non-number delay naming the option', () => {
    expect(() => constantBackoff({ delayMs: -1 })).toThrow(/constantBackoff: option "delayMs"/);
    expect(() => constantBackoff({ delayMs: NaN })).toThrow(RangeError);
    expect(() => constantBackoff({ delayMs: '5' as never })).toThrow(TypeError);
    expect(() => constantBackoff('fast' as never)).toThrow(TypeError);
  });
});

describe('exponentialBackoff', () => {
  it('doubles from baseMs before the first retry up to capMs', () => {
    const b = exponentialBackoff({ baseMs: 50, capMs: 1_000 });
    const expected = [1, 2, 3, 4, 5, 6, 7].map((k) => Math.min(1_000, 50 * 2 ** (k - 1)));
    expect(schedule(b, 7, Math.random)).toEqual(expected);
  });

  it('grows by factor', () => {
    const b = exponentialBackoff({ baseMs: 10, capMs: 10_000, factor: 3 });
    expect(schedule(b, 4, Math.random)).toEqual([10, 30, 90, 270]);
  });

  it('saturates at the cap for huge attempt numbers instead of overflowing to NaN', () => {
    const b = exponentialBackoff({ baseMs: 100, capMs: 5_000 });
    expect(b(input(100_000, Math.random))).toBe(5_000);
    expect(exponentialBackoff({ baseMs: 0, capMs: 5_000 })(input(100_000, Math.random))).toBe(0);
  });

  it('validates baseMs, capMs (>= baseMs) and factor (>= 1)', () => {
    expect(() => exponentialBackoff({ baseMs: -1 })).toThrow(/option "baseMs"/);
    expect(() => exponentialBackoff({ baseMs: 100, capMs: 50 })).toThrow(/option "capMs" must be a number in \[100/);
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(/option "factor"/);
    expect(() => exponentialBackoff({ factor: Infinity })).toThrow(RangeError);
    expect(() => exponentialBackoff({ capMs: 'big' as never })).toThrow(TypeError);
  });

  it('raises the default cap to baseMs when only a large baseMs is given', () => {
    expect(exponentialBackoff({ baseMs: 20_000 })(input(5, Math.random))).toBe(20_000);
  });
});

describe('fullJitter', () => {
  it('scales the exponential ceiling by the random draw', () => {
    const draws = [0.25, 0.5, 0.999, 0];
    let i = 0;
    const b = fullJitter({ baseMs: 100, capMs: 300 });
    const got = schedule(b, 4, () => draws[i++]!);
    expect(got).toEqual([0.25 * 100, 0.5 * 200, 0.999 * 300, 0]);
  });

  it('defaults to base 100 ms, cap 10 s', () => {
    const b = fullJitter();
    expect(b(input(1, () => 0.999999))).toBeCloseTo(100, 3);
    expect(b(input(30, () => 0.999999))).toBeCloseTo(10_000, 1);
  });

  it('gives the same schedule for the same seed and another for another seed', () => {
    const b = fullJitter();
    const a1 = schedule(b, 8, seededRandom(42));
    const a2 = schedule(b, 8, seededRandom(42));
    const other = schedule(b, 8, seededRandom(43));
    expect(a1).toEqual(a2);
    expect(other).not.toEqual(a1);
  });

  it('validates its options', () => {
    expect(() => fullJitter({ baseMs: NaN })).toThrow(/fullJitter: option "baseMs"/);
  });
});

describe('equalJitter', () => {
  it('waits half the exponential delay plus a random share of the other half', () => {
    const b = equalJitter({ baseMs: 100, capMs: 1_000 });
    expect(b(input(3, () => 0))).toBe(200);
    expect(b(input(3, () => 0.5))).toBe(300);
    expect(b(input(10, () => 0))).toBe(500);
  });

  it('validates its options', () => {
    expect(() => equalJitter({ capMs: -1 })).toThrow(/equalJitter: option "capMs"/);
  });
});

describe('decorrelatedJitter', () => {
  it('draws from [baseMs, 3 x previous delay], starting from baseMs', () => {
    const b = decorrelatedJitter({ baseMs: 10, capMs: 10_000 });
    expect(b(input(1, () => 0, 0))).toBe(10);
    expect(b(input(1, () => 0.5, 0))).toBe(10 + 0.5 * (30 - 10));
    expect(b(input(2, () => 0.5, 100))).toBe(10 + 0.5 * (300 - 10));
  });

  it('never exceeds the cap and never falls below the base, whatever previous delay it is fed', () => {
    const b = decorrelatedJitter({ baseMs: 10, capMs: 500 });
    expect(b(input(2, () => 0.999, 400))).toBe(500);
    expect(b(input(2, () => 0.999, 1e308))).toBe(500);
    expect(b(input(2, () => 0, -5))).toBe(10);
    expect(b(input(2, () => 0.5, NaN))).toBeGreaterThanOrEqual(10);
  });

  it('stays finite over a long chain (cockatiel#86)', () => {
    const got = schedule(decorrelatedJitter(), 10_000, seededRandom(1));
    expect(got.every((d) => Number.isFinite(d) && d >= 100 && d <= 10_000)).toBe(true);
  });

  it('rejects baseMs 0 and capMs below baseMs', () => {
    expect(() => decorrelatedJitter({ baseMs: 0 })).toThrow(/decorrelatedJitter: option "baseMs"/);
    expect(() => decorrelatedJitter({ baseMs: 10, capMs: 5 })).toThrow(/option "capMs"/);
  });
});
