import { describe, expect, it } from 'vitest';
import { aimdLimit, envoyGradientLimit, fixedLimit, gradient2Limit, log10Root, vegasLimit, windowedLimit, type LimitAlgorithm } from '../../../src/concurrency/limits/index.js';
import { seededRandom } from '../../../src/testing/index.js';

const ok = (rttMs: number, inflight: number) => ({ rttMs, inflight, dropped: false });
const drop = (rttMs: number, inflight: number) => ({ rttMs, inflight, dropped: true });

describe('fixedLimit', () => {
  it('never moves', () => {
    const a = fixedLimit({ limit: 40 });
    expect([a.sample(drop(1e6, 40), 0), a.sample(ok(1, 1), 1), a.min, a.max]).toEqual([40, 40, 40, 40]);
  });
  it('validates', () => {
    expect(() => fixedLimit({} as never)).toThrow(/"limit" is required/);
    expect(() => fixedLimit({ limit: 0 })).toThrow(RangeError);
    expect(() => fixedLimit({ limit: 4, max: 5 } as never)).toThrow(/unknown option|did you mean/i);
  });
});

describe('aimdLimit', () => {
  it('adds one per sample while half the limit is in use, multiplies by backoffRatio on a drop or a timeout', () => {
    const a = aimdLimit({ minLimit: 5, maxLimit: 30, initialLimit: 20 });
    expect(a.sample(ok(30, 10), 0)).toBe(21); // 10 × 2 >= 20
    expect(a.sample(ok(30, 5), 1)).toBe(21); // app-limited: held
    expect(a.sample(drop(30, 21), 2)).toBe(18); // floor(21 × 0.9)
    expect(a.sample(ok(6000, 18), 3)).toBe(16); // over the 5 s timeout: a drop
    for (let i = 0; i < 50; i++) a.sample(ok(30, 30), 4 + i);
    expect(a.limit).toBe(30);
    for (let i = 0; i < 50; i++) a.sample(drop(30, 30), 60 + i);
    expect(a.limit).toBe(5);
  });
  it('validates backoffRatio in [0.5, 1) and the bounds', () => {
    expect(() => aimdLimit({ backoffRatio: 1 })).toThrow(/backoffRatio/);
    expect(() => aimdLimit({ backoffRatio: 0.4 })).toThrow(/backoffRatio/);
    expect(() => aimdLimit({ minLimit: 10, maxLimit: 5 })).toThrow(/maxLimit/);
    expect(() => aimdLimit({ minLimit: 10, initialLimit: 5 })).toThrow(/initialLimit/);
    expect(() => aimdLimit({ maxLimit: 10, initialLimit: 50 })).toThrow(/initialLimit/);
    // maxLimit alone below the default minimum (20) lowers the minimum with it.
    expect([aimdLimit({ maxLimit: 10 }).min, aimdLimit({ maxLimit: 10 }).max, aimdLimit({ maxLimit: 10 }).limit]).toEqual([10, 10, 10]);
  });
});

describe('vegasLimit', () => {
  it('log10Root is 1 below 100, 2 for 100–999, 3 for 1000–9999', () => {
    expect([1, 99, 100, 999, 1000].map(log10Root)).toEqual([1, 1, 2, 2, 3]);
  });
  it('grows by β while the estimated queue is small, shrinks above β, and on a drop', () => {
    const a = vegasLimit({ initialLimit: 20, probeMultiplier: 1000, random: seededRandom(1) });
    expect(a.sample(ok(10, 20), 0)).toBe(20); // first sample: the no-load RTT
    expect(a.sample(ok(10, 20), 1)).toBe(26); // queue 0 <= 1: +β (6)
    expect(a.sample(ok(20, 26), 2)).toBe(25); // queue ceil(26 × 0.5) = 13 > β: −1
    expect(a.sample(ok(10, 5), 3)).toBe(25); // app-limited: held
    expect(a.sample(drop(10, 25), 4)).toBe(24);
  });
  it('re-probes the no-load RTT about every probeMultiplier × L samples', () => {
    const a = vegasLimit({ initialLimit: 10, maxLimit: 10, minLimit: 10, probeMultiplier: 1, random: () => 0 });
    // jitter 0.5: a probe once 0.5 × 1 × 10 <= count, i.e. every 5th sample resets rttNoLoad to that sample.
    a.sample(ok(10, 10), 0);
    for (let i = 1; i <= 4; i++) a.sample(ok(50, 10), i);
    a.sample(ok(50, 10), 5); // the probe: rttNoLoad = 50
    expect(a.limit).toBe(10);
  });
});

