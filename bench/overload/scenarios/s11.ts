/** Overload scenario S11: a long incident, 10 minutes at 2 × C (the baseline-drift test; shared helpers in common.ts). */
import { exponential, simulate, type SimResult } from '../../../src/sim/index.js';
import { C, type ChartData, type Scenario, type Col, perSeed, policyTable, medianOf, base, pct } from './common.js';

export const S11: Scenario = {
  id: 'S11',
  title: 'Long incident: 10 minutes at 2 × C (baseline drift)',
  async run(ctx) {
    const durationMs = ctx.quick ? 180_000 : 600_000;
    const early: [number, number] = [10_000, 70_000];
    const late: [number, number] = [durationMs - 60_000, durationMs];
    const cols: Col[] = [
      { key: 'limitEarly', label: `mean limit, ${early[0] / 1000}–${early[1] / 1000} s`, better: 'low', digits: 1 },
      { key: 'limitLate', label: `mean limit, last minute`, better: 'low', digits: 1 },
      { key: 'p99Early', label: 'p99 early (ms)', better: 'low', digits: 0 },
      { key: 'p99Late', label: 'p99 last minute (ms)', better: 'low', digits: 0 },
      { key: 'goodLate', label: 'goodput last minute (% C)', better: 'high' },
    ];
    const policies = ctx.policies.filter((p) => p.id.startsWith('adaptive-') || p.id === 'static-40');
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's11-drift', title: 'S11 long incident: λ = 2 C for 10 minutes (limit and p99 over time)', lines: [], marks: [] };
    for (const p of policies) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S11 ${p.id}`, async (seed) => {
        const r = await simulate({ ...base(seed, durationMs), bucketMs: 1000, load: { perSecond: 2 * C }, downstream: { workers: 40, service: exponential(40) }, policy: p.build });
        kept ??= r;
        const e = r.window(...early);
        const l = r.window(...late);
        return { limitEarly: e.meanLimit, limitLate: l.meanLimit, p99Early: e.latency.p99, p99Late: l.latency.p99, goodLate: pct(l.goodputPerSecond / C) };
      });
      rows.push({ label: p.label, values });
      if ((p.id === 'adaptive-sluice' || p.id === 'adaptive-gradient2' || p.id === 'adaptive-envoy') && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }
    return {
      id: 'S11',
      title: this.title,
      setup: `λ = 2 C = 2000 rps for ${durationMs / 60_000} minutes on the canonical model (exp(40 ms), c = 40, D = 1 s); the early window is ${early[0] / 1000}–${early[1] / 1000} s, the late one the last minute.`,
      explain:
        'The failure reported for failsafe-go (failsafe-go/failsafe-go#127): in a long overload a limiter whose latency baseline is a moving average sees the baseline creep up to the overloaded latency, its gradient return to 1, and its limit stop falling or rise again. ' +
        `Gradient2 shows it here: its mean limit goes from ${medianOf(ctx, rows, 'adaptive-gradient2', 'limitEarly')} in the first minute to ${medianOf(ctx, rows, 'adaptive-gradient2', 'limitLate')} in the last, and its p99 from ${medianOf(ctx, rows, 'adaptive-gradient2', 'p99Early', 0)} to ${medianOf(ctx, rows, 'adaptive-gradient2', 'p99Late', 0)} ms. ` +
        `sluice's baseline is raised only by a cut that failed to lower the RTT, so its limit stays put (${medianOf(ctx, rows, 'adaptive-sluice', 'limitEarly')} → ${medianOf(ctx, rows, 'adaptive-sluice', 'limitLate')}, p99 ${medianOf(ctx, rows, 'adaptive-sluice', 'p99Early', 0)} → ${medianOf(ctx, rows, 'adaptive-sluice', 'p99Late', 0)} ms).`,
      tables: [policyTable(cols, rows, [['**ideal** (no drift)', 'L* ≈ 43', 'same as early', '186', '186', '100']])],
      charts: [chart],
      notes: [],
    };
  },
};
