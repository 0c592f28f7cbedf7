/**
 * Scenarios S1–S10 on the canonical model, an M/M/40 queue: c = 40 workers, exponential service with mean 40 ms
 * (C = 1000 rps), client deadline D = 1 s, no server-side cancellation. Ideals are queueing-theory limits (Erlang C
 * for the M/M/40 latency, the M/M/40/L queue for a perfect limiter, Little's law); targets T1–T12 are sluice's own
 * goals for its defaults. The experiment designs and their sources are listed in the header run.ts writes.
 */
import {
  convergenceTimeMs,
  exponential,
  jainIndex,
  maxMinFair,
  lognormal,
  occContention,
  ramp,
  simulate,
  type ContentionBackoff,
  type GroupSummary,
  type ServiceTime,
  type SimBucket,
  type SimResult,
  type SimulateOptions,
} from '../../src/sim/index.js';
import { constantBackoff, decorrelatedJitter, equalJitter, exponentialBackoff, fullJitter } from '../../src/retry/index.js';
import { heavierTenant } from './heavier.js';
import { breakerConfigs, countInversions, instrumentedBreaker, nestedRetryPipelines, queued, retryPipelines, type BreakerLog, type PolicyEntry } from './policies.js';

export const C = 1000;

/** A table of the report. */
export interface Table {
  caption?: string;
  header: string[];
  rows: string[][];
}

/** A time series to chart: one line per policy. */
export interface ChartData {
  id: string;
  title: string;
  lines: { policy: string; series: SimBucket[] }[];
  /** Vertical markers (events), ms. */
  marks: number[];
}

export interface ScenarioOutput {
  id: string;
  title: string;
  setup: string;
  /** What the figures show, in prose (generated with the figures, so a rerun keeps it true). */
  explain?: string;
  tables: Table[];
  charts: ChartData[];
  notes: string[];
}

export interface RunContext {
  policies: PolicyEntry[];
  seeds: number[];
  quick: boolean;
  progress: (line: string) => void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: RunContext): Promise<ScenarioOutput>;
}

// ---- helpers ------------------------------------------------------------------------------------------------------

type Direction = 'high' | 'low';
interface Col {
  key: string;
  label: string;
  better: Direction;
  digits?: number;
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 1): string => (Number.isNaN(x) ? '—' : x === Infinity ? '∞' : x.toFixed(digits));

/** "median (worst)" across seeds, the worst by the column's direction. */
function cell(values: number[], col: Col): string {
  const m = median(values);
  if (values.length <= 1) return fmt(m, col.digits);
  const defined = values.filter((x) => !Number.isNaN(x));
  const worst = defined.length === 0 ? NaN : col.better === 'high' ? Math.min(...defined) : Math.max(...defined);
  return `${fmt(m, col.digits)} (${fmt(worst, col.digits)})`;
}

