/**
 * Benchmark harness shared by every suite in bench/suites/: task builders that batch operations so timer overhead
 * does not swamp a few-nanosecond call, a tinybench runner (warm-up, gc between tasks), an allocation probe, and
 * the plain-text and markdown renderings of the results. See docs/benchmarks.md for how to add a suite.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Bench } from 'tinybench';

/** What a row stands for; decides how it is read in the table. */
export type Role = 'floor' | 'reference' | 'sluice' | 'peer';

/** One benchmarked operation. Build it with {@link syncTask} or {@link asyncTask}. */
export interface BenchTask {
  readonly name: string;
  readonly role: Role;
  readonly kind: 'sync' | 'async';
  /** Operations per tinybench iteration; the sample is the iteration time divided by it. */
  readonly batch: number;
  /** Free text shown under the table (what exactly is measured, which peer API). */
  readonly note?: string;
  /** Calls each operation makes (a burst of `calls` calls is one operation); figures are per call. Default 1. */
  readonly calls: number;
  /** Runs `n` operations back to back (sequentially awaited when async); returns the last result. */
  readonly loop: (n: number) => unknown;
}

/** A group of tasks run side by side in one process; exported (default) by each file in bench/suites/. */
export interface Suite {
  /** Short id used by `--suite` and the docs/benchmarks.md section markers. Lowercase, no spaces. */
  readonly name: string;
  /** Heading of the section in docs/benchmarks.md. */
  readonly title: string;
  /** Name of the task every row's ratio is taken against. */
  readonly floor: string;
  readonly tasks: readonly BenchTask[];
  /** Lines printed under the table (caveats, how to read it). */
  readonly notes?: readonly string[];
  /** Targets checked after the run and reported as met / missed. */
  readonly targets?: readonly Target[];
  /**
   * Called once before the tasks run (start a server, connect a client). Resolves with a reason to skip the suite
   * (nothing is measured and nothing written: `runSuite` rejects with {@link SuiteSkipped}), or undefined to run it.
   * `dispose` is called after it either way, so it must cope with a setup that did not finish.
   */
  readonly setup?: () => Promise<string | undefined>;
  /** Called once after the suite ran, was skipped or failed (dispose limiters, close handles, stop servers). */
  readonly dispose?: () => void | Promise<void>;
  /** `false`: skip the allocation probe (it runs each task thousands of times; for tasks that spawn processes). */
  readonly allocations?: boolean;
  /**
   * Measurements that are not a time per operation (memory held per waiting call, a one-shot drain time), run once
   * after the tasks. Returns markdown lines (a table) shown under the suite's table, or those lines and the lines of
   * the targets it checked itself (`met: …` / `MISSED: …`), which join the section's "Targets" list.
   */
  readonly extra?: () => Promise<ExtraResult>;
}

/** What {@link Suite.extra} returns: markdown lines, or markdown lines and target lines. */
export type ExtraResult = readonly string[] | { readonly lines: readonly string[]; readonly targets: readonly string[] };

/** `runSuite` rejects with this when the suite's `setup` asked to skip it (a server it needs is not installed). */
export class SuiteSkipped extends Error {
  constructor(
    readonly suite: string,
    readonly reason: string,
  ) {
    super(`suite "${suite}" skipped: ${reason}`);
    this.name = 'SuiteSkipped';
  }
}

/** A performance target for one task: a bound on its ratio to the floor and/or on its ns per operation. */
export interface Target {
  readonly task: string;
  readonly maxRatioToFloor?: number;
  readonly maxNsPerOp?: number;
}

export interface TaskOptions {
  role?: Role;
  /** Operations per iteration. Default {@link DEFAULT_BATCH}. */
  batch?: number;
  /** Calls each operation makes; ns/op, ops/s and B/op are then per call. Default 1. */
  calls?: number;
  note?: string;
}

/** Default operations per tinybench iteration. */
export const DEFAULT_BATCH = 1000;

