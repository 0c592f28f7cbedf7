/** Overload scenario S3 and S4: capacity loss by worker loss and by slowdown (the model and the shared helpers are in common.ts). */
import { convergenceTimeMs, exponential, simulate, type SimResult } from '../../../src/sim/index.js';
import { type ChartData, type ScenarioOutput, type Scenario, type Col, perSeed, policyTable, medianOf, base, pct, recoveryMs, featured } from './common.js';

export function capacityScenario(id: 'S3' | 'S4', title: string): Scenario {
  return {
    id,
    title,
    async run(ctx) {
      const [dropAt, restoreAt, durationMs] = ctx.quick ? [20_000, 50_000, 70_000] : [60_000, 120_000, 180_000];
      const change = id === 'S3' ? { workers: 20 } : { serviceScale: 2 };
      const restore = id === 'S3' ? { workers: 40 } : { serviceScale: 1 };
      const idealP99 = id === 'S3' ? 186 : 368;
      const cols: Col[] = [
        { key: 'good', label: 'goodput during loss (% of new C)', better: 'high' },
        { key: 'p99', label: 'p99 during loss (ms)', better: 'low', digits: 0 },
        { key: 'conv', label: 'converge after loss (s)', better: 'low', digits: 2 },
        { key: 'recover', label: '≥ 95 % of λ after restore (s)', better: 'low', digits: 2 },
        { key: 'limit', label: 'mean limit during loss', better: 'low', digits: 0 },
      ];
      const rows: { label: string; values: Record<string, number[]> }[] = [];
      const chart: ChartData = { id: `${id.toLowerCase()}-capacity`, title: `${id} ${title}: λ = 800 rps, capacity 1000 → 500 → 1000 rps`, lines: [], marks: [dropAt, restoreAt] };
      const feat = featured(ctx).map((p) => p.id);
      for (const p of ctx.policies) {
        let kept: SimResult | undefined;
        const values = await perSeed(ctx, `${id} ${p.id}`, async (seed) => {
          const r = await simulate({
            ...base(seed, durationMs),
            downstream: { workers: 40, service: exponential(40), changes: [{ atMs: dropAt, ...change }, { atMs: restoreAt, ...restore }] },
            load: { perSecond: 800 },
            policy: p.build,
          });
          kept ??= r;
          const during = r.window(dropAt + (restoreAt - dropAt) / 3, restoreAt);
          const ideal = (t: number): number => (t >= dropAt && t < restoreAt ? 500 : 800);
          return {
            good: pct(during.goodputPerSecond / 500),
            p99: during.latency.p99,
            conv: convergenceTimeMs(r.series, { afterMs: dropAt, idealGoodputPerSecond: ideal, idealP99Ms: idealP99 }) / 1000,
            recover: recoveryMs(r.series, restoreAt, 800, 0.95, 3000) / 1000,
            limit: during.meanLimit,
          };
        });
        rows.push({ label: p.label, values });
        if (feat.includes(p.id) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
      }
      const out: ScenarioOutput = {
        id,
        title,
        setup:
          id === 'S3'
            ? `λ = 800 rps; c: 40 → 20 at ${dropAt / 1000} s, back to 40 at ${restoreAt / 1000} s; exp(40 ms), D = 1 s. Loss window measured over its last two thirds.`
            : `λ = 800 rps; E[S]: 40 → 80 ms at ${dropAt / 1000} s (c stays 40), back at ${restoreAt / 1000} s; D = 1 s.`,
        tables: [
          policyTable(cols, rows, [
            ['**ideal**', '100', String(idealP99), '≈ 0', '0', id === 'S3' ? 'L* = 20 + q' : 'L* = 40 (unchanged)'],
            [id === 'S3' ? 'target (T5)' : 'target (T6)', id === 'S3' ? '≥ 97' : '≥ 90', id === 'S3' ? '≤ 230' : '≤ 460', id === 'S3' ? '≤ 2' : '—', id === 'S3' ? '≤ 3' : '—', '—'],
          ]),
        ],
        explain:
          id === 'S3'
            ? `Half the workers go away. A bulkhead L = 40 is above the new ideal limit (L* ≈ 20 + q) but only by 20 queued calls, so goodput holds (${medianOf(ctx, rows, 'static-40', 'good')} % of the new capacity) at a p99 of ${medianOf(ctx, rows, 'static-40', 'p99', 0)} ms; ` +
              'larger limits keep goodput but let the queue, and p99, grow with the limit. The rate limits (buckets at 950/s) stay above the new capacity of 500 rps, so the downstream collapses behind them as it does unprotected: a rate limit does not follow capacity. ' +
              `A limit that follows capacity is what T5 asks for: sluice's adaptive limiter comes down to ${medianOf(ctx, rows, 'adaptive-sluice', 'limit', 0)} on average during the loss (p99 ${medianOf(ctx, rows, 'adaptive-sluice', 'p99', 0)} ms), converging ${medianOf(ctx, rows, 'adaptive-sluice', 'conv', 2)} s after it (T5: ≤ 2 s) and back to 95 % of demand ${medianOf(ctx, rows, 'adaptive-sluice', 'recover', 2)} s after the restore (T5: ≤ 3 s); Gradient2 comes down too (${medianOf(ctx, rows, 'adaptive-gradient2', 'limit', 0)}), AIMD stays at its maximum (${medianOf(ctx, rows, 'adaptive-aimd', 'limit', 0)}: no drops, no signal), Envoy's pinned probes cost it goodput (${medianOf(ctx, rows, 'adaptive-envoy', 'good')} %).`
            : `Each call takes twice as long, with the same workers. The ideal concurrency limit does not change (L* = 40), so a bulkhead L = 40 stays right (${medianOf(ctx, rows, 'static-40', 'good')} % of the new capacity, p99 ${medianOf(ctx, rows, 'static-40', 'p99', 0)} ms). ` +
              'The S4b table is the other half of the ambiguity: when the dependency is slower but has twice the workers, L = 40 rejects 40 % of a load that the dependency could serve. A static limit is right in one case and wrong in the other; telling them apart needs a throughput signal, not only latency (as in Protego: I. Cho et al., NSDI 2023; and the adaptive limiter of failsafe-go, https://github.com/failsafe-go/failsafe-go). ' +
              `The latency-gradient limiters read the slowdown as a queue and cut: Gradient2 keeps ${medianOf(ctx, rows, 'adaptive-gradient2', 'good')} % of the new capacity, Envoy ${medianOf(ctx, rows, 'adaptive-envoy', 'good')} %, Vegas ${medianOf(ctx, rows, 'adaptive-vegas', 'good')} %. sluice's limiter treats its cut as an experiment: the RTT of the attempts started after it did not fall while throughput fell with the limit, so the rise was slower work, and it raises its baseline instead (${medianOf(ctx, rows, 'adaptive-sluice', 'good')} % of the new capacity, T6: ≥ 90 %, stretch 95 %; mean limit ${medianOf(ctx, rows, 'adaptive-sluice', 'limit', 0)}). In S4b the same limiter lets the doubled workers be used.`,
        charts: [chart],
        notes: [],
      };
      if (id === 'S4') {
        const b: { label: string; values: Record<string, number[]> }[] = [];
        for (const p of ctx.policies) {
          const values = await perSeed(ctx, `S4b ${p.id}`, async (seed) => {
            const r = await simulate({
              ...base(seed, durationMs),
              downstream: { workers: 40, service: exponential(40), changes: [{ atMs: dropAt, workers: 80, serviceScale: 2 }, { atMs: restoreAt, workers: 40, serviceScale: 1 }] },
              load: { perSecond: 800 },
              policy: p.build,
            });
            const during = r.window(dropAt + (restoreAt - dropAt) / 3, restoreAt);
            return { good: during.goodputPerSecond, rej: pct(during.rejectionRate), p99: during.latency.p99 };
          });
          b.push({ label: p.label, values });
        }
        out.tables.push({
          caption: 'S4b: 2× slower but c doubles to 80, so capacity is unchanged and no shedding is needed',
          ...policyTable(
            [
              { key: 'good', label: 'goodput (rps)', better: 'high', digits: 0 },
              { key: 'rej', label: 'rejected (%)', better: 'low', digits: 2 },
              { key: 'p99', label: 'p99 (ms)', better: 'low', digits: 0 },
            ],
            b,
            [
              ['**ideal**', '800', '0', '≈ 370'],
              ['target (T6)', '—', '≤ 0.5', '—'],
            ],
          ),
        });
      }
      return out;
    },
  };
}
