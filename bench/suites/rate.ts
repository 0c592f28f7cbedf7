/**
 * Admission, uncontended: what a rate limiter, a bulkhead, the adaptive limiter or the adaptive throttle costs when
 * nothing waits. sluice's token and leaky buckets, bulkhead, adaptive limiter and throttle side by side with the bare call, the clock read every rate limiter must make, and the peers
 * (p-limit, limiter, cockatiel).
 */
import { bulkhead, noop } from 'cockatiel';
import { RateLimiter, TokenBucket as LimiterTokenBucket } from 'limiter';
import pLimit from 'p-limit';
import { adaptiveLimiter, adaptiveThrottle, bulkhead as sluiceBulkhead, coarseClock, leakyBucket, systemClock, tokenBucket, type Clock } from '../../src/index.js';
import { asyncTask, syncTask, type Suite } from '../harness.js';

// Large capacity and rate: every call is admitted at once, nothing ever waits or is refused (checked in dispose()).
const BIG = 1e12;

/** The protected function: the cheapest async function there is. */
const fn = async (): Promise<number> => 1;

const bucket = tokenBucket({ name: 'bench-token', capacity: BIG, refillPerSecond: BIG });
const pacer = leakyBucket({ name: 'bench-leaky', ratePerSecond: BIG, burst: BIG });
// A limit no sequential loop reaches: every call is admitted at once.
const gate = sluiceBulkhead({ name: 'bench-bulkhead', limit: 1_000_000 });
// The adaptive limiter with its defaults (sluiceLimit, initial limit 20): a sequential loop never has two in flight.
const adaptive = adaptiveLimiter({ name: 'bench-adaptive' });
const throttle = adaptiveThrottle({ name: 'bench-throttle' });

/** One admission and its release: what a caller of tryAcquire pays per protected call. */
const tryAndRelease = (l: { tryAcquire(): { ok: boolean; permit?: { release(): void } } }) => (): void => {
  const r = l.tryAcquire();
  if (r.ok) r.permit!.release();
};
const bulkheadTry = tryAndRelease(gate);
const adaptiveTry = tryAndRelease(adaptive);