// Each task gets its own compiled loop (new Function => its own SharedFunctionInfo and feedback vector), so the
// call site `op()` stays monomorphic and V8 may inline `op` as it would at a real call site. A shared loop closure
// would make the site megamorphic after a few tasks and charge every row a non-inlined call.
type LoopFactory = (op: () => unknown) => (n: number) => unknown;
const SYNC_LOOP_SOURCE = `"use strict";
  return function syncBatch(n) { let sink; for (let i = 0; i < n; i++) sink = op(); return sink; };`;
const ASYNC_LOOP_SOURCE = `"use strict";
  return async function asyncBatch(n) { let last; for (let i = 0; i < n; i++) last = await op(); return last; };`;

function compileLoop(source: string, op: () => unknown): (n: number) => unknown {
  return (new Function('op', source) as LoopFactory)(op);
}

/**
 * A synchronous operation measured in batches: one tinybench iteration runs `op` `batch` times in a loop and the
 * sample is the mean per call. The loop keeps the last result alive so `op` cannot be eliminated.
 */
export function syncTask(name: string, op: () => unknown, options: TaskOptions = {}): BenchTask {
  return {
    name,
    role: options.role ?? 'sluice',
    kind: 'sync',
    batch: options.batch ?? DEFAULT_BATCH,
    calls: options.calls ?? 1,
    note: options.note,
    loop: compileLoop(SYNC_LOOP_SOURCE, op),
  };
}

/** An asynchronous operation: one iteration awaits `op()` `batch` times in sequence (uncontended). */
export function asyncTask(name: string, op: () => PromiseLike<unknown>, options: TaskOptions = {}): BenchTask {
  return {
    name,
    role: options.role ?? 'sluice',
    kind: 'async',
    batch: options.batch ?? DEFAULT_BATCH,
    calls: options.calls ?? 1,
    note: options.note,
    loop: compileLoop(ASYNC_LOOP_SOURCE, op),
  };
}

/** Options of {@link runSuite}. */
export interface RunOptions {
  /** Measuring time per task, ms. Default 1000. */
  timeMs?: number;
  /** Warm-up time per task, ms. Default 300. */
  warmupMs?: number;
  /** Minimum warm-up iterations per task. Default 20. */
  warmupIterations?: number;
  /** Minimum measured iterations per task. Default 64. */
  iterations?: number;
  /** Measure bytes allocated per operation (needs --expose-gc). Default true. */
  allocations?: boolean;
  /** Only tasks whose name matches (the floor always runs). */
  filter?: RegExp;
  /** Called with each row once every task has run (progress reporting). */
  onTask?: (row: ResultRow) => void;
}

/** One line of the result table. */
export interface ResultRow {
  name: string;
  role: Role;
  kind: 'sync' | 'async';
  batch: number;
  /** Calls per operation (figures are per call). */
  calls: number;
  /** Mean ns per operation. */
  nsPerOp: number;
  /** Median ns per operation (median over iterations of the per-iteration mean). */
  p50Ns: number;
  /** 1e9 / p50Ns. */
  opsPerSecond: number;
  /** p50Ns divided by the floor's p50Ns (medians: robust to other processes on a shared machine). */
  ratioToFloor: number;
  /** Relative margin of error of the mean, percent (95 %). */
  rmePercent: number;
  /** Iterations measured (each of `batch` operations). */
  samples: number;
  /** Bytes allocated per operation on the JS heap, or undefined when not measurable. */
  bytesPerOp: number | undefined;
  note?: string;
}

/** The outcome of one suite run. */
export interface SuiteResult {
  suite: Suite;
  rows: ResultRow[];
  startedAt: Date;
  loadBefore: number[];
  loadAfter: number[];
  /** Lines from {@link Suite.extra}. */
  extra: readonly string[];
  /** Target lines from {@link Suite.extra} (already met / MISSED), listed after those of {@link Suite.targets}. */
  extraTargets: readonly string[];
}

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/**
 * Runs every task of `suite` one after the other (gc before each), then measures allocations. Runs the suite's
 * `setup` first (rejecting with {@link SuiteSkipped} when it asks to skip) and its `dispose` last, also on failure.
 */
