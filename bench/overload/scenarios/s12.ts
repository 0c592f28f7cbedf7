/** Overload scenario S12: event-loop stalls in the caller's process (the shared helpers are in common.ts). */
import { exponential, simulate } from '../../../src/sim/index.js';
import { adaptivePolicies, type PolicyEntry } from '../policies.js';
import { C, type Scenario, type Col, perSeed, policyTable, base, pct } from './common.js';

export const S12: Scenario = {
  id: 'S12',
  title: 'Event-loop stalls in the caller (local CPU, not the dependency)',
  async run(ctx) {
    const durationMs = ctx.quick ? 30_000 : 60_000;
    const patterns = [
      { id: '100/1000', label: '100 ms stall every 1 s', len: 100, every: 1000 },
      { id: '50/250', label: '50 ms stall every 250 ms (20 % of the time)', len: 50, every: 250 },
    ];
    const cols: Col[] = [
      { key: 'good08', label: 'goodput at 0.8 C (% of λ)', better: 'high' },
      { key: 'rej08', label: 'rejected at 0.8 C (%)', better: 'low', digits: 2 },
      { key: 'good3', label: 'goodput at 3 C (% C)', better: 'high' },
      { key: 'limit3', label: 'mean limit at 3 C', better: 'low', digits: 0 },
    ];
    const withoutDiscount = await adaptivePolicies({ discountEventLoopDelay: false }, '-nodiscount', ', event-loop delay not discounted');
    const policies: PolicyEntry[] = [];
    const adaptive = ctx.policies.filter((p) => p.id.startsWith('adaptive-'));
    for (const p of adaptive) {
      policies.push(p);
      const twin = withoutDiscount.find((q) => q.id === `${p.id}-nodiscount`);
      if (twin !== undefined) policies.push(twin);
    }
    const tables = [];
    for (const pat of patterns) {
      const stalls = Array.from({ length: Math.floor(durationMs / pat.every) }, (_, k) => ({ atMs: pat.every * k + pat.every / 2, durationMs: pat.len }));
      const rows: { label: string; values: Record<string, number[]> }[] = [];
      for (const p of policies) {
        const values = await perSeed(ctx, `S12 ${pat.id} ${p.id}`, async (seed) => {
          const at = async (perSecond: number) =>
            (await simulate({ ...base(seed, durationMs), warmupMs: 10_000, downstream: { workers: 40, service: exponential(40) }, load: { perSecond }, stalls, policy: p.build })).summary;
          const low = await at(0.8 * C);
          const high = await at(3 * C);
          return { good08: pct(low.goodputPerSecond / (0.8 * C)), rej08: pct(low.rejectionRate), good3: pct(high.goodputPerSecond / C), limit3: high.meanLimit };
        });
        rows.push({ label: p.label, values });
      }
      tables.push({ caption: `${pat.label}`, ...policyTable(cols, rows) });
    }
    return {
      id: 'S12',
      title: this.title,
      setup:
        `The canonical model with the caller's event loop blocked periodically (${patterns.map((p) => p.label).join('; ')}): nothing in the caller runs during a stall, and what fell due meanwhile (answers, arrivals, timers) runs when it ends; the dependency keeps working. Each adaptive limiter with its default event-loop discount and without it; ${durationMs / 1000} s runs after 10 s of warm-up.`,
      explain:
        'A stall makes every call in flight look slower by the stall, and queues the requests that arrived meanwhile into one burst. An adaptive limiter that reads the first as congestion cuts its limit for a dependency that is fine; the discount subtracts the event-loop delay measured while each call ran. ' +
        'The burst is real and no limiter can tell it apart from a demand spike: the rejections at 0.8 C come from the requests that queued during the stall arriving at once.',
      tables,
      charts: [],
      notes: [],
    };
  },
};