async function perSeed(ctx: RunContext, label: string, fn: (seed: number) => Promise<Record<string, number>>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const seed of ctx.seeds) {
    const t0 = performance.now();
    const r = await fn(seed);
    ctx.progress(`${label} seed ${seed} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const [k, v] of Object.entries(r)) (out[k] ??= []).push(v);
  }
  return out;
}

function policyTable(cols: Col[], rows: { label: string; values: Record<string, number[]> }[], extra: string[][] = []): Table {
  return {
    header: ['policy', ...cols.map((c) => c.label)],
    rows: [...rows.map((r) => [r.label, ...cols.map((c) => cell(r.values[c.key] ?? [], c))]), ...extra],
  };
}

/** Median of one column of the row of policy `id` (looked up by its label), formatted; "—" when absent. */
function medianOf(ctx: RunContext, rows: { label: string; values: Record<string, number[]> }[], id: string, key: string, digits = 1): string {
  const label = ctx.policies.find((p) => p.id === id)?.label;
  const r = rows.find((x) => x.label === label);
  return r === undefined ? '—' : fmt(median(r.values[key] ?? []), digits);
}

const base = (seed: number, durationMs: number): Pick<SimulateOptions, 'seed' | 'durationMs' | 'deadlineMs' | 'downstream'> => ({
  seed,
  durationMs,
  deadlineMs: 1000,
  downstream: { workers: 40, service: exponential(40) },
});

const pct = (x: number): number => 100 * x;

/** Peak of a bucket field over [from, to). */
function peak(series: SimBucket[], from: number, to: number, f: (b: SimBucket) => number): number {
  let m = NaN;
  for (const b of series) if (b.tMs >= from && b.tMs < to && !Number.isNaN(f(b))) m = Number.isNaN(m) ? f(b) : Math.max(m, f(b));
  return m;
}

/**
 * Recovery time after an event (S5): the first t ≥ `afterMs` such that mean goodput over [t, t + holdMs] is
 * ≥ `fraction` · target. Averaged over the hold rather than per bucket, so Poisson noise in single 250 ms buckets
 * does not hide a recovery. Returns ms after the event, or Infinity.
 */
function recoveryMs(series: SimBucket[], afterMs: number, targetPerSecond: number, fraction = 0.95, holdMs = 5000): number {
  if (series.length < 2) return Infinity;
  const bucketMs = series[1]!.tMs - series[0]!.tMs;
  const n = Math.max(1, Math.round(holdMs / bucketMs));
  const start = series.findIndex((b) => b.tMs >= afterMs);
  if (start < 0) return Infinity;
  let sum = 0;
  for (let i = start; i < series.length; i++) {
    sum += series[i]!.goodputPerSecond;
    if (i - start >= n) sum -= series[i - n]!.goodputPerSecond;
    if (i - start + 1 >= n && sum / n >= fraction * targetPerSecond) return series[i - n + 1]!.tMs - afterMs;
  }
  return Infinity;
}

const featured = (ctx: RunContext): PolicyEntry[] => {
  const none = ctx.policies.find((p) => p.id === 'none');
  const f = ctx.policies.filter((p) => p.featured);
  const fallback = ctx.policies.find((p) => p.id === 'token-bucket');
  return [none, ...(f.length > 0 ? f : fallback ? [fallback] : [])].filter((p): p is PolicyEntry => p !== undefined);
};

// ---- S1 -----------------------------------------------------------------------------------------------------------

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

const S1: Scenario = {
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

// ---- S2 -----------------------------------------------------------------------------------------------------------

const S2: Scenario = {
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

// ---- S3 / S4 ------------------------------------------------------------------------------------------------------

function capacityScenario(id: 'S3' | 'S4', title: string): Scenario {
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
              'A limit that follows capacity (an adaptive limiter, not built yet) is what T5 asks for.'
            : `Each call takes twice as long, with the same workers. The ideal concurrency limit does not change (L* = 40), so a bulkhead L = 40 stays right (${medianOf(ctx, rows, 'static-40', 'good')} % of the new capacity, p99 ${medianOf(ctx, rows, 'static-40', 'p99', 0)} ms). ` +
              'The S4b table is the other half of the ambiguity: when the dependency is slower but has twice the workers, L = 40 rejects 40 % of a load that the dependency could serve. A static limit is right in one case and wrong in the other; telling them apart needs a throughput signal, not only latency (as in Protego: I. Cho et al., NSDI 2023; and the adaptive limiter of failsafe-go, https://github.com/failsafe-go/failsafe-go), which adaptive limiters will have to show here.',
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

// ---- S5 -----------------------------------------------------------------------------------------------------------

const fullJitterClient = (baseMs: number, capMs: number) => (attempt: number, random: () => number) => random() * Math.min(capMs, baseMs * 2 ** (attempt - 2));

const S5: Scenario = {
  id: 'S5',
  title: 'Retry storm and metastability',
  async run(ctx) {
    const [from, to, durationMs] = ctx.quick ? [20_000, 30_000, 80_000] : [30_000, 40_000, 150_000];
    const variants = [
      { id: 'no-retry', label: 'no retries', retry: undefined },
      { id: 'retry', label: '3 retries, no backoff', retry: { maxAttempts: 4, retryRejected: true } },
      { id: 'jitter', label: '3 retries, full jitter 50 ms..1 s', retry: { maxAttempts: 4, retryRejected: true, backoffMs: fullJitterClient(50, 1000) } },
    ];
    const cols: Col[] = [
      { key: 'during', label: 'goodput during trigger (% of 500)', better: 'high' },
      { key: 'after', label: `goodput +5..+20 s (% of λ)`, better: 'high' },
      { key: 'late', label: 'goodput at the end (% of λ)', better: 'high' },
      { key: 'amp', label: 'amplification A', better: 'low', digits: 2 },
      { key: 'ampTrigger', label: 'A during trigger', better: 'low', digits: 2 },
      { key: 'recover', label: 'recovery after trigger (s)', better: 'low', digits: 1 },
      { key: 'backlog', label: 'peak downstream backlog', better: 'low', digits: 0 },
    ];
    type Trigger = 'halve' | 'down';
    const run = async (
      label: string,
      build: PolicyEntry['build'],
      load: SimulateOptions['load'],
      opts: { cancel?: boolean; trigger?: Trigger } = {},
    ): Promise<{ values: Record<string, number[]>; kept: SimResult | undefined }> => {
      let kept: SimResult | undefined;
      const trigger = opts.trigger ?? 'halve';
      const values = await perSeed(ctx, `S5 ${label}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: {
            workers: 40,
            service: exponential(40),
            ...(trigger === 'halve' ? { changes: [{ atMs: from, workers: 20 }, { atMs: to, workers: 40 }] } : { down: [{ fromMs: from, toMs: to }] }),
            ...(opts.cancel === true ? { cancelExpired: true } : {}),
          },
          load,
          policy: build,
        });
        kept ??= r;
        return {
          during: pct(r.window(from, to).goodputPerSecond / 500),
          after: pct(r.window(to + 5000, to + 20_000).goodputPerSecond / 900),
          late: pct(r.window(durationMs - 30_000, durationMs).goodputPerSecond / 900),
          amp: r.summary.amplification,
          ampTrigger: r.window(from, to).amplification,
          recover: recoveryMs(r.series, to, 900) / 1000,
          backlog: peak(r.series, 0, durationMs, (b) => b.downstreamQueued),
        };
      });
      return { values, kept };
    };
    const clientLoad = (v: (typeof variants)[number]): SimulateOptions['load'] => (v.retry === undefined ? { perSecond: 900 } : { perSecond: 900, retry: v.retry });
    // One call may take up to 4 attempts of 1 s each (the timeout policy); the caller's deadline covers them all.
    const pipelineLoad: SimulateOptions['load'] = { perSecond: 900, deadlineMs: 4000 };

    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's5-retry-storm', title: 'S5 retry storm: λ = 900 rps, 3 retries without backoff, c = 20 during the trigger', lines: [], marks: [from, to] };
    const feat = featured(ctx).map((p) => p.id);
    for (const p of ctx.policies.filter((x) => x.id !== 'breaker')) {
      for (const v of variants) {
        const { values, kept } = await run(`${p.id} ${v.id}`, p.build, clientLoad(v));
        rows.push({ label: `${p.label}, ${v.label}`, values });
        if (v.id === 'retry' && feat.includes(p.id) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
      }
    }
    const pipelines = await retryPipelines();
    for (const p of pipelines) {
      const { values, kept } = await run(p.id, p.build, pipelineLoad);
      rows.push({ label: p.label, values });
      if (p.featured === true && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }

    // The `cancel` downstream: expired queued work is dropped at dequeue instead of served.
    const cancelRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies.filter((x) => x.id === 'none' || x.id === 'static-40')) {
      for (const v of variants.filter((x) => p.id === 'none' || x.id === 'retry')) {
        const { values } = await run(`cancel ${p.id} ${v.id}`, p.build, clientLoad(v), { cancel: true });
        cancelRows.push({ label: `${p.label}, ${v.label}`, values });
      }
    }
    for (const p of pipelines) {
      const { values } = await run(`cancel ${p.id}`, p.build, pipelineLoad, { cancel: true });
      cancelRows.push({ label: p.label, values });
    }

    // Three layers of retries, under the S5 trigger (c = 20 for 10 s) and under a 100 %-failure trigger (hard-down for its 10 s).
    const nestedRows: { label: string; values: Record<string, number[]> }[] = [];
    const nested = await nestedRetryPipelines();
    const single = pipelines.find((p) => p.id === 'retry');
    const naiveClient = variants.find((v) => v.id === 'retry')!;
    for (const trigger of ['halve', 'down'] as const) {
      const tl = trigger === 'halve' ? 'c = 20 trigger' : 'hard-down trigger';
      const { values } = await run(`${trigger} client-loop`, () => undefined, clientLoad(naiveClient), { trigger });
      nestedRows.push({ label: `${tl}: 1 layer, naive client loop (3 retries, no backoff)`, values });
      if (single !== undefined) {
        const r = await run(`${trigger} ${single.id}`, single.build, pipelineLoad, { trigger });
        nestedRows.push({ label: `${tl}: 1 layer, ${single.label}`, values: r.values });
      }
      for (const p of nested) {
        const r = await run(`${trigger} ${p.id}`, p.build, pipelineLoad, { trigger });
        nestedRows.push({ label: `${tl}: ${p.label}`, values: r.values });
      }
    }

    const med = (rs: typeof rows, prefix: string, k: string, d = 2): string => {
      const r = rs.find((x) => x.label.startsWith(prefix));
      return r === undefined ? '—' : fmt(median(r.values[k] ?? []), d);
    };
    const ideal = ['**ideal**', '100', '100', '100', '1.0', '1.0', '0', '0'];
    const target = ['target (T7)', '≥ 90', '—', '—', '≤ 1.1', '≤ 1.05 (100 % failure)', '≤ 2', '—'];
    return {
      id: 'S5',
      title: this.title,
      setup: `λ = 900 rps (0.9 C); trigger: c = 20 for t ∈ [${from / 1000}, ${to / 1000}) s; run to ${durationMs / 1000} s. Recovery: goodput ≥ 95 % of λ held for 5 s. Peak backlog: most calls waiting in the downstream's queue in any 250 ms sample.`,
      explain:
        'Without admission control the 10 s trigger leaves a backlog in the downstream that outlives it: callers give up at 1 s but the downstream still serves their calls (wasted work), so new calls queue behind dead ones and time out too. ' +
        `With retries the dead backlog never drains (goodput 0 % to the end: metastable); without retries it drains in about ${med(rows, 'none (unprotected), no retries', 'recover', 0)} s. ` +
        `A concurrency limit (bulkhead) keeps the backlog bounded (at most ${med(rows, 'bulkhead L=40, no retries', 'backlog', 0)} calls wait behind L = 40), so goodput stays near the ideal through the trigger and after it. ` +
        'With L = 100 or 200 the recovery is immediate; L = 40 without jittered retries stays a few % under the 95 % bar after the trigger because of its Erlang loss at 0.9 C (about 7 % of calls find all 40 permits taken), so its "recovery" time measures that loss, not a backlog. ' +
        'Rate limits sized for full capacity do not help when capacity halves. ' +
        "sluice's retry policy with its token budget stops retrying once the budget is spent, which turns a metastable storm into the no-retry recovery, and with a bulkhead it needs no recovery at all. " +
        `The \`cancel\` downstream drops expired queued work: without retries even unprotected callers then recover as soon as the trigger ends (${med(cancelRows, 'none (unprotected), no retries', 'recover', 1)} s), but naive retries keep the offered load near 3 × C and the storm goes on (goodput at the end ${med(cancelRows, 'none (unprotected), 3 retries, no backoff', 'late', 1)} % of λ); budgeted sluice retries recover with it. Three nested layers of sluice retries behave as one layer (inner layers make a single attempt: A ${med(nestedRows, 'hard-down trigger: 3 layers × retry', 'ampTrigger')} during a hard-down trigger), where three naive loops send up to 4³ = 64 attempts per call (A ${med(nestedRows, 'hard-down trigger: 3 layers × naive', 'ampTrigger')}).`,
      tables: [
        policyTable(cols, rows, [ideal, target]),
        { caption: '`cancel` downstream variant: expired work is dropped when it reaches the head of the queue', ...policyTable(cols, cancelRows, [ideal, target]) },
        {
          caption:
            'Nested retries: three layers with 3 retries each (4 attempts), innermost 1 s per-attempt timeout, 4 s caller deadline; under the S5 trigger (c = 20 for 10 s) and under a 100 %-failure trigger (the dependency is hard-down for the same 10 s and fails in 1 ms)',
          ...policyTable(cols, nestedRows, [ideal, target]),
        },
      ],
      charts: [chart],
      notes: [
        'Rows "…, N retries" use a naive client loop in the simulator (each attempt a fresh call with its own 1 s deadline; timeouts, errors and local rejections are all retried). Rows starting with "retry(" put sluice\'s retry policy (default token budget) and a 1 s per-attempt timeout in the pipeline, with a 4 s overall deadline per call.',
        'Nested rows are one pipeline of three retry policies (nesting is seen through the pipeline, as it is through `execute(fn, ctx)` across layers). "Per-layer defaults" means `retry({ maxAttempts: 4 })`: full jitter 100 ms..10 s, a token budget per layer, `nested: \'single-attempt\'`. The naive layers are `retry` with no backoff, no budget and `nested: \'multiply\'`. With timeouts as the failure (c = 20 trigger) the 4 s caller deadline caps even the naive stack at about 4 attempts per call; fast failures (hard-down) show the multiplication.',
        'During a hard-down trigger goodput is 0 by construction, so "goodput during trigger" reads 0 there.',
      ],
    };
  },
};