export async function runSuite(suite: Suite, options: RunOptions = {}): Promise<SuiteResult> {
  try {
    const skip = await suite.setup?.();
    if (skip !== undefined) throw new SuiteSkipped(suite.name, skip);
    return await measure(suite, options);
  } finally {
    await suite.dispose?.();
  }
}

async function measure(suite: Suite, options: RunOptions): Promise<SuiteResult> {
  if (options.filter !== undefined) {
    const re = options.filter;
    suite = { ...suite, tasks: suite.tasks.filter((t) => t.name === suite.floor || re.test(t.name)) };
    suite = { ...suite, targets: suite.targets?.filter((t) => suite.tasks.some((x) => x.name === t.task)) };
  }
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const bench = new Bench({
    name: suite.name,
    time: options.timeMs ?? 1000,
    iterations: options.iterations ?? 64,
    warmup: true,
    warmupTime: options.warmupMs ?? 300,
    warmupIterations: options.warmupIterations ?? 20,
    throws: true,
  });
  for (const task of suite.tasks) {
    const { loop } = task;
    const batch = task.batch;
    const per = batch * task.calls;
    const beforeAll = (): void => gc?.();
    if (task.kind === 'sync') {
      bench.add(
        task.name,
        () => {
          const t0 = performance.now();
          loop(batch);
          const dt = performance.now() - t0;
          return { overriddenDuration: dt / per, overriddenIterationCost: dt };
        },
        { async: false, beforeAll },
      );
    } else {
      bench.add(
        task.name,
        async () => {
          const t0 = performance.now();
          await loop(batch);
          const dt = performance.now() - t0;
          return { overriddenDuration: dt / per, overriddenIterationCost: dt };
        },
        { async: true, beforeAll },
      );
    }
  }
  await bench.run();

  const rows: ResultRow[] = [];
  for (const task of suite.tasks) {
    const result = bench.getTask(task.name)!.result;
    if (!('latency' in result)) throw new Error(`bench: task "${task.name}" did not complete (${result.state})`);
    const lat = result.latency;
    const nsPerOp = lat.mean * 1e6;
    rows.push({
      name: task.name,
      role: task.role,
      kind: task.kind,
      batch: task.batch,
      calls: task.calls,
      nsPerOp,
      p50Ns: lat.p50 * 1e6,
      opsPerSecond: 1e9 / (lat.p50 * 1e6),
      ratioToFloor: NaN,
      rmePercent: lat.rme,
      samples: lat.samplesCount,
      bytesPerOp: undefined,
      note: task.note,
    });
  }
  const floor = rows.find((r) => r.name === suite.floor);
  if (floor === undefined) throw new Error(`bench: suite "${suite.name}" names floor "${suite.floor}", which is not one of its tasks`);
  for (const r of rows) r.ratioToFloor = r.p50Ns / floor.p50Ns;

  if ((options.allocations ?? true) && suite.allocations !== false && gc !== undefined) {
    for (let i = 0; i < rows.length; i++) {
      const b = await bytesPerOp(suite.tasks[i]!);
      rows[i]!.bytesPerOp = b === undefined ? undefined : b / suite.tasks[i]!.calls;
    }
  }
  for (const r of rows) options.onTask?.(r);
  const out = options.filter === undefined && suite.extra !== undefined ? await suite.extra() : [];
  const extra = isLines(out) ? out : out.lines;
  const extraTargets = isLines(out) ? [] : out.targets;
  return { suite, rows, startedAt, loadBefore, loadAfter: os.loadavg(), extra, extraTargets };
}

function isLines(x: ExtraResult): x is readonly string[] {
  return Array.isArray(x);
}

// ---- allocation probe --------------------------------------------------------------------------------------------

let gcEvents = 0;
let observer: PerformanceObserver | undefined;

function flushMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Bytes of JS heap allocated per operation: heap used after `n` operations minus before, divided by `n`, with a
 * full gc before and no gc in between (checked with a gc PerformanceObserver; `n` shrinks until no gc ran). The
 * heap's used size counts new-space allocation exactly, so short-lived garbage (promises, result objects) counts.
 * Returns undefined when even a small batch triggers a gc.
 */
export async function bytesPerOp(task: BenchTask): Promise<number | undefined> {
  if (gc === undefined) return undefined;
  if (observer === undefined) {
    observer = new PerformanceObserver((list) => {
      gcEvents += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  // Sized in calls: an operation that is a burst of many calls runs proportionally fewer times.
  const ops = (calls: number): number => Math.max(1, Math.round(calls / task.calls));
  await task.loop(ops(1000)); // warm: feedback, inline caches, lazy fields
  for (let calls = 20_000; calls >= 500; calls = Math.floor(calls / 4)) {
    const n = ops(calls);
    // Subtract the probe's own cost (a zero-op loop) so only the operations are charged.
    const sample = async (count: number): Promise<number | undefined> => {
      gc!();
      gc!();
      // gc entries reach the observer a turn or two later: let those of the forced gcs arrive before counting.
      await flushMacrotask();
      await flushMacrotask();
      const events = gcEvents;
      const before = v8.getHeapStatistics().used_heap_size;
      await task.loop(count);
      const after = v8.getHeapStatistics().used_heap_size;
      await flushMacrotask();
      await flushMacrotask();
      return gcEvents === events ? after - before : undefined;
    };
    const base = await sample(0);
    const used = await sample(n);
    if (base !== undefined && used !== undefined) return Math.max(0, (used - base) / n);
  }
  return undefined;
}

// ---- rendering ---------------------------------------------------------------------------------------------------

/** Facts about the machine and runtime, for the docs. */
export interface MachineFacts {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  tinybench: string;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  let tinybench = 'unknown';
  try {
    tinybench = (JSON.parse(readFileSync(new URL('../node_modules/tinybench/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    // reported as unknown
  }
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    tinybench,
  };
}

function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(digits);
}

function fmtBytes(b: number | undefined): string {
  if (b === undefined) return 'n/a';
  return b < 0.5 ? '0' : b.toFixed(b < 10 ? 1 : 0);
}

const HEADERS = ['task', 'role', 'ns/op (median)', 'ops/s (median)', '× floor (median)', 'ns/op (mean)', '± rme (mean)', 'B/op', 'samples'];

function cells(r: ResultRow): string[] {
  return [
    r.name,
    r.role,
    fmt(r.p50Ns),
    Math.round(r.opsPerSecond).toLocaleString('en-US'),
    r.ratioToFloor.toFixed(2),
    fmt(r.nsPerOp),
    `${r.rmePercent.toFixed(1)} %`,
    fmtBytes(r.bytesPerOp),
    r.calls === 1 ? `${r.samples} × ${r.batch}` : `${r.samples} × ${r.batch} × ${r.calls} calls`,
  ];
}

/** One line per target: `met` or `MISSED`, with the measured figure. */
export function targetLines(result: SuiteResult): string[] {
  const out: string[] = [];
  for (const t of result.suite.targets ?? []) {
    const r = result.rows.find((x) => x.name === t.task);
    if (r === undefined) throw new Error(`bench: target names task "${t.task}", which suite "${result.suite.name}" lacks`);
    if (t.maxRatioToFloor !== undefined) {
      const ok = r.ratioToFloor <= t.maxRatioToFloor;
      const floor = result.rows.find((x) => x.name === result.suite.floor)!;
      out.push(
        `${ok ? 'met' : 'MISSED'}: \`${t.task}\` ≤ ${t.maxRatioToFloor}× floor: median ${r.ratioToFloor.toFixed(2)}× (${fmt(r.p50Ns)} vs ${fmt(floor.p50Ns)} ns), ` +
          `mean ${(r.nsPerOp / floor.nsPerOp).toFixed(2)}× (${fmt(r.nsPerOp)} vs ${fmt(floor.nsPerOp)} ns)`,
      );
    }
    if (t.maxNsPerOp !== undefined) {
      const ok = r.p50Ns <= t.maxNsPerOp;
      out.push(`${ok ? 'met' : 'MISSED'}: \`${t.task}\` ≤ ${t.maxNsPerOp} ns: median ${fmt(r.p50Ns)} ns, mean ${fmt(r.nsPerOp)} ns ± ${r.rmePercent.toFixed(1)} %`);
    }
  }
  out.push(...result.extraTargets);
  return out;
}

/** The result as an aligned plain-text table, for the terminal. */
export function textTable(result: SuiteResult): string {
  const rows = [HEADERS, ...result.rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The result as a markdown section (machine facts, command, date, table, notes). */
export function markdownSection(result: SuiteResult, facts: MachineFacts, command: string): string {
  const { suite } = result;
  const out: string[] = [];
  out.push(`### ${suite.title}`, '');
  out.push(`- Command: \`${command}\``);
  out.push(`- Date: ${result.startedAt.toISOString()}`);
  out.push(`- Machine: ${facts.cpu}, ${facts.cores} cores, ${facts.platform}; Node ${facts.node} (V8 ${facts.v8}); tinybench ${facts.tinybench}`);
  out.push(`- Load average (1 min) before / after: ${result.loadBefore[0]!.toFixed(2)} / ${result.loadAfter[0]!.toFixed(2)}`);
  out.push(`- Floor (× floor = 1.00): \`${suite.floor}\``, '');
  out.push(`| ${HEADERS.join(' | ')} |`);
  out.push(`|${HEADERS.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const r of result.rows) out.push(`| ${cells(r).map((c, i) => (i === 0 ? `\`${c}\`` : c)).join(' | ')} |`);
  if (result.extra.length > 0) out.push('', ...result.extra);
  const targets = targetLines(result);
  if (targets.length > 0) {
    out.push('', 'Targets:', '');
    for (const t of targets) out.push(`- ${t}`);
  }
  const notes = [...(suite.notes ?? []), ...result.rows.filter((r) => r.note !== undefined).map((r) => `\`${r.name}\`: ${r.note}`)];
  if (notes.length > 0) {
    out.push('', 'Notes:', '');
    for (const n of notes) out.push(`- ${n}`);
  }
  return out.join('\n');
}

const START = (name: string): string => `<!-- bench:${name}:start -->`;
const END = (name: string): string => `<!-- bench:${name}:end -->`;
/** Marker before which new suite sections are inserted. */
export const SECTIONS_END = '<!-- bench:sections-end -->';

/** Offset of `marker` where it stands on a line of its own (prose may quote a marker inline), or -1. */
function markerAt(doc: string, marker: string): number {
  for (let at = doc.indexOf(marker); at !== -1; at = doc.indexOf(marker, at + 1)) {
    const end = at + marker.length;
    if ((at === 0 || doc[at - 1] === '\n') && (end === doc.length || doc[end] === '\n' || doc[end] === '\r')) return at;
  }
  return -1;
}

/**
 * Replaces the generated section of `suiteName` in the markdown file (between its start/end markers, each on a line
 * of its own, wherever they sit in the page), or inserts it before {@link SECTIONS_END} (or at the end). Text outside
 * the markers is left alone.
 */
export function updateMarkdown(path: string, suiteName: string, section: string): void {
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${SECTIONS_END}\n`;
  const block = `${START(suiteName)}\n${section}\n${END(suiteName)}`;
  const s = markerAt(doc, START(suiteName));
  const e = markerAt(doc, END(suiteName));
  let next: string;
  if (s !== -1 && e > s) next = doc.slice(0, s) + block + doc.slice(e + END(suiteName).length);
  else {
    const at = markerAt(doc, SECTIONS_END);
    next = at === -1 ? `${doc.trimEnd()}\n\n${block}\n` : `${doc.slice(0, at)}${block}\n\n${doc.slice(at)}`;
  }
  writeFileSync(path, next);
}