// A clock that never moves: tryAcquire then pays for everything but the time read.
const fixedClock: Clock = { now: () => 1, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
const bucketFixed = tokenBucket({ name: 'bench-token-fixed', capacity: BIG, refillPerSecond: BIG, clock: fixedClock });

// The opt-in cached clock (1 ms ticker): the precise default's read costs more than the bare call.
const coarse = coarseClock();
const bucketCoarse = tokenBucket({ name: 'bench-token-coarse', capacity: BIG, refillPerSecond: BIG, clock: coarse });
const pacerCoarse = leakyBucket({ name: 'bench-leaky-coarse', ratePerSecond: BIG, burst: BIG, clock: coarse });
const adaptiveCoarse = adaptiveLimiter({ name: 'bench-adaptive-coarse', clock: coarse });

const adaptiveCoarseTry = tryAndRelease(adaptiveCoarse);

/** A caller's signal that never fires, for the per-call-options row. */
const signal = new AbortController().signal;

const limit = pLimit(1_000_000);
const limiterBucket = new LimiterTokenBucket({ bucketSize: BIG, tokensPerInterval: BIG, interval: 'second' });
limiterBucket.content = BIG;
const limiterRate = new RateLimiter({ tokensPerInterval: BIG, interval: 'second' });
const cockBulkhead = bulkhead(1_000_000);

const suite: Suite = {
  name: 'rate',
  title: 'Rate limiters (tokenBucket, leakyBucket), bulkhead, adaptive limiter and throttle, uncontended',
  floor: 'await fn()',
  tasks: [
    asyncTask('await fn()', () => fn(), { role: 'floor', note: '`fn = async () => 1`, awaited in a sequential loop: the cost of the call itself.' }),
    syncTask('empty batch loop', () => undefined, { role: 'reference', note: 'the batch loop around a no-op: what every sync row includes.' }),
    syncTask('performance.now()', () => performance.now(), { role: 'reference', note: 'the system clock read that any rate limiter must make per call.' }),
    syncTask('systemClock.now()', () => systemClock.now(), { role: 'reference', note: "the same read through sluice's injected Clock." }),
    syncTask('tokenBucket.tryAcquire()', () => bucket.tryAcquire()),
    syncTask('tokenBucket.tryAcquire() [fixed clock]', () => bucketFixed.tryAcquire(), {
      note: 'the same on a clock whose now() returns a constant: everything but the time read.',
    }),
    syncTask('leakyBucket.tryAcquire()', () => pacer.tryAcquire()),
    syncTask('tokenBucket.tryAcquire() [coarseClock]', () => bucketCoarse.tryAcquire(), {
      note: 'on the opt-in `coarseClock()` (time cached by a 1 ms ticker, lags by at most ~1 ms).',
    }),
    asyncTask('tokenBucket.execute(fn)', () => bucket.execute(fn)),
    asyncTask('tokenBucket.execute(fn) [fixed clock]', () => bucketFixed.execute(fn), {
      note: 'the same on the constant clock: the execute overhead besides the time read.',
    }),
    asyncTask('tokenBucket.execute(fn, { signal })', () => bucket.execute(fn, { signal }), {
      note: 'with per-call options (a fresh `{ signal }` object each call): validation and a per-call context.',
    }),
    asyncTask('leakyBucket.execute(fn)', () => pacer.execute(fn)),
    asyncTask('tokenBucket.execute(fn) [coarseClock]', () => bucketCoarse.execute(fn), { note: 'on the opt-in `coarseClock()`.' }),
    asyncTask('leakyBucket.execute(fn) [coarseClock]', () => pacerCoarse.execute(fn), { note: 'on the opt-in `coarseClock()`.' }),
    asyncTask('bulkhead.execute(fn)', () => gate.execute(fn), {
      note: '`bulkhead({ limit: 1e6 })`: a permit held until fn settles, so unlike the buckets it subscribes to fn\'s promise.',
    }),
    asyncTask('adaptiveLimiter.execute(fn)', () => adaptive.execute(fn), {
      note: '`adaptiveLimiter()` with its defaults: the bulkhead plus a clock read at admission and release, one sample for the algorithm (per call; the algorithm updates the limit once per window).',
    }),
    asyncTask('adaptiveLimiter.execute(fn) [coarseClock]', () => adaptiveCoarse.execute(fn), {
      note: 'on the opt-in `coarseClock()`: RTTs to the millisecond, which is what a window mean of dependency calls needs.',
    }),
    syncTask('2 × systemClock.now()', () => systemClock.now() + systemClock.now(), {
      role: 'reference',
      note: 'the two time reads a measured call needs (admission and release): the floor under any limiter that times every call.',
    }),
    syncTask('bulkhead.tryAcquire() + release()', bulkheadTry, { note: 'a permit taken and released: what a tryAcquire caller pays per protected call.' }),
    syncTask('adaptiveLimiter.tryAcquire() + release()', adaptiveTry, { note: 'the same for the adaptive limiter: the release feeds the algorithm its sample.' }),
    syncTask('adaptiveLimiter.tryAcquire() + release() [coarseClock]', adaptiveCoarseTry, { note: 'the same on the opt-in `coarseClock()`.' }),
    asyncTask('adaptiveThrottle.execute(fn)', () => throttle.execute(fn), {
      note: '`adaptiveThrottle()` with its defaults: a window lookup and, once it holds requests that were refused, a random draw.',
    }),
    asyncTask('p-limit limit(fn)', () => limit(fn), { role: 'peer', note: 'p-limit 7, concurrency 1e6 (never queues).' }),
    syncTask('limiter TokenBucket.tryRemoveTokens(1)', () => limiterBucket.tryRemoveTokens(1), {
      role: 'peer',
      note: "limiter 3: its TokenBucket's non-waiting take, the analogue of tryAcquire.",
    }),
    syncTask('limiter RateLimiter.tryRemoveTokens(1)', () => limiterRate.tryRemoveTokens(1), { role: 'peer' }),
    asyncTask(
      'limiter RateLimiter.removeTokens(1); fn()',
      async () => {
        await limiterRate.removeTokens(1);
        return fn();
      },
      { role: 'peer', note: 'limiter has no execute(); this is how its README guards a call: await removeTokens, then call.' },
    ),
    asyncTask('cockatiel bulkhead.execute(fn)', () => cockBulkhead.execute(fn), {
      role: 'peer',
      note: "cockatiel 3.2.1 has no rate limiter; its bulkhead (limit 1e6) is its closest uncontended admission analogue.",
    }),
    asyncTask('cockatiel noop.execute(fn)', () => noop.execute(fn), { role: 'peer', note: "cockatiel's no-op policy: the cost of its execute() wrapper alone." }),
  ],
  targets: [
    { task: 'tokenBucket.execute(fn)', maxRatioToFloor: 2 },
    { task: 'leakyBucket.execute(fn)', maxRatioToFloor: 2 },
    { task: 'tokenBucket.tryAcquire()', maxNsPerOp: 40 },
    { task: 'adaptiveLimiter.execute(fn)', maxRatioToFloor: 2.5 },
    { task: 'adaptiveLimiter.tryAcquire() + release()', maxNsPerOp: 60 },
    { task: 'tokenBucket.execute(fn) [coarseClock]', maxRatioToFloor: 2 },
    { task: 'leakyBucket.execute(fn) [coarseClock]', maxRatioToFloor: 2 },
  ],
  notes: [
    'Sync rows run 1000 operations per tinybench iteration and report the mean per operation; async rows await 1000 calls in sequence per iteration.',
    'B/op: JS heap bytes allocated per operation (heap used after a batch minus before, no gc in between).',
  ],
  dispose() {
    if (throttle.stats().rejected !== 0) throw new Error('bench: the throttle refused calls');
    throttle.dispose();
    for (const l of [bucket, pacer, bucketFixed, bucketCoarse, pacerCoarse, gate, adaptive, adaptiveCoarse]) {
      const s = l.stats();
      if (s.rejected !== 0 || s.queued !== 0) throw new Error(`bench: ${s.name} was contended (rejected ${s.rejected}, queued ${s.queued})`);
      l.dispose();
    }
    if (!limiterBucket.tryRemoveTokens(1) || !limiterRate.tryRemoveTokens(1)) throw new Error('bench: limiter peers ran dry');
  },
};

export default suite;
