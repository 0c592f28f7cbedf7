/** Overload scenario S2: flash crowd (demand step) (the model and the shared helpers are in common.ts). */
import { convergenceTimeMs, simulate, type SimResult } from '../../../src/sim/index.js';
import { C, type ChartData, type Scenario, type Col, perSeed, policyTable, medianOf, base, pct, peak, featured } from './common.js';

export const S2: Scenario = {
  id: 'S2',
  title: 'Flash crowd (demand step)',
  async run(ctx) {
    const [lowMs, highMs, tailMs] = ctx.quick ? [10_000, 20_000, 10_000] : [30_000, 60_000, 30_000];
    const up = lowMs;
    const down = lowMs + highMs;
    const durationMs = down + tailMs;
    const cols: Col[] = [
      { key: 'convUp', label: 'converge after up-step (s)', better: 'low', digits: 2 },
      { key: 'convDown', label: 'converge after down-step (s)', better: 'low', digits: 2 },
      { key: 'peakP99', label: 'peak bucket p99, first 5 s (ms)', better: 'low', digits: 0 },
      { key: 'good5', label: 'goodput first 5 s (% C)', better: 'high' },
      { key: 'falseRej', label: 'rejections after down-step (%)', better: 'low', digits: 2 },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's2-flash-crowd', title: 'S2 flash crowd: 0.5 C → 3 C → 0.5 C', lines: [], marks: [up, down] };
    const feat = featured(ctx).map((p) => p.id);
    for (const p of ctx.policies) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S2 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          load: { schedule: [{ atMs: 0, perSecond: 500 }, { atMs: up, perSecond: 3000 }, { atMs: down, perSecond: 500 }] },
          policy: p.build,
        });
        kept ??= r;
        const ideal = (t: number): number => (t >= up && t < down ? C : 500);
        const after = r.window(down + 1000, durationMs);
        return {
          convUp: convergenceTimeMs(r.series, { afterMs: up, idealGoodputPerSecond: ideal, idealP99Ms: 186 }) / 1000,
          convDown: convergenceTimeMs(r.series, { afterMs: down, idealGoodputPerSecond: ideal, idealP99Ms: 186 }) / 1000,
          peakP99: peak(r.series, up, up + 5000, (b) => b.p99Ms),
          good5: pct(r.window(up, up + 5000).goodputPerSecond / C),
          falseRej: pct(after.rejectionRate),
        };
      });
      rows.push({ label: p.label, values });
      if (feat.includes(p.id) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }
    return {
      id: 'S2',
      title: this.title,
      setup: `0.5 C for ${lowMs / 1000} s → 3 C for ${highMs / 1000} s → 0.5 C for ${tailMs / 1000} s; exp(40 ms), c = 40, D = 1 s. Convergence time: the first instant after which every 250 ms bucket of the next 1 s has ≥ 90 % of ideal goodput and p99 ≤ 1.5 × 186 ms.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '≈ 0.1', '0', '186', '100', '0'],
          ['target (T4)', '≤ 1', '—', '≤ 276', '≥ 95', '0 (1 s after)'],
        ]),
      ],
      explain:
        `Unprotected, the step to 3 × C collapses the downstream (goodput ${medianOf(ctx, rows, 'none', 'good5')} % of C in the first 5 s) and it never converges, not even after the load falls back, because the backlog of abandoned calls takes longer to drain than the run lasts. ` +
        `A static limit needs no learning, so it has no transient: a bulkhead L = 40 converges at once with a peak bucket p99 of ${medianOf(ctx, rows, 'static-40', 'peakP99', 0)} ms. ` +
        'A larger limit lets a standing queue form (L = 200: p99 above 1.5 × 186 ms for the whole step, so it never meets the convergence rule while overloaded). The buckets admit their configured 95 % of C at once. ' +
        'The breaker alone behaves as "none": overload makes calls slow, not failed (see S1).',
      charts: [chart],
      notes: [],
    };
  },
};