// ---- S6 -----------------------------------------------------------------------------------------------------------

const S6: Scenario = {
  id: 'S6',
  title: 'Thundering herd / contention (backoff, simulator self-check)',
  async run(ctx) {
    // sluice's retry backoffs, set up as the AWS post's variants (first retry ≤ 2 × 5 ms; decorrelated from 5 ms).
    const variants: [string, ContentionBackoff][] = [
      ['none', constantBackoff({ delayMs: 0 })],
      ['exponential', exponentialBackoff({ baseMs: 10, capMs: 2000 })],
      ['equal jitter', equalJitter({ baseMs: 10, capMs: 2000 })],
      ['full jitter', fullJitter({ baseMs: 10, capMs: 2000 })],
      ['decorrelated', decorrelatedJitter({ baseMs: 5, capMs: 2000 })],
    ];
    const ref: Record<string, Record<number, [number, number]>> = {
      none: { 10: [50, 377], 20: [151, 599], 50: [688, 1139], 100: [2427, 2031] },
      exponential: { 10: [50, 3433], 20: [149, 14186], 50: [624, 36543], 100: [1852, 63309] },
      'equal jitter': { 10: [43, 730], 20: [109, 1667], 50: [347, 4286], 100: [812, 6644] },
      'full jitter': { 10: [39, 459], 20: [100, 967], 50: [332, 2929], 100: [797, 4910] },
      decorrelated: { 10: [37, 422], 20: [101, 817], 50: [374, 2232], 100: [1002, 4617] },
    };
    const ns = [10, 20, 50, 100];
    const runs = ctx.quick ? 30 : 100;
    const rows: string[][] = [];
    let worst = 0;
    for (const [name, backoff] of variants) {
      const row = [name];
      for (const n of ns) {
        const r = await occContention({ clients: n, backoff, runs, seed: ctx.seeds[0] });
        const [rc, rt] = ref[name]![n]!;
        worst = Math.max(worst, Math.abs(r.calls - rc) / rc, Math.abs(r.completionMs - rt) / rt);
        row.push(`${r.calls.toFixed(0)} / ${r.completionMs.toFixed(0)} (ref ${rc} / ${rt})`);
      }
      ctx.progress(`S6 ${name}`);
      rows.push(row);
    }
    return {
      id: 'S6',
      title: this.title,
      setup: `sluice's backoff functions (\`fullJitter\`, \`equalJitter\`, \`decorrelatedJitter\`, \`exponentialBackoff\`) in the AWS OCC model: N clients start at t = 0, read-then-conditional-write one row over a network of |N(10, 2)| ms; backoff base 5 ms, cap 2 s; mean of ${runs} runs. Cells: calls / completion ms; in parentheses (ref), an independent reproduction of the model of M. Brooker, "Exponential Backoff and Jitter" (AWS Architecture Blog, 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/; simulator: https://github.com/aws-samples/aws-arch-backoff-simulator), mean of 100 runs per cell.`,
      explain:
        `A self-check of the simulator as much as a test of the backoffs: it reproduces every cell of the reproduced AWS contention model within ${(100 * worst).toFixed(1)} %. ` +
        'Without backoff, clients collide again at once; plain exponential backoff keeps them in lockstep and takes longest; jitter spreads them, and full jitter makes the fewest calls at N = 100, the reason it is sluice\'s default.',
      tables: [{ header: ['backoff', ...ns.map((n) => `N = ${n}`)], rows }],
      charts: [],
      notes: [
        `Largest deviation from that reproduction: ${(100 * worst).toFixed(1)} % over ${runs} runs per cell (target T8: every cell within ±10 % at 100 runs; fewer runs are noisier). Ideal: N calls in ≈ N × 20 ms.`,
      ],
    };
  },
};

