import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../src/concurrency/index.js';
import { exponential, simulate } from '../../src/sim/index.js';
import { mmcl, rel } from './theory.js';

// Behind a static concurrency limit the simulator must reproduce the M/M/c/L loss-and-delay system of queueing theory: open Poisson
// arrivals, rejection when L calls are in flight, c = 40 exponential workers of mean 40 ms.
describe('simulate (theory: M/M/c/L behind a static bulkhead)', () => {
  const cases: [limit: number, load: number][] = [
    [43, 3],
    [40, 1.2],
    [200, 3],
  ];
  for (const [limit, load] of cases) {
    it(`reproduces goodput and p99 at L = ${limit} and ${load}× C`, async () => {
      const ref = mmcl(40, limit, 40, load * 1000);
      const r = await simulate({
        seed: 5,
        durationMs: 60_000,
        warmupMs: 5_000,
        downstream: { workers: 40, service: exponential(40) },
        load: { perSecond: load * 1000 },
        policy: ({ clock }) => bulkhead({ limit, maxQueue: 0, clock }),
      });
      const s = r.summary;
      const utilisation = s.busyMs / (40 * (s.toMs - s.fromMs));
      console.log(
        `L=${limit} at ${load}× C: goodput ${((100 * s.goodputPerSecond) / 1000).toFixed(2)} % of C (theory ${((100 * ref.goodputPerSecond) / 1000).toFixed(2)} %), ` +
          `worker utilisation ${(100 * utilisation).toFixed(2)} %, p99 ${s.latency.p99.toFixed(1)} ms (theory ${ref.p99.toFixed(1)}), rejected ${JSON.stringify(s.rejectedBy)}`,
      );
      // Completions over 55 s at saturation are Poisson-like (σ ≈ 0.43 %): goodput gets a 3σ band; the busy time of the
      // 40 workers, which theory says equals goodput / C, is far less noisy and gets a tight one.
      expect(rel(s.goodputPerSecond, ref.goodputPerSecond)).toBeLessThan(0.015);
      expect(rel(utilisation, ref.goodputPerSecond / 1000)).toBeLessThan(0.003);
      expect(rel(s.latency.p99, ref.p99)).toBeLessThan(0.04);
      expect(s.timeouts).toBe(0);
      expect(Object.keys(s.rejectedBy)).toEqual(['CONCURRENCY_LIMITED']);
      expect(s.meanLimit).toBe(limit);
      expect(s.meanInflight).toBeLessThanOrEqual(limit);
    });
  }
});
