/** Overload scenario S13: low rates, 1–10 rps and a dependency of 2 workers (the shared helpers are in common.ts). */
import { exponential, simulate } from '../../../src/sim/index.js';
import { type Scenario, type Col, perSeed, policyTable, base, pct } from './common.js';

export const S13: Scenario = {
  id: 'S13',
  title: 'Low rates: a small dependency at 1–10 rps',
  async run(ctx) {
    const durationMs = ctx.quick ? 300_000 : 900_000;
    // c = 2 workers, 200 ms each: C = 10 rps; offered 5 rps, then 20 rps (2 ×), then 5 again.
    const [upAt, downAt] = [durationMs / 3, (2 * durationMs) / 3];
    const cols: Col[] = [
      { key: 'goodLow', label: 'served at 5 rps (% of arrivals)', better: 'high', digits: 2 },
      { key: 'rejLow', label: 'rejected at 5 rps (%)', better: 'low', digits: 2 },
      { key: 'goodHigh', label: 'goodput at 20 rps (% of C)', better: 'high' },
      { key: 'p99High', label: 'p99 at 20 rps (ms)', better: 'low', digits: 0 },
      { key: 'limitHigh', label: 'mean limit at 20 rps', better: 'low', digits: 1 },
      { key: 'goodAfter', label: 'served back at 5 rps (% of arrivals)', better: 'high', digits: 2 },
    ];
    const policies = ctx.policies.filter((p) => p.id === 'none' || p.id.startsWith('adaptive-'));
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of policies) {
      const values = await perSeed(ctx, `S13 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          deadlineMs: 5000,
          bucketMs: 5000,
          downstream: { workers: 2, service: exponential(200) },
          load: { schedule: [{ atMs: 0, perSecond: 5 }, { atMs: upAt, perSecond: 20 }, { atMs: downAt, perSecond: 5 }] },
          policy: p.build,
        });
        const low = r.window(60_000, upAt);
        const high = r.window(upAt + 60_000, downAt);
        const after = r.window(downAt + 60_000, durationMs);
        return {
          goodLow: pct(low.successes / low.arrivals),
          rejLow: pct(low.rejectionRate),
          goodHigh: pct(high.goodputPerSecond / 10),
          p99High: high.latency.p99,
          limitHigh: high.meanLimit,
          goodAfter: pct(after.successes / after.arrivals),
        };
      });
      rows.push({ label: p.label, values });
    }
    return {
      id: 'S13',
      title: this.title,
      setup: `A dependency of c = 2 workers with exponential service of mean 200 ms (C = 10 rps), callers' deadline 5 s; λ = 5 rps, then 20 rps (2 × C) from ${upAt / 1000} s to ${downAt / 1000} s, then 5 rps. Each phase is measured after its first minute.`,
      explain:
        'Windows that wait for 50 samples last 10 s at 5 rps; a limiter that only counts samples adapts slowly here. sluice closes a window after 100 ms once it holds 20 attempts, and after 1 s with whatever it has, so at these rates it updates every second on a handful of samples. ' +
        'The queue estimate X·(rtt − base) scales with the throughput X, so at a few requests per second the noise of a handful of RTTs moves it by a fraction of a call, and the limit follows the headroom rule; under overload the queue it estimates is real (calls wait seconds), and the limit comes down to the two workers plus the allowance. The ideal limit under overload is L* ≈ c + q = 2 + 3.',
      tables: [policyTable(cols, rows, [['**ideal**', '100', '0', '≈ 100', '≈ unloaded (≈ 1000)', '≈ 5', '100']])],
      charts: [],
      notes: [],
    };
  },
};