/**
 * A bulkhead L = 40 with a queue of 200 and a 500 ms wait bound, twice: FIFO (the baseline) and the discipline under
 * test, so that the two rows differ only in the order of admission and whom they shed.
 */
function againstFifo(queue: 'fair' | 'priority'): PolicyEntry[] {
  const bounds = { limit: 40, maxQueue: 200, maxWaitMs: 500 } as const;
  return [
    queued('fifo-queue', 'bulkhead L=40, FIFO queue ≤ 200, wait ≤ 500 ms', bounds),
    queued(`${queue}-queue`, `bulkhead L=40, queue: '${queue}' ≤ 200, wait ≤ 500 ms`, { ...bounds, queue }),
  ];
}

// ---- S7 -----------------------------------------------------------------------------------------------------------

const S7: Scenario = {
  id: 'S7',
  title: 'Two tenants, noisy neighbour',
  async run(outer) {
    // The FIFO rows are the baseline; the fair queue (per-tenant deficit round robin) is the policy under test.
    const ctx: RunContext = { ...outer, policies: [...outer.policies, ...againstFifo('fair')] };
    const [rampAt, rampMs, holdMs, tailMs] = ctx.quick ? [5_000, 10_000, 25_000, 5_000] : [10_000, 20_000, 60_000, 10_000];
    const holdFrom = rampAt + rampMs;
    const holdTo = holdFrom + holdMs;
    const durationMs = holdTo + tailMs;
    const cols: Col[] = [
      { key: 'a', label: 'A goodput (% of demand)', better: 'high' },
      { key: 'b', label: 'B goodput (rps)', better: 'high', digits: 0 },
      { key: 'jain', label: "Jain's index", better: 'high', digits: 3 },
      { key: 'aP99', label: 'A p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies) {
      const values = await perSeed(ctx, `S7 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          load: [
            { tenant: 'A', perSecond: 400 },
            { tenant: 'B', schedule: [...ramp(200, 3000, rampAt, rampMs), { atMs: holdTo, perSecond: 200 }], perSecond: 200 },
          ],
          policy: p.build,
        });
        const from = holdFrom + 5000;
        const a = r.group('tenant', 'A', from, holdTo)!;
        const b = r.group('tenant', 'B', from, holdTo)!;
        return { a: pct(a.shareOfDemand), b: b.goodputPerSecond, jain: r.jainOver(from, holdTo), aP99: a.latency.p99, total: pct(r.window(from, holdTo).goodputPerSecond / C) };
      });
      rows.push({ label: p.label, values });
    }
    const variantPolicies = ctx.policies.filter((p) => !p.id.startsWith('breaker'));

    // Cost-aware variant: A's requests do twice the work (two service times in sequence under one permit, cost 2),
    // at 200 rps so that A's work is still 0.4 C.
    const costRows: { label: string; values: Record<string, number[]> }[] = [];
    const fairUnits = maxMinFair([400, 3000], C);
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S7 cost ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          load: [
            { tenant: 'A', perSecond: 200, cost: 2 },
            { tenant: 'B', schedule: [...ramp(200, 3000, rampAt, rampMs), { atMs: holdTo, perSecond: 200 }], perSecond: 200 },
          ],
          policy: (env) => heavierTenant(env, p.build(env), 'A', 2),
        });
        const from = holdFrom + 5000;
        const a = r.group('tenant', 'A', from, holdTo)!;
        const b = r.group('tenant', 'B', from, holdTo)!;
        const units = [2 * a.goodputPerSecond, b.goodputPerSecond];
        return {
          a: pct(a.shareOfDemand),
          b: b.goodputPerSecond,
          jain: jainIndex(units.map((u, k) => u / fairUnits[k]!)),
          aP99: a.latency.p99,
          total: pct((units[0]! + units[1]!) / C),
        };
      });
      costRows.push({ label: p.label, values });
    }

    // 10 tenants with Zipf(1.0) demand totalling 2 C, steady.
    const zipfMs = ctx.quick ? 30_000 : 60_000;
    const zipfWarm = ctx.quick ? 5_000 : 10_000;
    const h = Array.from({ length: 10 }, (_, k) => 1 / (k + 1));
    const hSum = h.reduce((x, y) => x + y, 0);
    const demand = h.map((w) => (2 * C * w) / hSum);
    const fair = maxMinFair(demand, C);
    const zCols: Col[] = [
      { key: 'jain', label: "Jain's index", better: 'high', digits: 3 },
      { key: 'small', label: 'smallest tenant (% of demand)', better: 'high' },
      { key: 'large', label: 'largest tenant (% of demand)', better: 'high' },
      { key: 'minFair', label: 'worst tenant (% of fair share)', better: 'high' },
      { key: 'p99', label: 'p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
    ];
    const zipfRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S7 zipf ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, zipfWarm + zipfMs),
          warmupMs: zipfWarm,
          load: demand.map((d, k) => ({ tenant: `t${k + 1}`, perSecond: d })),
          policy: p.build,
        });
        const g = demand.map((_, k) => r.tenants[`t${k + 1}`]!);
        return {
          jain: r.jain,
          small: pct(g[9]!.shareOfDemand),
          large: pct(g[0]!.shareOfDemand),
          minFair: pct(Math.min(...g.map((x, k) => x.goodputPerSecond / fair[k]!))),
          p99: r.summary.latency.p99,
          total: pct(r.summary.goodputPerSecond / C),
        };
      });
      zipfRows.push({ label: p.label, values });
    }
    const aShare = (rs: typeof rows, id: string): string => {
      const label = ctx.policies.find((p) => p.id === id)?.label;
      const r = rs.find((x) => x.label === label);
      return r === undefined ? '—' : fmt(median(r.values.a ?? []));
    };
    return {
      id: 'S7',
      title: this.title,
      setup: `Tenant A at 0.4 C steady; tenant B ramps 0.2 C → 3 C over ${rampMs / 1000} s from ${rampAt / 1000} s and holds ${holdMs / 1000} s. Same priority; exp(40 ms), D = 1 s. Measured over the hold (after 5 s).`,
      explain:
        `A shared FIFO limit admits calls in arrival order, so each tenant gets its share of arrivals, not its fair share: the victim A gets ${aShare(rows, 'static-40')} % of its demand behind a bulkhead L = 40 and ${aShare(rows, 'fifo-queue')} % behind the same bulkhead with a FIFO queue, and Jain's index stays near the FIFO baseline 0.69. ` +
        `sluice's fair queue (\`queue: 'fair'\`, deficit round robin over per-tenant lanes) gives A ${aShare(rows, 'fair-queue')} % of its demand at a p99 of ${medianOf(ctx, rows, 'fair-queue', 'aP99', 0)} ms with Jain's index ${medianOf(ctx, rows, 'fair-queue', 'jain', 3)} and ${medianOf(ctx, rows, 'fair-queue', 'total', 1)} % of C served (T9: ≥ 95 %, ≥ 0.95, ≤ 230 ms, ≥ 97 %). B, the tenant that floods, is the one whose calls wait and are shed: when the queue is full a newcomer of a lighter tenant displaces the newest call of the heaviest. ` +
        `With A's requests twice as heavy the fair share is in units of work: the fair queue charges each call its \`cost\` and gives A ${medianOf(ctx, costRows, 'fair-queue', 'a')} % of its demand (Jain in work ${medianOf(ctx, costRows, 'fair-queue', 'jain', 3)}); the token bucket, which charges A's calls 2 tokens, starves them instead (A gets ` +
        `${medianOf(ctx, costRows, 'token-bucket', 'a')} %: under contention B's calls take each token as it arrives, so a 2-token call rarely finds 2). ` +
        `Across 10 Zipf-distributed tenants FIFO makes the small tenants, which ask for less than their fair share, lose the same fraction of their demand as the large ones; the fair queue serves the smallest tenant ${medianOf(ctx, zipfRows, 'fair-queue', 'small')} % of its demand (Jain ${medianOf(ctx, zipfRows, 'fair-queue', 'jain', 3)}). ` +
        'Unprotected, every tenant collapses together (the total demand is above capacity).',
      tables: [
        policyTable(cols, rows, [
          ['**ideal** (max-min fair)', '100', '600', '1.000', '184', '100'],
          ['target (T9)', '≥ 95', '—', '≥ 0.95', '≤ 230', '≥ 97'],
        ]),
        {
          caption:
            "Cost-aware variant: A's requests are 2× heavier (two exp(40 ms) service times in sequence under one permit, `cost: 2`), A at 200 rps = 0.4 C of work; Jain's index and total in units of work (max-min fair in work: A 400, B 600 units/s)",
          ...policyTable(
            [
              { key: 'a', label: 'A goodput (% of demand)', better: 'high' },
              { key: 'b', label: 'B goodput (rps)', better: 'high', digits: 0 },
              { key: 'jain', label: "Jain's index (work)", better: 'high', digits: 3 },
              { key: 'aP99', label: 'A p99 (ms)', better: 'low', digits: 0 },
              { key: 'total', label: 'total goodput (% C, work)', better: 'high' },
            ],
            costRows,
            [
              ['**ideal** (max-min fair in work)', '100', '600', '1.000', '≈ 265 (Erlang-2)', '100'],
              ['target (T9)', '≥ 95', '—', '≥ 0.95', '≤ 332', '≥ 97'],
            ],
          ),
        },
        {
          caption: `10 tenants, Zipf(1.0) demand totalling 2 C (${demand.map((d) => d.toFixed(0)).join(', ')} rps), steady for ${zipfMs / 1000} s after ${zipfWarm / 1000} s warm-up; max-min fair shares ${fair.map((f) => f.toFixed(0)).join(', ')} rps`,
          ...policyTable(zCols, zipfRows, [
            ['**ideal** (max-min fair)', '1.000', '100', fmt((100 * fair[0]!) / demand[0]!), '100', '≈ 184', '100'],
            ['target (T9)', '≥ 0.95', '≥ 95', '—', '—', '≤ 230', '≥ 97'],
          ]),
        },
      ],
      charts: [],
      notes: [
        'FIFO arithmetic predicts the baseline rows: A gets 400/3400 of the 1000 rps served, 118 rps: 29.5 % of its demand, J ≈ 0.69. The fair-queue rows use the same limit (40) and the same queue bounds as the FIFO-queue row; only the order of admission and the choice of whom to shed differ.',
        'The variants leave out the circuit-breaker rows: under overload without failures the breaker alone behaves as "none" and "breaker → bulkhead L=40" as "bulkhead L=40" (see S1).',
        "Heavier requests are modelled in the bench, not the simulator (its downstream draws one service time per call whatever the cost): a wrapper runs A's protected call twice in sequence inside the same permit.",
        "Where the fair queue misses T9 in the cost-aware variant (A's share, total), the model is the reason: a bulkhead's `cost` is units of concurrency, and A's cost-2 call holds two of the 40 units while it keeps one worker busy (twice as long), so the more of A the fair queue admits, the fewer workers are busy and the lower the total. For a call that is longer rather than wider, cost 1 is right for a concurrency limit (it already holds its unit twice as long); fairness in work for such calls needs a discipline that charges service time, which the fair queue does not measure.",
        "In the Zipf variant the fair queue's p99 over all calls is the wait of the heavy tenants, whose calls queue up to `maxWaitMs` (500 ms) before they are served or expire; the tenants within their fair share are served at once.",
      ],
    };
  },
};

// ---- S8 -----------------------------------------------------------------------------------------------------------

const S8: Scenario = {
  id: 'S8',
  title: 'Priority classes',
  async run(outer) {
    // The FIFO rows are the baseline; the priority queue is the policy under test. Every row counts inversions.
    const ctx: RunContext = { ...outer, policies: [...outer.policies, ...againstFifo('priority')].map(countInversions) };
    const durationMs = ctx.quick ? 30_000 : 60_000;
    const warmupMs = ctx.quick ? 5_000 : 10_000;
    const cols: Col[] = [
      { key: 'crit', label: 'critical goodput (% of demand)', better: 'high' },
      { key: 'shed', label: 'sheddable goodput (rps)', better: 'high', digits: 0 },
      { key: 'critP99', label: 'critical p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
      { key: 'inv', label: 'priority inversions (per 1000 calls)', better: 'low', digits: 1 },
    ];
    const inversions = (p: PolicyEntry, arrivals: number): number => {
      const log = (p as ReturnType<typeof countInversions>).log();
      return (1000 * (log.refusedOverLower + log.startedOverHigher)) / arrivals;
    };
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies) {
      const values = await perSeed(ctx, `S8a ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          warmupMs,
          load: [
            { name: 'critical', priority: 1, perSecond: 300 },
            { name: 'sheddable', priority: 0, perSecond: 2700 },
          ],
          policy: p.build,
        });
        const crit = r.classes['1']!;
        return {
          crit: pct(crit.shareOfDemand),
          shed: r.classes['0']!.goodputPerSecond,
          critP99: crit.latency.p99,
          total: pct(r.summary.goodputPerSecond / C),
          inv: inversions(p, r.summary.arrivals),
        };
      });
      rows.push({ label: p.label, values });
    }
    const variantPolicies = ctx.policies.filter((p) => !p.id.startsWith('breaker'));

    // S8b: critical alone exceeds capacity.
    const bRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S8b ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          warmupMs,
          load: [
            { name: 'critical', priority: 1, perSecond: 1200 },
            { name: 'sheddable', priority: 0, perSecond: 1000 },
          ],
          policy: p.build,
        });
        const crit = r.classes['1']!;
        return {
          crit: pct(crit.goodputPerSecond / C),
          shed: r.classes['0']!.goodputPerSecond,
          critP99: crit.latency.p99,
          total: pct(r.summary.goodputPerSecond / C),
          inv: inversions(p, r.summary.arrivals),
        };
      });
      bRows.push({ label: p.label, values });
    }

    // S8c: three classes, capacity halves (c 40 → 20) at dropAt.
    const [dropAt, cEnd] = ctx.quick ? [20_000, 45_000] : [60_000, 120_000];
    const cCols: Col[] = [
      { key: 'critBefore', label: 'critical before drop (% of demand)', better: 'high' },
      { key: 'crit', label: 'critical after (rps)', better: 'high', digits: 0 },
      { key: 'def', label: 'default after (rps)', better: 'high', digits: 0 },
      { key: 'batch', label: 'batch after (rps)', better: 'low', digits: 0 },
      { key: 'critP99', label: 'critical p99 after (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total after (% of new C)', better: 'high' },
      { key: 'inv', label: 'inversions (per 1000 calls)', better: 'low', digits: 1 },
      { key: 'conv', label: 'classes settle (s after drop)', better: 'low', digits: 1 },
    ];
    const cRows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of variantPolicies) {
      const values = await perSeed(ctx, `S8c ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, cEnd),
          downstream: { workers: 40, service: exponential(40), changes: [{ atMs: dropAt, workers: 20 }] },
          load: [
            { name: 'critical', priority: 2, perSecond: 200 },
            { name: 'default', priority: 1, perSecond: 600 },
            { name: 'batch', priority: 0, perSecond: 2000 },
          ],
          policy: p.build,
        });
        const from = dropAt + 5000;
        const g = (k: string): GroupSummary => r.group('class', k, from, cEnd)!;
        return {
          critBefore: pct(r.group('class', '2', warmupMs, dropAt)!.shareOfDemand),
          crit: g('2').goodputPerSecond,
          def: g('1').goodputPerSecond,
          batch: g('0').goodputPerSecond,
          critP99: g('2').latency.p99,
          total: pct(r.window(from, cEnd).goodputPerSecond / 500),
          inv: inversions(p, r.summary.arrivals),
          conv: classesSettleMs(r, dropAt, cEnd) / 1000,
        };
      });
      cRows.push({ label: p.label, values });
    }
    const critShare = (id: string): string => {
      const label = ctx.policies.find((p) => p.id === id)?.label;
      const r = rows.find((x) => x.label === label);
      return r === undefined ? '—' : fmt(median(r.values.crit ?? []));
    };
    return {
      id: 'S8',
      title: this.title,
      setup: `S8a: critical (priority 1) at 0.3 C and sheddable (priority 0) at 2.7 C; exp(40 ms), D = 1 s; ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up.`,
      explain:
        `A FIFO limit admits whichever call comes first, so the critical class gets its share of arrivals: ${critShare('static-40')} % of its demand behind a bulkhead L = 40 in S8a and ${critShare('fifo-queue')} % with a FIFO queue (capacity / demand = 1000 / 3000 = 33 %). ` +
        `sluice's priority queue (\`queue: 'priority'\`) admits the highest class first and, when full, lets a newcomer displace the newest call of the lowest class below it: critical gets ${critShare('priority-queue')} % of its demand at a p99 of ${medianOf(ctx, rows, 'priority-queue', 'critP99', 0)} ms (T10: ≥ 99 %, ≤ 203 ms) and the sheddable class takes the rest of capacity. ` +
        `In S8b the critical class alone exceeds capacity: the priority queue gives it ${medianOf(ctx, bRows, 'priority-queue', 'crit')} % of C (T10: ≥ 97 %) and sheddable ${medianOf(ctx, bRows, 'priority-queue', 'shed', 0)} rps, where FIFO splits capacity in proportion to arrivals. ` +
        `In S8c the capacity halves while the limit stays at 40: the priority queue still orders admission, so critical keeps ${medianOf(ctx, cRows, 'priority-queue', 'crit', 0)} of its 200 rps and batch falls to ${medianOf(ctx, cRows, 'priority-queue', 'batch', 0)} rps, but with 40 calls admitted onto 20 workers the downstream's own FIFO queue holds the excess, and every admitted call waits there whatever its class (critical p99 ${medianOf(ctx, cRows, 'priority-queue', 'critP99', 0)} ms, T10 ≤ 203 ms: missed), and the class allocation settles ${medianOf(ctx, cRows, 'priority-queue', 'conv', 1)} s after the drop (T10 ≤ 2 s). A static limit cannot follow a capacity it does not measure; that is the adaptive limiter's job. ` +
        'Inversions count calls that ended unserved while a lower class waited, or started while a higher class waited; the priority queue has none left but those it cannot avoid (a critical caller that gives up at its deadline while lower calls still wait is one).',
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '100', '700', '189', '100', '0'],
          ['target (T10)', '≥ 99', '—', '≤ 203', '—', '—'],
        ]),
        {
          caption: `S8b: critical at 1.2 C and sheddable at 1.0 C (${durationMs / 1000} s after ${warmupMs / 1000} s warm-up)`,
          ...policyTable(
            [
              { key: 'crit', label: 'critical goodput (% C)', better: 'high' },
              { key: 'shed', label: 'sheddable goodput (rps)', better: 'low', digits: 0 },
              { key: 'critP99', label: 'critical p99 (ms)', better: 'low', digits: 0 },
              { key: 'total', label: 'total goodput (% C)', better: 'high' },
              { key: 'inv', label: 'inversions (per 1000 calls)', better: 'low', digits: 1 },
            ],
            bRows,
            [
              ['**ideal**', '100 (83 % of demand)', '0', '189', '100', '0'],
              ['target (T10)', '≥ 97', '—', '≤ 203', '—', '—'],
            ],
          ),
        },
        {
          caption: `S8c: critical 0.2 C (priority 2), default 0.6 C (priority 1), batch 2 C (priority 0); capacity drops to 0.5 C (c = 20) at ${dropAt / 1000} s; "after" is ${(dropAt + 5000) / 1000}–${cEnd / 1000} s`,
          ...policyTable(cCols, cRows, [
            ['**ideal**', '100', '200', '300', '0', '≈ 189', '100', '0', '0'],
            ['target (T10)', '≥ 99', '—', '—', '—', '≤ 203', '—', '—', '≤ 2'],
          ]),
        },
      ],
      charts: [],
      notes: [
        'The priority-queue rows use the same limit (40) and queue bounds as the FIFO-queue row; only the order of admission and the choice of whom to shed differ. Priority inversions are counted by a wrapper around each policy that tracks which classes have callers waiting (entered `execute`, protected function not started yet).',
        'S8b and S8c leave out the circuit-breaker rows (under overload without failures they behave as "none" and "bulkhead L=40"; see S1).',
      ],
    };
  },
};

