/**
 * Scenarios S1–S10 of reference §7, on the canonical model: c = 40 workers, exponential service with mean 40 ms
 * (C = 1000 rps), client deadline D = 1 s, no server-side cancellation. Ideals and targets are §2 and §8.
 */
import {
  convergenceTimeMs,
  exponential,
  lognormal,
  occContention,
  ramp,
  simulate,
  type ContentionBackoff,
  type SimBucket,
  type SimResult,
  type SimulateOptions,
} from '../../src/sim/index.js';
import { constantBackoff, decorrelatedJitter, equalJitter, exponentialBackoff, fullJitter } from '../../src/retry/index.js';
import { retryPipelines, type PolicyEntry } from './policies.js';

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
 * Recovery time after an event (§7 S5): the first t ≥ `afterMs` such that mean goodput over [t, t + holdMs] is
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

const S1: Scenario = {
  id: 'S1',
  title: 'Steady-state load sweep',
  async run(ctx) {
    const loads = ctx.quick ? [0.5, 0.8, 1.2, 3, 10] : [0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2, 3, 5, 10];
    const durationMs = ctx.quick ? 30_000 : 120_000;
    const warmupMs = ctx.quick ? 10_000 : 20_000;
    const rows: string[][] = [];
    const p99rows: string[][] = [];
    const timing: string[] = [];
    for (const p of ctx.policies) {
      const good: string[] = [];
      const lat: string[] = [];
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (const x of loads) {
        const v = await perSeed(ctx, `S1 ${p.id} ${x}×C`, async (seed) => {
          const r = await simulate({ ...base(seed, durationMs), warmupMs, load: { perSecond: x * C }, policy: p.build });
          return {
            goodput: pct(r.summary.goodputPerSecond / C),
            p99: r.summary.latency.p99,
            rejected: pct(r.summary.rejectionRate),
            wasted: pct(r.summary.wastedFraction),
          };
        });
        good.push(`${cell(v.goodput!, { key: '', label: '', better: 'high' })}`);
        lat.push(`${cell(v.p99!, { key: '', label: '', better: 'low', digits: 0 })} · ${cell(v.rejected!, { key: '', label: '', better: 'low' })} %`);
      }
      const cpu = process.cpuUsage(c0);
      timing.push(`${p.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU for ${loads.length} points × ${durationMs / 1000} s × ${ctx.seeds.length} seed(s)`);
      rows.push([p.label, ...good]);
      p99rows.push([p.label, ...lat]);
    }
    const header = ['policy', ...loads.map((x) => `${x}×C`)];
    rows.push(['**ideal** min(λ, C)', ...loads.map((x) => fmt(100 * Math.min(x, 1)))]);
    rows.push(['target (T1–T3)', ...loads.map((x) => (x >= 1.5 ? '≥ 98' : x >= 1.2 ? '≥ 96' : x <= 0.8 ? `${fmt(100 * x * (x <= 0.7 ? 0.999 : 0.995))} (rej ≤ ${x <= 0.7 ? 0.1 : 0.5} %)` : '—'))]);
    p99rows.push(['**ideal** (M/M/40 below C; L=43 above)', ...loads.map((x) => (x < 1 ? (x <= 0.7 ? '184' : x <= 0.8 ? '185' : x <= 0.9 ? '189' : '—') : '186'))]);
    p99rows.push(['target (T1, T2)', ...loads.map((x) => (x >= 1.2 ? '≤ 230' : '≤ 1.02× unprotected'))]);
    return {
      id: 'S1',
      title: this.title,
      setup: `Poisson arrivals at λ ∈ {${loads.join(', ')}} × C, ${durationMs / 1000} s each, summary after ${warmupMs / 1000} s warm-up; exp(40 ms), c = 40, D = 1 s.`,
      tables: [
        { caption: 'Goodput, % of C (median over seeds, worst seed in parentheses)', header, rows },
        { caption: 'p99 of successes (ms) · rejected attempts (%)', header, rows: p99rows },
      ],
      charts: [],
      notes: ['Simulator cost of the sweep, per policy: ' + timing.join('; ') + '.'],
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
      setup: `0.5 C for ${lowMs / 1000} s → 3 C for ${highMs / 1000} s → 0.5 C for ${tailMs / 1000} s; exp(40 ms), c = 40, D = 1 s. Convergence as §7 defines it (every 250 ms bucket of the next 1 s at ≥ 90 % of ideal goodput and p99 ≤ 1.5 × 186 ms).`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '≈ 0.1', '0', '186', '100', '0'],
          ['target (T4)', '≤ 1', '—', '≤ 276', '≥ 95', '0 (1 s after)'],
        ]),
      ],
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
      { key: 'recover', label: 'recovery after trigger (s)', better: 'low', digits: 1 },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's5-retry-storm', title: 'S5 retry storm: λ = 900 rps, 3 retries without backoff, c = 20 during the trigger', lines: [], marks: [from, to] };
    const feat = featured(ctx).map((p) => p.id);
    for (const p of ctx.policies.filter((x) => x.id !== 'breaker')) {
      for (const v of variants) {
        let kept: SimResult | undefined;
        const values = await perSeed(ctx, `S5 ${p.id} ${v.id}`, async (seed) => {
          const r = await simulate({
            ...base(seed, durationMs),
            downstream: { workers: 40, service: exponential(40), changes: [{ atMs: from, workers: 20 }, { atMs: to, workers: 40 }] },
            load: v.retry === undefined ? { perSecond: 900 } : { perSecond: 900, retry: v.retry },
            policy: p.build,
          });
          kept ??= r;
          return {
            during: pct(r.window(from, to).goodputPerSecond / 500),
            after: pct(r.window(to + 5000, to + 20_000).goodputPerSecond / 900),
            late: pct(r.window(durationMs - 30_000, durationMs).goodputPerSecond / 900),
            amp: r.summary.amplification,
            recover: recoveryMs(r.series, to, 900) / 1000,
          };
        });
        rows.push({ label: `${p.label}, ${v.label}`, values });
        if (v.id === 'retry' && feat.includes(p.id) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
      }
    }
    for (const p of await retryPipelines()) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S5 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: { workers: 40, service: exponential(40), changes: [{ atMs: from, workers: 20 }, { atMs: to, workers: 40 }] },
          // One call may take up to 4 attempts of 1 s each (the timeout policy); the caller's deadline covers them all.
          load: { perSecond: 900, deadlineMs: 4000 },
          policy: p.build,
        });
        kept ??= r;
        return {
          during: pct(r.window(from, to).goodputPerSecond / 500),
          after: pct(r.window(to + 5000, to + 20_000).goodputPerSecond / 900),
          late: pct(r.window(durationMs - 30_000, durationMs).goodputPerSecond / 900),
          amp: r.summary.amplification,
          recover: recoveryMs(r.series, to, 900) / 1000,
        };
      });
      rows.push({ label: p.label, values });
      if (p.featured === true && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }
    return {
      id: 'S5',
      title: this.title,
      setup: `λ = 900 rps (0.9 C); client-side retry loop (each attempt a fresh call with D = 1 s); trigger: c = 20 for t ∈ [${from / 1000}, ${to / 1000}) s; run to ${durationMs / 1000} s. Recovery: goodput ≥ 95 % of λ held for 5 s.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '100', '100', '100', '1.0', '0'],
          ['target (T7)', '≥ 90', '—', '—', '≤ 1.1', '≤ 2'],
        ]),
      ],
      charts: [chart],
      notes: [
        'Rows "…, N retries" use a naive client loop in the simulator (each attempt a fresh call with its own 1 s deadline; timeouts, errors and local rejections are all retried). Rows starting with "retry(" put sluice\'s retry policy (default token budget) and a 1 s per-attempt timeout in the pipeline, with a 4 s overall deadline per call.',
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
      setup: `sluice's backoff functions (\`fullJitter\`, \`equalJitter\`, \`decorrelatedJitter\`, \`exponentialBackoff\`) in the AWS OCC model: N clients start at t = 0, read-then-conditional-write one row over a network of |N(10, 2)| ms; backoff base 5 ms, cap 2 s; mean of ${runs} runs. Cells: calls / completion ms (reference §4 in parentheses).`,
      tables: [{ header: ['backoff', ...ns.map((n) => `N = ${n}`)], rows }],
      charts: [],
      notes: [
        `Largest deviation from the §4 reproduction: ${(100 * worst).toFixed(1)} % over ${runs} runs per cell (target T8: every cell within ±10 % at 100 runs; fewer runs are noisier). Ideal: N calls in ≈ N × 20 ms.`,
      ],
    };
  },
};

