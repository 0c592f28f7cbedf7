/**
 * Allocation check over a million calls: for each uncontended operation, the number of garbage collections that
 * ran during 10⁶ calls and the heap growth, after a full gc. No gc and no growth means the path allocates nothing;
 * compare the async rows with the `await fn()` floor, which allocates what any awaited async call does.
 *
 *   node --expose-gc --import tsx bench/gc-check.ts
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { leakyBucket, systemClock, tokenBucket, type Clock } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const N = 1_000_000;
const fn = async (): Promise<number> => 1;
const fixedClock: Clock = { now: () => 1, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
const bucket = tokenBucket({ capacity: 1e12, refillPerSecond: 1e12 });
const bucketFixed = tokenBucket({ capacity: 1e12, refillPerSecond: 1e12, clock: fixedClock });
const pacer = leakyBucket({ ratePerSecond: 1e12, burst: 1e12 });

let minor = 0;
let major = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    else major++;
  }
}).observe({ entryTypes: ['gc'] });
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const cases: [string, () => unknown][] = [
  ['tokenBucket.tryAcquire() [fixed clock]', () => bucketFixed.tryAcquire()],
  ['tokenBucket.tryAcquire()', () => bucket.tryAcquire()],
  ['leakyBucket.tryAcquire()', () => pacer.tryAcquire()],
  ['systemClock.now()', () => systemClock.now()],
  ['await fn()', () => fn()],
  ['tokenBucket.execute(fn) [fixed clock]', () => bucketFixed.execute(fn)],
  ['tokenBucket.execute(fn)', () => bucket.execute(fn)],
  ['leakyBucket.execute(fn)', () => pacer.execute(fn)],
];

console.log(`${'operation'.padEnd(40)} ${'scavenges'.padStart(9)} ${'other gcs'.padStart(9)} ${'heap growth'.padStart(12)}  (over ${N.toLocaleString('en-US')} calls)`);
for (const [name, op] of cases) {
  const loop = new Function('op', `return async function (n, isAsync) { let s; for (let i = 0; i < n; i++) s = isAsync ? await op() : op(); return s; }`)(op) as (n: number, isAsync: boolean) => Promise<unknown>;
  const isAsync = op() instanceof Promise;
  await loop(100_000, isAsync); // warm up
  gc();
  gc();
  await turn();
  await turn();
  const [m0, j0] = [minor, major];
  const before = v8.getHeapStatistics().used_heap_size;
  await loop(N, isAsync);
  const after = v8.getHeapStatistics().used_heap_size;
  await turn();
  await turn();
  console.log(`${name.padEnd(40)} ${String(minor - m0).padStart(9)} ${String(major - j0).padStart(9)} ${`${((after - before) / 1024).toFixed(0)} KB`.padStart(12)}`);
}
