/** Overload scenario S14: shapes nobody tuned on (other workers, service distributions and load shapes; helpers in common.ts). */
import { bimodal, deterministic, exponential, lognormal, simulate } from '../../../src/sim/index.js';
import { type Scenario, type Col, perSeed, policyTable, pct } from './common.js';


export const S14: Scenario = {
  id: 'S14',
  title: 'Shapes nobody tuned on',
  async run(ctx) {
    const durationMs = ctx.quick ? 30_000 : 60_000;
    const cases = [
      { id: 'c10', label: 'c = 10, exp(40 ms), 3 × C', workers: 10, service: exponential(40), capacity: 250, load: 750 },
      { id: 'c200', label: 'c = 200, exp(100 ms), 3 × C', workers: 200, service: exponential(100), capacity: 2000, load: 6000 },
      { id: 'ln15', label: 'c = 40, lognormal σ = 1.5 (mean 40 ms), 3 × C', workers: 40, service: lognormal(40, 1.5), capacity: 1000, load: 3000 },
      { id: 'bimodal', label: 'c = 40, bimodal 10 ms / 310 ms (10 %), 3 × C', workers: 40, service: bimodal({ fastMs: 10, slowMs: 310, slowFraction: 0.1 }), capacity: 1000, load: 3000 },
      { id: 'det', label: 'c = 40, constant 40 ms, 3 × C', workers: 40, service: deterministic(40), capacity: 1000, load: 3000 },
      { id: 'c40-1.1', label: 'c = 40, exp(40 ms), 1.1 × C', workers: 40, service: exponential(40), capacity: 1000, load: 1100 },
    ];
    const cols: Col[] = cases.flatMap((c) => [
      { key: `${c.id}g`, label: `${c.label}: goodput (% C)`, better: 'high' as const },
      { key: `${c.id}p`, label: 'p99 (ms)', better: 'low' as const, digits: 0 },
    ]);
    const policies = ctx.policies.filter((p) => p.id.startsWith('adaptive-') || p.id === 'static-40');
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of policies) {
      const values = await perSeed(ctx, `S14 ${p.id}`, async (seed) => {
        const out: Record<string, number> = {};
        for (const c of cases) {
          const r = await simulate({ seed, durationMs, warmupMs: 10_000, deadlineMs: 1000 + 10 * c.service.meanMs, downstream: { workers: c.workers, service: c.service }, load: { perSecond: c.load }, policy: p.build });
          out[`${c.id}g`] = pct(r.summary.goodputPerSecond / c.capacity);
          out[`${c.id}p`] = r.summary.latency.p99;
        }
        return out;
      });
      rows.push({ label: p.label, values });
    }
    return {
      id: 'S14',
      title: this.title,
      setup: `Worker counts, service-time distributions and loads the defaults were not tuned on: ${cases.map((c) => c.label).join('; ')}. Deadline 1 s + 10 mean service times; ${durationMs / 1000} s after 10 s of warm-up. A bulkhead L = 40 is the right static limit only where c = 40.`,
      explain:
        'The defaults must hold where nobody looked. A static limit right for 40 workers is far too high for 10 (latency) and far too low for 200 (goodput); the adaptive limiters find each. Heavy-tailed and bimodal service times are where a minimum-RTT estimate fed raw samples goes wrong.',
      tables: [policyTable(cols, rows)],
      charts: [],
      notes: [],
    };
  },
};
