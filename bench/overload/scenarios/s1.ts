/** Overload scenario S1: steady-state load sweep (the model and the shared helpers are in common.ts). */
import { exponential, lognormal, simulate, type ServiceTime } from '../../../src/sim/index.js';
import { type PolicyEntry } from '../policies.js';
import { C, type RunContext, type Scenario, median, fmt, cell, perSeed, base, pct } from './common.js';

/** One S1 sweep: a goodput table and a p99 · rejections table, plus the simulator's cost per policy. */
async function sweep(
  ctx: RunContext,
  name: string,
  service: ServiceTime,
  loads: number[],
  policies: PolicyEntry[],
  durationMs: number,
  warmupMs: number,
): Promise<{ good: string[][]; lat: string[][]; timing: string[]; p99: Map<string, number[]>; goodput: Map<string, number[]> }> {
  const good: string[][] = [];
  const lat: string[][] = [];
  const timing: string[] = [];
  const p99 = new Map<string, number[]>();
  const goodput = new Map<string, number[]>();
  for (const p of policies) {
    const g: string[] = [];
    const l: string[] = [];
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const x of loads) {
      const v = await perSeed(ctx, `S1 ${name} ${p.id} ${x}×C`, async (seed) => {
        const r = await simulate({ ...base(seed, durationMs), downstream: { workers: 40, service }, warmupMs, load: { perSecond: x * C }, policy: p.build });
        return {
          goodput: pct(r.summary.goodputPerSecond / C),
          p99: r.summary.latency.p99,
          rejected: pct(r.summary.rejectionRate),
        };
      });
      g.push(cell(v.goodput!, { key: '', label: '', better: 'high' }));
      l.push(`${cell(v.p99!, { key: '', label: '', better: 'low', digits: 0 })} · ${cell(v.rejected!, { key: '', label: '', better: 'low' })} %`);
      (p99.get(p.id) ?? p99.set(p.id, []).get(p.id)!).push(median(v.p99!));
      (goodput.get(p.id) ?? goodput.set(p.id, []).get(p.id)!).push(median(v.goodput!));
    }
    const cpu = process.cpuUsage(c0);
    timing.push(`${p.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
    good.push([p.label, ...g]);
    lat.push([p.label, ...l]);
  }
  return { good, lat, timing, p99, goodput };
}

/** Labels of the policies whose median goodput is ≥ 98 % of C and p99 ≤ `p99Ms` at every load ≥ 1.5 × C (T1). */
function meetsT1(
  r: { p99: Map<string, number[]>; goodput: Map<string, number[]> },
  loads: number[],
  policies: PolicyEntry[],
  p99Ms: number,
): string {
  const ok = policies.filter((p) =>
    loads.every((x, i) => x < 1.5 || ((r.goodput.get(p.id)?.[i] ?? 0) >= 98 && (r.p99.get(p.id)?.[i] ?? Infinity) <= p99Ms)),
  );
  return ok.length === 0 ? 'no policy' : ok.map((p) => p.label).join(', ');
}

export const S1: Scenario = {
  id: 'S1',
  title: 'Steady-state load sweep',
  async run(ctx) {
    const loads = ctx.quick ? [0.5, 0.8, 1.2, 3, 10] : [0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2, 3, 5, 10];
    const lnLoads = ctx.quick ? [0.7, 1.5, 3, 10] : [0.7, 1.5, 2, 3, 5, 10];
    const durationMs = ctx.quick ? 30_000 : 120_000;
    const warmupMs = ctx.quick ? 10_000 : 20_000;
    const exp = await sweep(ctx, 'exp', exponential(40), loads, ctx.policies, durationMs, warmupMs);
    const header = ['policy', ...loads.map((x) => `${x}×C`)];
    const rows = exp.good;
    const p99rows = exp.lat;
    rows.push(['**ideal** min(λ, C)', ...loads.map((x) => fmt(100 * Math.min(x, 1)))]);
    rows.push(['target (T1–T3)', ...loads.map((x) => (x >= 1.5 ? '≥ 98' : x >= 1.2 ? '≥ 96' : x <= 0.8 ? `${fmt(100 * x * (x <= 0.7 ? 0.999 : 0.995))} (rej ≤ ${x <= 0.7 ? 0.1 : 0.5} %)` : '—'))]);
    p99rows.push(['**ideal** (M/M/40 below C; L=43 above)', ...loads.map((x) => (x < 1 ? (x <= 0.7 ? '184' : x <= 0.8 ? '185' : x <= 0.9 ? '189' : '—') : '186'))]);
    p99rows.push(['target (T1, T2)', ...loads.map((x) => (x >= 1.2 ? '≤ 230' : '≤ 1.02× unprotected'))]);

    // Lognormal σ = 1: the breaker alone behaves as "none" (see the explanation), so it is not swept again.
    const lnPolicies = ctx.policies.filter((p) => p.id !== 'breaker');
    const ln = await sweep(ctx, 'lognormal', lognormal(40, 1), lnLoads, lnPolicies, durationMs, warmupMs);
    const lnHeader = ['policy', ...lnLoads.map((x) => `${x}×C`)];
    ln.good.push(['**ideal** min(λ, C)', ...lnLoads.map((x) => fmt(100 * Math.min(x, 1)))]);
    ln.good.push(['target (T1, T3)', ...lnLoads.map((x) => (x >= 1.5 ? '≥ 98' : `${fmt(100 * x * 0.999)} (rej ≤ 0.1 %)`))]);
    ln.lat.push(['**ideal** (≈ S₉₉ of lognormal σ=1)', ...lnLoads.map(() => '≈ 248')]);
    ln.lat.push(['target (T1)', ...lnLoads.map((x) => (x >= 1.5 ? '≤ 310' : '≤ 1.02× unprotected'))]);

    const gAt = (id: string, x: number): string => {
      const i = loads.indexOf(x);
      const v = exp.goodput.get(id)?.[i];
      return v === undefined ? '—' : fmt(v);
    };
    const pAt = (m: Map<string, number[]>, ls: number[], id: string, x: number, digits = 0): string => {
      const i = ls.indexOf(x);
      const v = m.get(id)?.[i];
      return v === undefined ? '—' : fmt(v, digits);
    };
    const hasBreaker = ctx.policies.some((p) => p.id === 'breaker');
    const top = loads[loads.length - 1]!;
    return {
      id: 'S1',
      title: this.title,
      setup: `Poisson arrivals at λ ∈ {${loads.join(', ')}} × C, ${durationMs / 1000} s each, summary after ${warmupMs / 1000} s warm-up; exp(40 ms), c = 40, D = 1 s. Second sweep: lognormal σ = 1 service (mean 40 ms, median 24 ms, S₉₉ ≈ 248 ms) at λ ∈ {${lnLoads.join(', ')}} × C.`,
      explain:
        `Unprotected, the downstream is fine below capacity and collapses above it: at 1.2 × C every call waits behind an ever-growing queue, callers give up at 1 s while the downstream keeps serving their abandoned calls, and goodput falls to ${gAt('none', 1.2)} % of C. ` +
        `Any admission control that keeps the downstream's queue bounded avoids the collapse: a bulkhead with L = 40 gives ${gAt('static-40', top)} % at ${top} × C with p99 ${pAt(exp.p99, loads, 'static-40', top)} ms (the ideal, from queueing theory for an M/M/40/L system, is L = 43; L = 40 pays for its lack of queue with Erlang loss near C, and L = 100 or 200 trade p99 for goodput), and the buckets hold goodput at their configured 95 % of C. ` +
        (hasBreaker
          ? `The circuit breaker alone does not protect here (${gAt('breaker', top)} % at ${top} × C): overload makes calls slow, not failed, and callers' own deadlines end them as aborts, which a breaker rightly ignores (an abort says nothing about the dependency's health, and counting them would let impatient callers open the circuit). A breaker is for a hard-down dependency (S10); graded overload needs a limiter in front, as the "breaker → bulkhead L=40" row shows. ` +
            'The breaker row is therefore not repeated in the lognormal sweep. '
          : '') +
        `With lognormal service the tail of a single call is already ≈ 248 ms, so the p99 bound of T1 (≤ 310 ms) leaves little room for queueing: at 3 × C, L = 40 keeps p99 at ${pAt(ln.p99, lnLoads, 'static-40', 3)} ms but reaches ${pAt(ln.goodput, lnLoads, 'static-40', 3, 1)} % of C (Erlang loss again: with no queue, a call is refused whenever all 40 permits are held), while L = 100 reaches ${pAt(ln.goodput, lnLoads, 'static-100', 3, 1)} % at a p99 of ${pAt(ln.p99, lnLoads, 'static-100', 3)} ms. ` +
        `Meeting both halves of T1 at every overload point from 1.5 × C (medians): ${meetsT1(exp, loads, ctx.policies, 230)} with exponential service; ${meetsT1(ln, lnLoads, lnPolicies, 310)} with lognormal service. ` +
        'A static limit that is right for one service-time distribution is not right for another; finding the limit is the adaptive limiters\' job.',
      tables: [
        { caption: 'Goodput, % of C (median over seeds, worst seed in parentheses)', header, rows },
        { caption: 'p99 of successes (ms) · rejected attempts (%)', header, rows: p99rows },
        { caption: 'Lognormal σ = 1 service: goodput, % of C', header: lnHeader, rows: ln.good },
        { caption: 'Lognormal σ = 1 service: p99 of successes (ms) · rejected attempts (%)', header: lnHeader, rows: ln.lat },
      ],
      charts: [],
      notes: [
        `Simulator cost of the exponential sweep, per policy (${loads.length} points × ${durationMs / 1000} s × ${ctx.seeds.length} seed(s)): ` + exp.timing.join('; ') + '.',
        `Lognormal sweep (${lnLoads.length} points): ` + ln.timing.join('; ') + '.',
      ],
    };
  },
};