// ---- S7 -----------------------------------------------------------------------------------------------------------

const S7: Scenario = {
  id: 'S7',
  title: 'Two tenants, noisy neighbour',
  async run(ctx) {
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
    return {
      id: 'S7',
      title: this.title,
      setup: `Tenant A at 0.4 C steady; tenant B ramps 0.2 C → 3 C over ${rampMs / 1000} s from ${rampAt / 1000} s and holds ${holdMs / 1000} s. Same priority; exp(40 ms), D = 1 s. Measured over the hold (after 5 s).`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal** (max-min fair)', '100', '600', '1.000', '184', '100'],
          ['target (T9)', '≥ 95', '—', '≥ 0.95', '≤ 230', '≥ 97'],
        ]),
      ],
      charts: [],
      notes: ['No tenant-aware policy exists yet (fair queueing comes with the priority/fairness issue); a shared FIFO limit gives A about its share of arrivals, as §7 predicts (29.5 %, J ≈ 0.69).'],
    };
  },
};

// ---- S8 -----------------------------------------------------------------------------------------------------------

const S8: Scenario = {
  id: 'S8',
  title: 'Priority classes',
  async run(ctx) {
    const durationMs = ctx.quick ? 30_000 : 60_000;
    const warmupMs = ctx.quick ? 5_000 : 10_000;
    const cols: Col[] = [
      { key: 'crit', label: 'critical goodput (% of demand)', better: 'high' },
      { key: 'shed', label: 'sheddable goodput (rps)', better: 'high', digits: 0 },
      { key: 'critP99', label: 'critical p99 (ms)', better: 'low', digits: 0 },
      { key: 'total', label: 'total goodput (% C)', better: 'high' },
    ];
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
        return { crit: pct(crit.shareOfDemand), shed: r.classes['0']!.goodputPerSecond, critP99: crit.latency.p99, total: pct(r.summary.goodputPerSecond / C) };
      });
      rows.push({ label: p.label, values });
    }
    return {
      id: 'S8',
      title: this.title,
      setup: `S8a: critical (priority 1) at 0.3 C and sheddable (priority 0) at 2.7 C; exp(40 ms), D = 1 s; ${durationMs / 1000} s after ${warmupMs / 1000} s warm-up.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '100', '700', '189', '100'],
          ['target (T10)', '≥ 99', '—', '≤ 203', '—'],
        ]),
      ],
      charts: [],
      notes: ['No priority-aware policy exists yet; every policy here is FIFO, so critical traffic gets about its share of arrivals (§7 baseline: 33 %).'],
    };
  },
};

// ---- S9 -----------------------------------------------------------------------------------------------------------

const S9: Scenario = {
  id: 'S9',
  title: 'Bursts at moderate load (do no harm)',
  async run(ctx) {
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
    const [downAt, healAt, durationMs] = ctx.quick ? [10_000, 25_000, 40_000] : [30_000, 60_000, 90_000];
    const cols: Col[] = [
      { key: 'sent', label: 'calls to the dead dependency (% of offered)', better: 'low', digits: 1 },
      { key: 'detect', label: 'first refusal after outage start (s)', better: 'low', digits: 2 },
      { key: 'resume', label: 'success ≥ 95 % of λ after heal (s)', better: 'low', digits: 2 },
      { key: 'after', label: 'goodput after heal (% of λ)', better: 'high' },
    ];
    const rows: { label: string; values: Record<string, number[]> }[] = [];
    const chart: ChartData = { id: 's10-hard-down', title: 'S10 hard-down dependency: every call fails in 1 ms during the outage', lines: [], marks: [downAt, healAt] };
    for (const p of ctx.policies) {
      let kept: SimResult | undefined;
      const values = await perSeed(ctx, `S10 ${p.id}`, async (seed) => {
        const r = await simulate({
          ...base(seed, durationMs),
          downstream: { workers: 40, service: exponential(40), down: [{ fromMs: downAt, toMs: healAt }] },
          load: { perSecond: 800 },
          policy: p.build,
        });
        kept ??= r;
        const w = r.window(downAt, healAt);
        const firstRefusal = r.series.find((b) => b.tMs >= downAt && b.tMs < healAt && b.rejected > 0);
        return {
          sent: pct(r.window(downAt, healAt).amplification),
          detect: firstRefusal === undefined ? Infinity : (firstRefusal.tMs - downAt) / 1000,
          resume: recoveryMs(r.series, healAt, 800, 0.95, 1000) / 1000,
          after: pct(r.window(healAt + 2000, durationMs).goodputPerSecond / 800),
          _w: w.errors,
        };
      });
      delete values._w;
      rows.push({ label: p.label, values });
      if ((p.id === 'none' || p.id.startsWith('breaker')) && kept !== undefined) chart.lines.push({ policy: p.label, series: kept.series });
    }
    return {
      id: 'S10',
      title: this.title,
      setup: `λ = 0.8 C; from ${downAt / 1000} s to ${healAt / 1000} s the dependency fails every call in 1 ms, then heals; ${durationMs / 1000} s.`,
      tables: [
        policyTable(cols, rows, [
          ['**ideal**', '≈ 0 (probes only)', '≤ one window', '≤ one probe interval', '100'],
          ['target (T12)', '≤ 2 after detection', '≤ 0.5', '≤ 2', '—'],
        ]),
      ],
      charts: [chart],
      notes: ['"Calls to the dead dependency" counts attempts sent during the outage per first attempt offered during it.'],
    };
  },
};

export const SCENARIOS: Scenario[] = [S1, S2, capacityScenario('S3', 'Capacity loss by worker loss'), capacityScenario('S4', 'Capacity loss by slowdown (the ambiguity test)'), S5, S6, S7, S8, S9, S10];