/**
 * S8c: ms after the capacity drop from which every 1 s window until `endMs` gives critical ≥ 80 % of its 200 rps and
 * default ≥ 80 % of the 300 rps left for it (the ideal allocation of the halved capacity; 80 %, not 90 %, because a
 * 1 s window of a 300 rps Poisson stream alone varies by about 6 %); Infinity if never.
 */
function classesSettleMs(r: SimResult, dropAt: number, endMs: number): number {
  let settledFrom = Infinity;
  for (let t = endMs - 1000; t >= dropAt; t -= 1000) {
    const crit = r.group('class', '2', t, t + 1000)?.goodputPerSecond ?? 0;
    const def = r.group('class', '1', t, t + 1000)?.goodputPerSecond ?? 0;
    if (crit < 0.8 * 200 || def < 0.8 * 300) break;
    settledFrom = t;
  }
  return settledFrom - dropAt;
}

// ---- S9 -----------------------------------------------------------------------------------------------------------

const S9: Scenario = {
  id: 'S9',
  title: 'Bursts at moderate load (do no harm)',
  async run(outer) {
    // The two frontier points, each configured: a deep FIFO queue (queue mode) and CoDel (shed mode).
    const ctx: RunContext = {
      ...outer,
      policies: [
        ...outer.policies,
        queued('fifo-deep', 'bulkhead L=40, FIFO queue ≤ 1000', { limit: 40, maxQueue: 1000 }),
        queued('codel', "bulkhead L=40, queue: 'codel' ≤ 1000", { limit: 40, maxQueue: 1000, queue: 'codel' }),
        queued('fifo-short', 'bulkhead L=40, FIFO queue ≤ 40', { limit: 40, maxQueue: 40 }),
      ],
    };
    const durationMs = ctx.quick ? 60_000 : 120_000;
    const cols: Col[] = [
      { key: 'rej', label: 'rejected (%)', better: 'low', digits: 2 },
      { key: 'served', label: 'served within D (% of offered)', better: 'high', digits: 2 },
      { key: 'p99', label: 'p99 (ms)', better: 'low', digits: 0 },
      { key: 'wasted', label: 'wasted work (%)', better: 'low', digits: 2 },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    for (const p of ctx.policies) {
      const values = await perSeed(ctx, `S9 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          warmupMs: 10_000,
          downstream: { workers: 40, service: lognormal(40, 1) },
          load: { bursts: { lowPerSecond: 611, highPerSecond: 1500, meanLowMs: 9000, meanHighMs: 1000, periodic: true } },
          policy: p.build,
        });
        const s = r.summary;
        return { rej: pct(s.rejectionRate), served: pct(s.successes / s.arrivals), p99: s.latency.p99, wasted: pct(s.wastedFraction) };
      });
      rows.push({ label: p.label, values });
    }
    return {
      id: 'S9',
      title: this.title,
      setup: `Mean 0.7 C: 1 s at 1.5 C every 10 s, 0.611 C otherwise (MMPP-2 with fixed sojourns); lognormal σ = 1 service (mean 40 ms); ${durationMs / 1000} s.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**, queue mode', '0', '100', '≈ 750', '0'],
          ['**ideal**, shed mode', '≈ 7.1', '≈ 92.9', '≈ 248', '0'],
          ['target (T11)', 'shed ≤ 8', 'queue ≥ 99.5', 'shed ≤ 310', '—'],
        ]),
      ],
      explain:
        `Bursts of 1.5 × C for 1 s leave a backlog of about 500 calls that drains in 1.3 s, under the 1 s deadline for most callers. Unprotected is the queue-mode point: it serves ${medianOf(ctx, rows, 'none', 'served', 1)} % within D at a p99 of ${medianOf(ctx, rows, 'none', 'p99', 0)} ms. ` +
        `A bulkhead L = 40 is near the shed-mode point: it rejects ${medianOf(ctx, rows, 'static-40', 'rej', 2)} % (ideal 7.1 %, T11 ≤ 8 %) and keeps p99 at ${medianOf(ctx, rows, 'static-40', 'p99', 0)} ms. ` +
        'Larger limits sit in between (fewer rejections, longer p99). Both frontier points are valid choices, and sluice reaches each when so configured. ' +
        `Queue mode: the same bulkhead with a FIFO queue of 1000 absorbs every burst and serves ${medianOf(ctx, rows, 'fifo-deep', 'served', 2)} % within D (T11 ≥ 99.5 %) at a p99 of ${medianOf(ctx, rows, 'fifo-deep', 'p99', 0)} ms. ` +
        `Shed mode: CoDel (\`queue: 'codel'\`, target 5 ms, interval 100 ms) lets each burst queue briefly, then, once the queue has stood above its target for an interval, serves newest first and sheds calls that waited over 100 ms: it rejects ${medianOf(ctx, rows, 'codel', 'rej', 2)} % (T11 ≤ 8 %) at a p99 of ${medianOf(ctx, rows, 'codel', 'p99', 0)} ms (T11 ≤ 310 ms), with no queue-length setting to tune; a short FIFO queue of 40 lands at about the same point (${medianOf(ctx, rows, 'fifo-short', 'rej', 2)} %, ${medianOf(ctx, rows, 'fifo-short', 'p99', 0)} ms) but only for this burst size.`,
      charts: [],
      notes: [],
    };
  },
};

