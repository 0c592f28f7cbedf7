import { describe, expect, it } from 'vitest';
import { simulate, exponential } from '../../src/sim/index.js';
import { mmc, rel } from './theory.js';

// The simulator must reproduce queueing theory before anyone trusts it (Erlang C: the M/M/c queue's waiting time).
describe('simulate (theory: M/M/c without a limiter)', () => {
  for (const rho of [0.5, 0.9]) {
    it(`reproduces the M/M/40 mean, p50 and p99 at ρ = ${rho} within a few percent`, async () => {
      const ref = mmc(40, 40, rho * 1000);
      const r = await simulate({
        seed: 11,
        durationMs: 80_000,
        warmupMs: 5_000,
        deadlineMs: Infinity,
        downstream: { workers: 40, service: exponential(40) },
        load: { perSecond: rho * 1000 },
      });
      const l = r.summary.latency;
      console.log(`M/M/40 ρ=${rho}: mean ${l.mean.toFixed(1)} (theory ${ref.mean.toFixed(1)}), p50 ${l.p50.toFixed(1)} (${ref.p50.toFixed(1)}), p99 ${l.p99.toFixed(1)} (${ref.p99.toFixed(1)})`);
      expect(rel(r.summary.goodputPerSecond, rho * 1000)).toBeLessThan(0.02);
      expect(rel(l.mean, ref.mean)).toBeLessThan(0.03);
      expect(rel(l.p50, ref.p50)).toBeLessThan(0.03);
      expect(rel(l.p99, ref.p99)).toBeLessThan(0.04);
      expect(r.summary.rejected).toBe(0);
      expect(r.summary.wastedMs).toBe(0);
    });
  }
});

describe('simulate (theory: no protection, deadlines, no server-side cancellation)', () => {
  for (const load of [1.2, 3]) {
    it(`collapses goodput to about 0 at ${load}× C once the backlog exceeds C·D`, async () => {
      // Backlog passes C·D = 1000 requests after 1000 / (λ − C) s (5 s at 1.2×); measure well after that.
      const r = await simulate({ seed: 3, durationMs: 30_000, warmupMs: 10_000, load: { perSecond: load * 1000 } });
      console.log(`no protection at ${load}× C: goodput ${r.summary.goodputPerSecond.toFixed(1)} rps, wasted ${(100 * r.summary.wastedFraction).toFixed(1)} %`);
      expect(r.summary.goodputPerSecond).toBeLessThan(10); // < 1 % of C
      expect(r.summary.throughputPerSecond).toBeGreaterThan(950); // the downstream is busy...
      expect(r.summary.wastedFraction).toBeGreaterThan(0.99); // ...on work nobody waits for
    });
  }

  it('keeps full goodput just below capacity, where the backlog stays bounded', async () => {
    const r = await simulate({ seed: 3, durationMs: 30_000, warmupMs: 5_000, load: { perSecond: 800 } });
    expect(rel(r.summary.goodputPerSecond, 800)).toBeLessThan(0.03);
    expect(r.summary.timeouts).toBe(0);
  });
});