describe('gradient2Limit', () => {
  it('holds while RTT stays within tolerance of its long average and falls when it rises', () => {
    const a = gradient2Limit({ initialLimit: 50, minLimit: 1, maxLimit: 200 });
    for (let i = 0; i < 20; i++) a.sample(ok(40, 50), i);
    const steady = a.limit;
    expect(steady).toBeGreaterThanOrEqual(50); // g = 1 within tolerance: L·1 + 4, smoothed: it grows
    for (let i = 0; i < 20; i++) a.sample(ok(400, 200), 20 + i);
    expect(a.limit).toBeLessThan(steady);
  });
  it('is held while less than half the limit is in flight (no growth when app-limited)', () => {
    const a = gradient2Limit({ initialLimit: 50, minLimit: 1 });
    for (let i = 0; i < 50; i++) a.sample(ok(40, 10), i);
    expect(a.limit).toBe(50);
  });
});

describe('windowedLimit', () => {
  it('feeds one mean sample per window of enough samples, with the most in flight and any drop', () => {
    const seen: { rttMs: number; inflight: number; dropped: boolean }[] = [];
    const spy: LimitAlgorithm = { name: 'spy', limit: 7, min: 1, max: 9, sample: (s) => (seen.push(s), 7) };
    const w = windowedLimit(spy, { windowSize: 3, minWindowMs: 100, maxWindowMs: 100 });
    expect(w.name).toBe('windowed(spy)');
    w.sample(ok(10, 1), 0); // closes the first (empty) window at once: too few samples, nothing fed
    expect(seen).toEqual([]);
    w.sample(ok(10, 4), 10);
    w.sample(drop(20, 2), 50);
    w.sample(ok(30, 3), 100); // the window [0, 100) closes at its first sample at or after 100
    expect(seen).toEqual([{ rttMs: 20, inflight: 4, dropped: true }]);
    w.sample(ok(0.01, 9), 300); // below minRttMs: discarded
    w.sample(ok(Number.NaN, 9), 300); // unusable: discarded
    expect(seen.length).toBe(1);
  });
  it('validates', () => {
    expect(() => windowedLimit({} as never)).toThrow(TypeError);
    expect(() => windowedLimit(fixedLimit({ limit: 1 }), { minWindowMs: 100, maxWindowMs: 50 })).toThrow(/maxWindowMs/);
    expect(() => windowedLimit(fixedLimit({ limit: 1 }), { windowSize: 0 })).toThrow(/windowSize/);
  });
});

describe('envoyGradientLimit', () => {
  it('pins the limit to minConcurrency until requestCount attempts started after the pin measured minRTT, then grows by L·g + √(L·g)', () => {
    const a = envoyGradientLimit({ requestCount: 3, updateIntervalMs: 100, minRttIntervalMs: 0, random: () => 0 });
    expect(a.sample(ok(10, 3), 5)).toBe(3); // starts measuring at 5: this attempt started at -5, before the pin
    a.sample(ok(10, 3), 20);
    a.sample(ok(12, 3), 30);
    expect(a.sample(ok(14, 3), 40)).toBe(3); // third: minRTT = p50 = 12, limit restored (3), next update at 140
    a.sample(ok(12, 3), 100);
    // At 140: sampleRTT p50 of [12, 12] = 12; g = clamp(12 × 1.25 / 12, 0.5, 2) = 1.25; 3.75 + √3.75 = 5.69 → 5.
    expect(a.sample(ok(12, 3), 140)).toBe(5);
  });
  it('falls when the RTT rises well over minRTT, and re-measures after 5 updates in a row at the minimum', () => {
    const a = envoyGradientLimit({ requestCount: 1, updateIntervalMs: 10, minRttIntervalMs: 0, minConcurrency: 2, random: () => 0 });
    a.sample(ok(10, 2), 10); // minRTT 10
    let t = 20;
    for (let i = 0; i < 30; i++) a.sample(ok(10, 2), (t += 10)); // g = 1.25: grows
    const grown = a.limit;
    expect(grown).toBeGreaterThan(20);
    // g = 0.5: L → L/2 + √(L/2) falls to the minimum (2); 5 updates there re-measure minRTT (now 100), and from the
    // new baseline g = 1.25 again: it grows back.
    const seen: number[] = [];
    for (let i = 0; i < 30; i++) seen.push(a.sample(ok(100, 2), (t += 10)));
    const firstAtMin = seen.indexOf(2);
    expect(firstAtMin).toBeGreaterThan(0);
    expect(seen.slice(0, firstAtMin).every((l, k) => k === 0 || l <= seen[k - 1]!)).toBe(true);
    expect(seen.slice(firstAtMin, firstAtMin + 5)).toEqual([2, 2, 2, 2, 2]);
    expect(a.limit).toBeGreaterThan(2);
  });
  it('validates', () => {
    expect(() => envoyGradientLimit({ jitter: 2 })).toThrow(/jitter/);
    expect(() => envoyGradientLimit({ minConcurrency: 10, maxLimit: 5 })).toThrow(/maxLimit/);
    expect(() => envoyGradientLimit({ percentile: 0 })).toThrow(/percentile/);
  });
});