// ---- S10 ----------------------------------------------------------------------------------------------------------

const S10: Scenario = {
  id: 'S10',
  title: 'Hard-down dependency and recovery',
  async run(ctx) {
    // Long enough after the heal for a 60 s open interval (Resilience4j, failsafe-go defaults) to end within the run.
    const [downAt, healAt, durationMs] = ctx.quick ? [10_000, 25_000, 80_000] : [30_000, 60_000, 100_000];
    const cols: Col[] = [
      { key: 'sent', label: 'calls to the dead dependency (% of offered)', better: 'low', digits: 2 },
      { key: 'sentAfter', label: 'of which after detection (% of offered)', better: 'low', digits: 2 },
      { key: 'detect', label: 'time to open (s)', better: 'low', digits: 3 },
      { key: 'resume', label: 'success ≥ 95 % of λ after heal (s)', better: 'low', digits: 2 },
      { key: 'closeAfter', label: 'breaker closed after heal (s)', better: 'low', digits: 2 },
      { key: 'probes', label: 'probe calls', better: 'low', digits: 0 },
      { key: 'lost', label: 'goodput lost after heal (s of λ)', better: 'low', digits: 2 },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's10-hard-down', title: 'S10 hard-down dependency: every call fails in 1 ms during the outage', lines: [], marks: [downAt, healAt] };
    const breakers = await breakerConfigs();
    const instrumented = await Promise.all([
      ...breakers.map((b) => instrumentedBreaker(b, false)),
      ...breakers.filter((b) => b.id === 'sluice').map((b) => instrumentedBreaker(b, true)),
    ]);
    const entries: { p: PolicyEntry; log?: () => BreakerLog }[] = [
      // The generic breaker rows are replaced by the instrumented ones (same configuration).
      ...ctx.policies.filter((p) => !p.id.startsWith('breaker')).map((p) => ({ p })),
      ...instrumented.map((i) => ({ p: i.entry, log: i.log })),
    ];
    for (const { p, log } of entries) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S10 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: { workers: 40, service: exponential(40), down: [{ fromMs: downAt, toMs: healAt }] },
          load: { perSecond: 800 },
          policy: p.build,
        });
        kept ??= r;
        const outage = r.window(downAt, healAt);
        const after = r.window(healAt, durationMs);
        const out: Record<string, number> = {
          sent: pct(outage.amplification),
          resume: recoveryMs(r.series, healAt, 800, 0.95, 1000) / 1000,
          // Goodput missing after the heal, in seconds of full load: (offered − goodput) · window / λ.
          lost: ((after.offeredPerSecond - after.goodputPerSecond) * (durationMs - healAt)) / 1000 / 800,
          sentAfter: NaN,
          detect: NaN,
          closeAfter: NaN,
          probes: NaN,
        };
        if (log !== undefined) {
          const l = log();
          const open = l.opens.find((t) => t >= downAt && t < healAt);
          const close = l.closes.find((t) => t >= healAt);
          out.detect = open === undefined ? Infinity : (open - downAt) / 1000;
          out.closeAfter = close === undefined ? Infinity : (close - healAt) / 1000;
          out.sentAfter = open === undefined ? pct(outage.amplification) : pct(l.calls.filter((c) => c.at >= open && c.at < healAt).length / outage.arrivals);
          out.probes = l.calls.filter((c) => c.probe).length;
        }
        return out;
      });
      rows.push({ label: p.label, values });
      // The configuration details are in the table; the legend keeps the names.
      if ((p.id === 'none' || p.id.startsWith('breaker')) && kept !== undefined) chart.lines.push({ policy: p.label.replace(/ \([^)]*\)/, ''), series: kept.series });
    }
    const sluice = rows.find((r) => r.label.startsWith('breaker: sluice defaults'));
    const r4j = rows.find((r) => r.label.startsWith('breaker: Resilience4j'));
    const m = (r: typeof sluice, k: string, digits = 2): string => (r === undefined ? '—' : fmt(median(r.values[k] ?? []), digits));
    return {
      id: 'S10',
      title: this.title,
      setup: `λ = 0.8 C; from ${downAt / 1000} s to ${healAt / 1000} s the dependency fails every call in 1 ms, then heals; ${durationMs / 1000} s. Breaker rows are sluice's \`circuitBreaker\` configured as each library's defaults.`,
      explain:
        `A breaker is built for exactly this failure: every call fails fast, so the breaker opens within a few dozen calls (sluice's defaults: ${m(sluice, 'detect', 3)} s; failsafe-go's, which open on the first failure: ${m(rows.find((r) => r.label.startsWith('breaker: failsafe-go')), 'detect', 3)} s) and refuses the rest, sending ${m(sluice, 'sentAfter')} % of the offered calls (its probes) after detection. ` +
        `What separates the configurations is the way back: sluice's defaults probe after 0.5–1.5 s (growing while the dependency stays down) and resume ${m(sluice, 'resume')} s after the heal; ` +
        `Resilience4j's and failsafe-go's 60 s open interval keeps refusing a healthy dependency for up to a minute (Resilience4j here: ${m(r4j, 'resume')} s, ${m(r4j, 'lost')} s of goodput lost). ` +
        'Limiters (bulkheads, buckets) do nothing here: the dead dependency answers at once, so no permit is ever scarce and every call is sent.',
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '≈ 0 (probes only)', '≈ 0', '≤ one window', '≤ one probe interval', '≈ 0', 'few', '0'],
          ['target (T12)', '—', '≤ 2', '≤ 0.5', '≤ 2', '—', '—', '—'],
        ]),
      ],
      charts: [chart],
      notes: [
        '"Calls to the dead dependency" counts attempts sent during the outage per first attempt offered during it; "after detection" counts only those the breaker let through after it first opened (its probes).',
        '"Time to open", "closed after heal" and "probe calls" (calls let through while half-open, over the whole run) come from the breaker\'s events; "—" for policies that are not breakers.',
        'Resilience4j closes when the failure rate of its 10 permitted half-open calls stays under 50 %: the configuration uses sluice\'s `halfOpenWindow: 10` rule, which judges a round the same way (reopen at 5 failures, close at 6 successes).',
        "sluice's defaults judge a half-open round over 20 probes at the closed state's 50 % threshold, and reopen after 3 failed probes while no probe has succeeded since the trip, so a dead dependency sees about 3 calls per probing round (`npm run bench:breaker-recovery` measures the trade-off against a healed but flaky dependency).",
        'Not compared (no such policy in sluice yet): the SRE adaptive throttle (K = 2 and K = 1.1) and Envoy admission control.',
      ],
    };
  },
};

export const SCENARIOS: Scenario[] = [S1, S2, capacityScenario('S3', 'Capacity loss by worker loss'), capacityScenario('S4', 'Capacity loss by slowdown (the ambiguity test)'), S5, S6, S7, S8, S9, S10];
