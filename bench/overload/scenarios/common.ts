/**
 * Shared pieces of the overload scenarios (one file per scenario beside this one) on the canonical model, an M/M/40 queue: c = 40 workers, exponential service with mean 40 ms
 * (C = 1000 rps), client deadline D = 1 s, no server-side cancellation. Ideals are queueing-theory limits (Erlang C
 * for the M/M/40 latency, the M/M/40/L queue for a perfect limiter, Little's law); targets T1–T12 are sluice's own
 * goals for its defaults. The experiment designs and their sources are listed in the header run.ts writes.
 */
import { exponential, type SimBucket, type SimulateOptions } from '../../../src/sim/index.js';
import { queued, type PolicyEntry } from '../policies.js';

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
  /** Runs each simulation job (one seed of one labelled run), here or in a worker process; default: here. */
  jobs?: JobRunner;
}

/** Where a simulation job runs (see parallel.ts). `fn` must depend only on the label and the seed. */
export interface JobRunner {
  run(label: string, seed: number, fn: () => Promise<Record<string, number>>): Promise<Record<string, number>>;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: RunContext): Promise<ScenarioOutput>;
}

// ---- helpers ------------------------------------------------------------------------------------------------------

export type Direction = 'high' | 'low';
export interface Col {
  key: string;
  label: string;
  better: Direction;
  digits?: number;
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const fmt = (x: number, digits = 1): string => (Number.isNaN(x) ? '—' : x === Infinity ? '∞' : x.toFixed(digits));

/** "median (worst)" across seeds, the worst by the column's direction. */
export function cell(values: number[], col: Col): string {
  const m = median(values);
  if (values.length <= 1) return fmt(m, col.digits);
  const defined = values.filter((x) => !Number.isNaN(x));
  const worst = defined.length === 0 ? NaN : col.better === 'high' ? Math.min(...defined) : Math.max(...defined);
  return `${fmt(m, col.digits)} (${fmt(worst, col.digits)})`;
}

export async function perSeed(ctx: RunContext, label: string, fn: (seed: number) => Promise<Record<string, number>>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const seed of ctx.seeds) {
    const t0 = performance.now();
    const r = ctx.jobs === undefined ? await fn(seed) : await ctx.jobs.run(`${label} seed ${seed}`, seed, () => fn(seed));
    ctx.progress(`${label} seed ${seed} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const [k, v] of Object.entries(r)) (out[k] ??= []).push(v);
  }
  return out;
}

export function policyTable(cols: Col[], rows: { label: string; values: Record<string, number[]> }[], extra: string[][] = []): Table {
  return {
    header: ['policy', ...cols.map((c) => c.label)],
    rows: [...rows.map((r) => [r.label, ...cols.map((c) => cell(r.values[c.key] ?? [], c))]), ...extra],
  };
}

/** Median of one column of the row of policy `id` (looked up by its label), formatted; "—" when absent. */
export function medianOf(ctx: RunContext, rows: { label: string; values: Record<string, number[]> }[], id: string, key: string, digits = 1): string {
  const label = ctx.policies.find((p) => p.id === id)?.label;
  const r = rows.find((x) => x.label === label);
  return r === undefined ? '—' : fmt(median(r.values[key] ?? []), digits);
}

export const base = (seed: number, durationMs: number): Pick<SimulateOptions, 'seed' | 'durationMs' | 'deadlineMs' | 'downstream'> => ({
  seed,
  durationMs,
  deadlineMs: 1000,
  downstream: { workers: 40, service: exponential(40) },
});

export const pct = (x: number): number => 100 * x;

/** Peak of a bucket field over [from, to). */
export function peak(series: SimBucket[], from: number, to: number, f: (b: SimBucket) => number): number {
  let m = NaN;
  for (const b of series) if (b.tMs >= from && b.tMs < to && !Number.isNaN(f(b))) m = Number.isNaN(m) ? f(b) : Math.max(m, f(b));
  return m;
}

/**
 * Recovery time after an event (S5): the first t ≥ `afterMs` such that mean goodput over [t, t + holdMs] is
 * ≥ `fraction` · target. Averaged over the hold rather than per bucket, so Poisson noise in single 250 ms buckets
 * does not hide a recovery. Returns ms after the event, or Infinity.
 */
export function recoveryMs(series: SimBucket[], afterMs: number, targetPerSecond: number, fraction = 0.95, holdMs = 5000): number {
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

export const featured = (ctx: RunContext): PolicyEntry[] => {
  const none = ctx.policies.find((p) => p.id === 'none');
  const f = ctx.policies.filter((p) => p.featured);
  const fallback = ctx.policies.find((p) => p.id === 'token-bucket');
  return [none, ...(f.length > 0 ? f : fallback ? [fallback] : [])].filter((p): p is PolicyEntry => p !== undefined);
};

/**
 * A bulkhead L = 40 with a queue of 200 and a 500 ms wait bound, twice: FIFO (the baseline) and the discipline under
 * test, so that the two rows differ only in the order of admission and whom they shed.
 */
export function againstFifo(queue: 'fair' | 'priority'): PolicyEntry[] {
  const bounds = { limit: 40, maxQueue: 200, maxWaitMs: 500 } as const;
  return [
    queued('fifo-queue', 'bulkhead L=40, FIFO queue ≤ 200, wait ≤ 500 ms', bounds),
    queued(`${queue}-queue`, `bulkhead L=40, queue: '${queue}' ≤ 200, wait ≤ 500 ms`, { ...bounds, queue }),
  ];
}
