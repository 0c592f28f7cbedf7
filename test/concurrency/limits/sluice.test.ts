import { describe, expect, it } from 'vitest';
import { sluiceLimit } from '../../../src/concurrency/limits/index.js';

/**
 * Feeds `sluiceLimit` the samples of a dependency with `workers` workers of fixed service time `serviceMs`: every
 * `stepMs` the calls in flight are those the limit allows (or `demand`, when less), and each completes after the
 * service time plus the wait its excess over the workers implies (Little's law: (n − c) / c service times).
 */
function drive(algo: ReturnType<typeof sluiceLimit>, o: { workers: number; serviceMs: number; demand: number; fromMs: number; toMs: number }): number[] {
  const limits: number[] = [];
  for (let t = o.fromMs; t < o.toMs; t += 5) {
    const n = Math.min(algo.limit, o.demand);
    const rtt = o.serviceMs * Math.max(1, n / o.workers);
    // Completions in these 5 ms: n / rtt per ms, each started rtt ago.
    const k = Math.max(1, Math.round((5 * n) / rtt));
    for (let i = 0; i < k; i++) algo.sample({ rttMs: rtt, inflight: n, dropped: false }, t + (5 * i) / k);
    limits.push(algo.limit);
  }
  return limits;
}

describe('sluiceLimit', () => {
  it('validates its options', () => {
    expect(() => sluiceLimit({ queue: 0 })).toThrow(/"queue"/);
    expect(() => sluiceLimit({ headroom: 0.5 })).toThrow(/headroom/);
    expect(() => sluiceLimit({ minWindowMs: 0 })).toThrow(/minWindowMs/);
    expect(() => sluiceLimit({ minWindowMs: 100, maxWindowMs: 50 })).toThrow(/maxWindowMs/);
    expect(() => sluiceLimit({ minSamples: 0 })).toThrow(/minSamples/);
    expect(() => sluiceLimit({ window: 3 } as never)).toThrow(/unknown option "window"/);
    expect(sluiceLimit()).toMatchObject({ name: 'sluice', limit: 20, min: 1, max: 1000 });
  });

  it('settles at the workers plus the queue allowance, under any demand above it', () => {
    const algo = sluiceLimit({ queue: 4 });
    const limits = drive(algo, { workers: 40, serviceMs: 40, demand: 1000, fromMs: 0, toMs: 30_000 });
    const late = limits.slice(-2000);
    expect(Math.min(...late)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...late)).toBeLessThanOrEqual(48);
    expect(algo.baseRttMs).toBeCloseTo(40, 0);
  });

  it('cuts to the new workers when half of them go (latency rose by queueing)', () => {
    const algo = sluiceLimit({ queue: 4 });
    drive(algo, { workers: 40, serviceMs: 40, demand: 1000, fromMs: 0, toMs: 20_000 });
    const after = drive(algo, { workers: 20, serviceMs: 40, demand: 1000, fromMs: 20_000, toMs: 40_000 }).slice(-1000);
    expect(Math.max(...after)).toBeLessThanOrEqual(28);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(20);
    expect(algo.baseRttMs).toBeCloseTo(40, 0);
  });

  it('keeps the limit when the dependency only gets slower: a cut that does not lower the RTT raises the baseline', () => {
    const algo = sluiceLimit({ queue: 4 });
    drive(algo, { workers: 40, serviceMs: 40, demand: 1000, fromMs: 0, toMs: 20_000 });
    const after = drive(algo, { workers: 40, serviceMs: 80, demand: 1000, fromMs: 20_000, toMs: 40_000 }).slice(-1000);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(38);
    expect(algo.baseRttMs).toBeGreaterThan(70);
  });

  it('does not drift in a long overload: the limit after 10 minutes is the limit after 1', () => {
    const algo = sluiceLimit({ queue: 4 });
    const limits = drive(algo, { workers: 40, serviceMs: 40, demand: 2000, fromMs: 0, toMs: 600_000 });
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(limits.slice(12_000, 24_000));
    const late = mean(limits.slice(-12_000));
    expect(Math.abs(late - early)).toBeLessThanOrEqual(1);
  });

  it('bounds its headroom by what is used: an idle dependency does not get an unbounded limit', () => {
    const algo = sluiceLimit({ initialLimit: 10 });
    // 3 calls in flight, never the limit: the limit rises to max(initialLimit, 2 × 3) and no further.
    for (let t = 0; t < 60_000; t += 10) algo.sample({ rttMs: 30, inflight: 3, dropped: false }, t);
    expect(algo.limit).toBe(10);
    const big = sluiceLimit({ initialLimit: 5, maxLimit: 500 });
    for (let t = 0; t < 60_000; t += 1) big.sample({ rttMs: 30, inflight: 40, dropped: false }, t);
    expect(big.limit).toBe(80);
  });

  it('adapts at low rates: a window closes after maxWindowMs with whatever samples it has', () => {
    const algo = sluiceLimit({ initialLimit: 4, minSamples: 20 });
    // 2 calls per second, every one finding the limit reached with 2 × the base RTT (a queue of the limit's size).
    const limits: number[] = [];
    for (let t = 0; t < 30_000; t += 500) {
      algo.sample({ rttMs: t < 5000 ? 100 : 400, inflight: algo.limit, dropped: false }, t);
      limits.push(algo.limit);
    }
    // It updated (once per second), not after 20 samples (10 s).
    expect(new Set(limits.slice(0, 12)).size).toBeGreaterThan(1);
  });

  it('backs off on drops (timeouts, pushback) in proportion, beyond a small tail', () => {
    const algo = sluiceLimit({ initialLimit: 100, maxLimit: 200, minWindowMs: 10, minSamples: 10 });
    for (let t = 0; t < 200; t++) algo.sample({ rttMs: 5, inflight: 100, dropped: t % 2 === 0 }, t);
    expect(algo.limit).toBeLessThan(30);
    const tail = sluiceLimit({ initialLimit: 100, maxLimit: 200, minWindowMs: 10, minSamples: 10 });
    for (let t = 0; t < 200; t++) tail.sample({ rttMs: 5, inflight: 100, dropped: t % 100 === 0 }, t);
    expect(tail.limit).toBeGreaterThanOrEqual(100);
  });
});
