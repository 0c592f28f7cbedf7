// Scratch micro-benchmark: per-call overhead of sluice timeout() and fallback() on the success path, next to a bare
// call and cockatiel 3 timeout(ms, Cooperative) / fallback. Run: node --expose-gc --import tsx bench/scratch-timeout.ts
import { Bench } from 'tinybench';
import { TimeoutStrategy, timeout as cTimeout, fallback as cFallback, handleAll } from 'cockatiel';
import { timeout } from '../src/timeout/index.js';
import { fallback } from '../src/fallback/index.js';
import { tokenBucket } from '../src/rate/index.js';
import { pipeline } from '../src/core/pipeline.js';

const asyncFn = async (): Promise<number> => 1;
const syncFn = (): number => 1;
const signalFn = ({ signal }: { signal: AbortSignal }): Promise<boolean> => Promise.resolve(signal.aborted);

const t = timeout({ timeoutMs: 1_000 });
const ct = cTimeout(1_000, TimeoutStrategy.Cooperative);
const fb = fallback({ value: 0 });
const cfb = cFallback(handleAll, 0);
const bucket = tokenBucket({ capacity: 1e12, refillPerSecond: 1e12 });
const piped = pipeline(bucket, t);
const ac = new AbortController();

const bench = new Bench({ time: Number(process.env.BENCH_MS ?? 1000), warmup: true });
bench
  .add('bare: await asyncFn()', async () => { await asyncFn(); })
  .add('sluice timeout, async fn', async () => { await t.execute(asyncFn); })
  .add('sluice timeout, sync fn', async () => { await t.execute(syncFn); })
  .add('sluice timeout, fn reads ctx.signal', async () => { await t.execute(signalFn); })
  .add('sluice timeout, caller signal', async () => { await t.execute(asyncFn, { signal: ac.signal }); })
  .add('cockatiel timeout Cooperative, async fn', async () => { await ct.execute(asyncFn); })
  .add('sluice fallback, async fn', async () => { await fb.execute(asyncFn); })
  .add('cockatiel fallback, async fn', async () => { await cfb.execute(asyncFn); })
  .add('bare tokenBucket.execute', async () => { await bucket.execute(asyncFn); })
  .add('pipeline(tokenBucket, timeout)', async () => { await piped.execute(asyncFn); });

// BENCH_ONLY=substring keeps the bare call plus the matching tasks (run cockatiel apart: its garbage slows what follows).
const only = process.env.BENCH_ONLY;
if (only !== undefined) for (const task of [...bench.tasks].slice(1)) if (!task.name.includes(only)) bench.remove(task.name);
await bench.run();
type Latency = { mean: number; p50?: number };
const latency = (i: number): Latency => (bench.tasks[i]!.result as unknown as { latency: Latency }).latency;
const base = latency(0).mean;
console.table(
  bench.tasks.map((task, i) => ({
    task: task.name,
    'mean ns': Math.round(latency(i).mean * 1e6),
    'p50 ns': Math.round((latency(i).p50 ?? NaN) * 1e6),
    'x bare': (latency(i).mean / base).toFixed(2),
    'overhead ns': Math.round((latency(i).mean - base) * 1e6),
  })),
);
