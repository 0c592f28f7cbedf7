/**
 * Scratch benchmark: success-path cost of sluice timeout() and fallback(), side by side with the bare call and
 * cockatiel 3's timeout(ms, Cooperative) and fallback, on the shared harness (batched, median, B/op).
 *
 *   node --expose-gc --import tsx bench/scratch-timeout.ts [--filter <regex>] [--time <ms>]
 *
 * Not registered in bench/suites/ (the suite owner decides); it can move there as is.
 */
import { parseArgs } from 'node:util';
import { TimeoutStrategy, fallback as cFallback, handleAll, timeout as cTimeout } from 'cockatiel';
import { fallback, pipeline, systemClock, timeout, tokenBucket, type Clock } from '../src/index.js';
import { asyncTask, runSuite, targetLines, textTable, type Suite } from './harness.js';

const { values } = parseArgs({ options: { filter: { type: 'string' }, time: { type: 'string' } } });

const fn = async (): Promise<number> => 1;
const syncFn = (): number => 1;
const readsSignal = ({ signal }: { signal: AbortSignal }): Promise<boolean> => Promise.resolve(signal.aborted);

const fixedClock: Clock = { now: () => 1, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
const t = timeout({ timeoutMs: 1_000, name: 'bench-timeout' });
const tFixed = timeout({ timeoutMs: 1_000, name: 'bench-timeout-fixed', clock: fixedClock });
const fb = fallback({ value: 0, name: 'bench-fallback' });
const bucket = tokenBucket({ capacity: 1e12, refillPerSecond: 1e12, name: 'bench-bucket' });
const piped = pipeline(bucket, t);
const signal = new AbortController().signal;
const ct = cTimeout(1_000, TimeoutStrategy.Cooperative);
const cfb = cFallback(handleAll, 0);

// The least any timeout can do: return a promise of its own (one it could reject at the deadline) and subscribe
// to fn's. No timer, no bookkeeping: a lower bound for every design, not a usable timeout.
let captured: [(v: unknown) => void, (e: unknown) => void] = [() => {}, () => {}];
const capture = (resolve: (v: unknown) => void, reject: (e: unknown) => void): void => void (captured = [resolve, reject]);
function ownPromise(): Promise<unknown> {
  const p = new Promise(capture);
  const [resolve, reject] = captured;
  fn().then(resolve, reject);
  return p;
}

const onError = (): number => 0;

const suite: Suite = {
  name: 'timeout-scratch',
  title: 'timeout() and fallback(), success path',
  floor: 'await fn()',
  tasks: [
    asyncTask('await fn()', () => fn(), { role: 'floor', note: '`fn = async () => 1`, awaited in a sequential loop.' }),
    asyncTask('own promise + fn().then(resolve, reject)', ownPromise, {
      role: 'reference',
      note: 'the least any timeout can do (its own promise, subscribed to fn): a lower bound, not a timeout.',
    }),
    asyncTask('timeout.execute(fn)', () => t.execute(fn)),
    asyncTask('timeout.execute(fn) [fixed clock]', () => tFixed.execute(fn), { note: 'a clock whose now() is a constant: everything but the time read.' }),
    asyncTask('timeout.execute(syncFn)', () => t.execute(syncFn), { note: '`syncFn = () => 1`: settles synchronously, no heap entry, no promise of its own.' }),
    asyncTask('timeout.execute(fn reads ctx.signal)', () => t.execute(readsSignal), { note: 'fn reads ctx.signal: the AbortController is created.' }),
    asyncTask('timeout.execute(fn, { signal })', () => t.execute(fn, { signal }), { note: "a caller's signal: a per-call context and an abort listener added and removed." }),
    asyncTask('pipeline(tokenBucket, timeout).execute(fn)', () => piped.execute(fn)),
    asyncTask('fn().then(undefined, handler)', () => fn().then(undefined, onError), {
      role: 'reference',
      note: 'the least any fallback can do (subscribe to the rejection): a lower bound.',
    }),
    asyncTask('fallback.execute(fn)', () => fb.execute(fn)),
    asyncTask('cockatiel timeout(1000, Cooperative).execute(fn)', () => ct.execute(fn), { role: 'peer', note: 'cockatiel 3.2.1: a timer and an AbortController per call.' }),
    asyncTask('cockatiel fallback(handleAll, 0).execute(fn)', () => cfb.execute(fn), { role: 'peer' }),
  ],
  targets: [
    { task: 'timeout.execute(fn)', maxRatioToFloor: 2 },
    { task: 'fallback.execute(fn)', maxRatioToFloor: 2 },
  ],
};

const result = await runSuite(suite, {
  timeMs: values.time === undefined ? undefined : Number(values.time),
  filter: values.filter === undefined ? undefined : new RegExp(values.filter),
});
console.log(textTable(result));
for (const line of targetLines(result)) console.log(line);
