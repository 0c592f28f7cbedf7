import { describe, expect, it } from 'vitest';
import { tokenBucket, type TokenBucketOptions } from '../../src/rate/token-bucket.js';
import { RateLimitedError, isRejectedError } from '../../src/core/errors.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, collectEvents } from '../../src/testing/index.js';
import type { RejectEvent } from '../../src/core/telemetry.js';
import {
  COMMON_OPTION_CASES,
  expectNoListenersAfterSettle,
  expectOneTimerWhileDraining,
  expectBigHeadBlocks,
  expectOptionError,
  expectRejectsNonObjectOptions,
  positiveNumberCases,
  expectRefusal,
  expectRejected,
  expectWithinHdr,
  findSample,
  itRejectsEachOption,
  sampleValue,
  settleMicrotasks,
  track,
  type OptionCase,
} from './harness.js';
import { checkRetryAfterExact } from './prop-driver.js';

const BASE = { capacity: 5, refillPerSecond: 2 };

describe('tokenBucket', () => {
  describe('options', () => {
    it('requires capacity and refillPerSecond, naming the missing option', () => {
      expectOptionError(() => tokenBucket({ refillPerSecond: 1 } as TokenBucketOptions), TypeError, 'capacity');
      expectOptionError(() => tokenBucket({ capacity: 1 } as TokenBucketOptions), TypeError, 'refillPerSecond');
      expectOptionError(() => tokenBucket(undefined as unknown as TokenBucketOptions), TypeError, 'capacity');
    });

    it('rejects an options argument that is not an object', () => {
      expectRejectsNonObjectOptions(tokenBucket, 'tokenBucket');
    });

    const cases: OptionCase[] = [
      ...positiveNumberCases('capacity'),
      ...positiveNumberCases('refillPerSecond'),
      ['initialTokens', -1, RangeError, '-1'],
      ['initialTokens', 5.5, RangeError, '5.5'],
      ['initialTokens', Number.NaN, RangeError, 'NaN'],
      ['initialTokens', Infinity, RangeError, 'Infinity'],
      ['initialTokens', '1', TypeError, '"1"'],
      ['refillPerSecond', 1e-306, RangeError, '1e-306'],
      ['refillPerSecond', 9.9e-7, RangeError, '9.9e-7'],
      ['refillPerSecond', 1.1e12, RangeError, '1100000000000'],
      ['capacity', 5e-324, RangeError, '5e-324'],
      ['capacity', 9e-7, RangeError, '9e-7'],
      ['capacity', 2e15, RangeError, '2000000000000000'],
      ...COMMON_OPTION_CASES,
    ];
    itRejectsEachOption(cases, (option, value) => tokenBucket({ ...BASE, [option]: value } as TokenBucketOptions));

    it('accepts the edges of every range', () => {
      const clock = new ManualClock();
      expect(() => tokenBucket({ ...BASE, clock, initialTokens: 0 })).not.toThrow();
      expect(() => tokenBucket({ ...BASE, clock, initialTokens: 5 })).not.toThrow();
      expect(() => tokenBucket({ ...BASE, clock, maxQueue: 0, maxWaitMs: 0 })).not.toThrow();
      expect(() => tokenBucket({ ...BASE, clock, maxQueue: Infinity, maxWaitMs: Infinity, dryRun: true })).not.toThrow();
      expect(() => tokenBucket({ capacity: 0.5, refillPerSecond: 0.001, clock })).not.toThrow();
      expect(() => tokenBucket({ capacity: 1e-6, refillPerSecond: 1e-6, clock })).not.toThrow();
      expect(() => tokenBucket({ capacity: 1e15, refillPerSecond: 1e12, clock })).not.toThrow();
    });

    it('regression: a misspelt option name (maxQeue) is a TypeError naming it and the closest known one, not silently ignored', () => {
      const clock = new ManualClock();
      expect(() => tokenBucket({ ...BASE, clock, maxQeue: 10 } as TokenBucketOptions)).toThrow(TypeError);
      expect(() => tokenBucket({ ...BASE, clock, maxQeue: 10 } as TokenBucketOptions)).toThrow(/unknown option "maxQeue" \(did you mean "maxQueue"\?\)/);
      expect(() => tokenBucket({ ...BASE, clock, refilPerSecond: 3 } as TokenBucketOptions)).toThrow(/did you mean "refillPerSecond"/);
      const bucket = tokenBucket({ ...BASE, clock });
      expect(() => bucket.configure({ capacty: 3 } as never)).toThrow(/tokenBucket.configure: unknown option "capacty" \(did you mean "capacity"\?\)/);
      // configure() takes only what it can change.
      expect(() => bucket.configure({ maxQueue: 3 } as never)).toThrow(/unknown option "maxQueue"/);
      expect(bucket.stats()).toMatchObject({ capacity: 5, refillPerSecond: 2 });
    });

    it('defaults: a full bucket, no queue, unbounded wait, enforcing, named tokenBucket', () => {
      const s = tokenBucket({ ...BASE, clock: new ManualClock() }).stats();
      expect(s).toMatchObject({ name: 'tokenBucket', tokens: 5, capacity: 5, refillPerSecond: 2, maxQueue: 0, maxWaitMs: Infinity, dryRun: false });
    });

    it('validates configure() like the factory', () => {
      const bucket = tokenBucket({ ...BASE, clock: new ManualClock() });
      expectOptionError(() => bucket.configure({ capacity: Number.NaN }), RangeError, 'capacity', 'NaN');
      expectOptionError(() => bucket.configure({ capacity: 0 }), RangeError, 'capacity', '0');
      expectOptionError(() => bucket.configure({ refillPerSecond: -1 }), RangeError, 'refillPerSecond', '-1');
      expectOptionError(() => bucket.configure({ refillPerSecond: Infinity }), RangeError, 'refillPerSecond', 'Infinity');
      expectOptionError(() => bucket.configure({ capacity: '3' as unknown as number }), TypeError, 'capacity', '"3"');
      expectOptionError(() => bucket.configure({ refillPerSecond: 1e-306 }), RangeError, 'refillPerSecond', '1e-306');
      expectOptionError(() => bucket.configure({ capacity: 2e15 }), RangeError, 'capacity', '2000000000000000');
      expect(() => bucket.configure(null as never)).toThrow(TypeError);
      // A refused configuration changes nothing.
      expect(bucket.stats()).toMatchObject({ capacity: 5, refillPerSecond: 2 });
    });
  });

  describe('admission', () => {
    it('admits a burst of capacity, then refuses with RATE_LIMITED and the time until the next token', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ ...BASE, clock, name: 'api' });
      for (let i = 0; i < 5; i++) expect(bucket.tryAcquire().ok).toBe(true);
      expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', 1000 / 2);
      const e = await bucket.execute(() => 'never').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RateLimitedError);
      expect(e).toMatchObject({ code: 'RATE_LIMITED', policy: 'api', retryAfterMs: 500 });
      // Default maxQueue is 0: acquire() refuses like tryAcquire().
      await expect(bucket.acquire()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 500 });
      expect(bucket.stats()).toMatchObject({ admitted: 5, rejected: 3 });
      expect(bucket.stats().rejectedBy.RATE_LIMITED).toBe(3);
    });

    it('retryAfterMs is exact: the call succeeds at now + retryAfterMs and fails 1 ms before', async () => {
      const clock = new ManualClock();
      const rate = 7;
      const bucket = tokenBucket({ capacity: 3, refillPerSecond: rate, clock });
      expect(bucket.tryAcquire({ cost: 3 }).ok).toBe(true);
      await clock.advance(50);
      const r = bucket.tryAcquire({ cost: 2 });
      const expected = ((2 - (rate * 50) / 1000) / rate) * 1000;
      expectRefusal(r, 'RATE_LIMITED', expected);
      if (r.ok) return;
      expect(r.retryAfterMs).toBeGreaterThan(1);
      await clock.advance(r.retryAfterMs - 1);
      expect(bucket.tryAcquire({ cost: 2 }).ok).toBe(false);
      await clock.advance(1);
      expect(bucket.tryAcquire({ cost: 2 }).ok).toBe(true);
    });

    it('tokens refill continuously up to capacity and never beyond', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ ...BASE, clock, initialTokens: 0 });
      await clock.advance(250);
      expect(bucket.stats().tokens).toBeCloseTo(0.5, 12);
      await clock.advance(60_000);
      expect(bucket.stats().tokens).toBe(5);
    });

    it('initialTokens sets the starting level', () => {
      const bucket = tokenBucket({ ...BASE, clock: new ManualClock(), initialTokens: 1 });
      expect(bucket.tryAcquire().ok).toBe(true);
      expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', 500);
    });

    it('a call consumes its cost, fractional costs included', () => {
      const bucket = tokenBucket({ ...BASE, clock: new ManualClock() });
      expect(bucket.tryAcquire({ cost: 2.5 }).ok).toBe(true);
      expect(bucket.stats().tokens).toBeCloseTo(2.5, 12);
      expect(bucket.tryAcquire({ cost: 2.25 }).ok).toBe(true);
      expect(bucket.stats().tokens).toBeCloseTo(0.25, 12);
      expectRefusal(bucket.tryAcquire({ cost: 0.5 }), 'RATE_LIMITED', (0.25 / 2) * 1000);
      expect(bucket.tryAcquire({ cost: 0.25 }).ok).toBe(true);
    });

    it('a cost of exactly capacity is admitted from a full bucket', () => {
      const bucket = tokenBucket({ ...BASE, clock: new ManualClock() });
      expect(bucket.tryAcquire({ cost: 5 }).ok).toBe(true);
      expectRefusal(bucket.tryAcquire({ cost: 5 }), 'RATE_LIMITED', 2500);
    });

    it('a cost above capacity is a RangeError naming cost and capacity, and is not counted', async () => {
      const bucket = tokenBucket({ ...BASE, clock: new ManualClock(), maxQueue: 5 });
      expect(() => bucket.tryAcquire({ cost: 5.01 })).toThrow(RangeError);
      expect(() => bucket.tryAcquire({ cost: 6 })).toThrow(/cost 6 exceeds capacity 5/);
      await expect(bucket.acquire({ cost: 6 })).rejects.toBeInstanceOf(RangeError);
      await expect(bucket.execute(() => 1, { cost: 6 })).rejects.toThrow(/cost 6 exceeds capacity 5/);
      expect(bucket.stats()).toMatchObject({ admitted: 0, rejected: 0, queued: 0, tokens: 5 });
    });

    it('tryAcquire refuses with DEADLINE_EXCEEDED when the deadline has already passed', () => {
      const clock = new ManualClock(1000);
      const bucket = tokenBucket({ ...BASE, clock });
      expectRefusal(bucket.tryAcquire({ deadline: 1000 }), 'DEADLINE_EXCEEDED', 0);
      expectRefusal(bucket.tryAcquire({ timeoutMs: 0 }), 'DEADLINE_EXCEEDED', 0);
      expect(bucket.stats()).toMatchObject({ admitted: 0, tokens: 5 });
      expect(bucket.tryAcquire({ deadline: 1001 }).ok).toBe(true);
    });
  });

  describe('waiting', () => {
    it('waiters are served in FIFO order; a big head blocks smaller later calls', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 4, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      // At 1000 ms one token is there, enough for the second call, which still waits behind the first; a newcomer
      // sees every queued token ahead of it: 3 + 1 + 1 + its own 1, less the 1 already there.
      await expectBigHeadBlocks(bucket, clock, () => expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', (3 + 1 + 1 + 1 - 1) * 1000));
      expect(clock.pendingTimers()).toBe(0);
    });

    it('arms at most one timer however many callers wait', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 3, refillPerSecond: 10, initialTokens: 0, maxQueue: Infinity, clock });
      await expectOneTimerWhileDraining(bucket, clock, 37);
    });

    it('maxQueue bounds the waiters: beyond it, QUEUE_FULL at once, and retrying after retryAfterMs is admitted', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 2, clock });
      const a = track(clock, bucket.acquire());
      const b = track(clock, bucket.acquire());
      const c = track(clock, bucket.acquire());
      await settleMicrotasks();
      expectRejected(c, 'QUEUE_FULL');
      expect(clock.now()).toBe(0);
      expect(bucket.stats()).toMatchObject({ queued: 2, rejected: 1 });
      expect(bucket.stats().rejectedBy.QUEUE_FULL).toBe(1);
      const retryAfterMs = isRejectedError(c.reason) ? c.reason.retryAfterMs : NaN;
      expect(retryAfterMs).toBeGreaterThan(0);
      await clock.advance(retryAfterMs);
      expect([a.status, b.status]).toEqual(['fulfilled', 'fulfilled']);
      expect(bucket.tryAcquire().ok).toBe(true);
    });

    it('a call whose wait would exceed maxWaitMs is refused at once with MAX_WAIT_EXCEEDED', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, maxWaitMs: 1000, clock });
      const first = track(clock, bucket.acquire()); // waits exactly maxWaitMs: allowed
      const second = track(clock, bucket.execute(() => 'ran')); // would wait 2000 ms
      await settleMicrotasks();
      expectRejected(second, 'MAX_WAIT_EXCEEDED', 2000);
      expect(clock.pendingTimers()).toBe(1);
      await clock.advance(1000);
      expect(first.status).toBe('fulfilled');
      expect(first.at).toBe(1000);
      // Retrying after retryAfterMs (measured from the refusal) is admitted without waiting.
      await clock.advance(1000);
      expect(bucket.tryAcquire().ok).toBe(true);
    });

    it('a call whose wait would reach its deadline is refused at once with DEADLINE_EXCEEDED', async () => {
      const clock = new ManualClock(100);
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      let called = 0;
      const byDeadline = track(clock, bucket.execute(() => ++called, { deadline: 100 + 999 }));
      const byTimeout = track(clock, bucket.acquire({ timeoutMs: 999 }));
      const atDeadline = track(clock, bucket.acquire({ deadline: 100 + 1000 })); // ready exactly at the deadline: too late
      await settleMicrotasks();
      expectRejected(byDeadline, 'DEADLINE_EXCEEDED');
      expectRejected(byTimeout, 'DEADLINE_EXCEEDED');
      expectRejected(atDeadline, 'DEADLINE_EXCEEDED');
      expect(clock.pendingTimers()).toBe(0);
      const inTime = track(clock, bucket.acquire({ deadline: 100 + 1001 }));
      await clock.advance(1000);
      expect(inTime.status).toBe('fulfilled');
      expect(called).toBe(0);
      expect(bucket.stats().rejectedBy.DEADLINE_EXCEEDED).toBe(3);
    });

    it('aborting the head waiter returns its reservation: the next waiter is served earlier', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      const ac = new AbortController();
      const a = track(clock, bucket.acquire({ cost: 2, signal: ac.signal })); // would be served at 2000
      const b = track(clock, bucket.acquire({ cost: 1 })); // would be served at 3000
      expect(bucket.stats().queuedCost).toBe(3);
      await clock.advance(500);
      const reason = new Error('caller left');
      ac.abort(reason);
      await settleMicrotasks();
      expect(a.status).toBe('rejected');
      expect(a.reason).toBe(reason);
      expect(bucket.stats()).toMatchObject({ aborted: 1, queued: 1, queuedCost: 1 });
      await clock.advance(500);
      expect(b.status).toBe('fulfilled');
      expect(b.at).toBe(1000);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('aborting a middle waiter moves the ones behind it forward', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      const ac = new AbortController();
      const a = track(clock, bucket.acquire());
      const b = track(clock, bucket.acquire({ signal: ac.signal }));
      const c = track(clock, bucket.acquire());
      // A newcomer sees the aborted waiter's share gone from the estimate.
      expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', 4000);
      ac.abort();
      expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', 3000);
      await clock.advance(3000);
      expect([a.at, c.at]).toEqual([1000, 2000]);
      expect(b.status).toBe('rejected');
      expect((b.reason as Error).name).toBe('AbortError');
    });

    it('a long-lived signal shared by many waiters keeps no abort listener once they have settled', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 10, initialTokens: 0, maxQueue: 100, clock });
      await expectNoListenersAfterSettle(bucket, clock);
    });

    it('dispose() rejects waiters with DisposedError, emits dispose, clears the timer and refuses later calls', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock, name: 'db' });
      const events = collectEvents(bucket.events, ['dispose']);
      const waiters = [track(clock, bucket.acquire()), track(clock, bucket.acquire())];
      expect(clock.pendingTimers()).toBe(1);
      bucket.dispose();
      await settleMicrotasks();
      for (const w of waiters) expectRejected(w, 'DISPOSED', 0);
      expect(events.of('dispose')).toEqual([{ policy: 'db', rejectedWaiters: 2 }]);
      expect(clock.pendingTimers()).toBe(0);
      expect(bucket.stats()).toMatchObject({ disposed: true, queued: 0, queuedCost: 0, rejected: 2 });
      expectRefusal(bucket.tryAcquire(), 'DISPOSED', 0);
      await expect(bucket.acquire()).rejects.toMatchObject({ code: 'DISPOSED', policy: 'db' });
      (bucket as unknown as Disposable)[Symbol.dispose]();
      expect(events.of('dispose')).toHaveLength(1);
    });
  });

  describe('reconfiguration', () => {
    it('a higher rate applies from now on; tokens earned before the change count at the old rate', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      const w = track(clock, bucket.acquire());
      await clock.advance(500); // 0.5 token earned at 1/s
      bucket.configure({ refillPerSecond: 10 }); // the missing 0.5 token takes 50 ms at 10/s
      await clock.advance(49);
      expect(w.status).toBe('pending');
      await clock.advance(1);
      expect(w.at).toBe(550);
      expect(bucket.stats().refillPerSecond).toBe(10);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('a lower rate delays waiters accordingly', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      const w = track(clock, bucket.acquire());
      await clock.advance(500);
      bucket.configure({ refillPerSecond: 0.5 }); // the missing 0.5 token takes 1000 ms
      await clock.advance(999);
      expect(w.status).toBe('pending');
      expect(clock.pendingTimers()).toBe(1);
      await clock.advance(1);
      expect(w.at).toBe(1500);
    });

    it('a smaller capacity drops the excess tokens; a larger one does not add tokens at once', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 10, refillPerSecond: 1, clock });
      bucket.configure({ capacity: 4 });
      expect(bucket.stats()).toMatchObject({ tokens: 4, capacity: 4 });
      for (let i = 0; i < 4; i++) expect(bucket.tryAcquire().ok).toBe(true);
      expectRefusal(bucket.tryAcquire(), 'RATE_LIMITED', 1000);
      expect(() => bucket.tryAcquire({ cost: 5 })).toThrow(RangeError);
      bucket.configure({ capacity: 8 });
      expect(bucket.stats().tokens).toBe(0);
      await clock.advance(60_000);
      expect(bucket.stats().tokens).toBe(8);
    });

    it('evicts waiters whose maxWaitMs can no longer be met, keeping the order of the rest', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 4, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, maxWaitMs: 2000, clock });
      const events = collectEvents(bucket.events, ['reject']);
      const a = track(clock, bucket.acquire()); // 1000
      const b = track(clock, bucket.acquire()); // 2000
      bucket.configure({ refillPerSecond: 0.5 }); // a: 2000 (still within 2000), b: 4000 (too late)
      await settleMicrotasks();
      expectRejected(b, 'MAX_WAIT_EXCEEDED', 4000);
      expect(events.of<RejectEvent>('reject')).toEqual([{ policy: 'tokenBucket', reason: 'MAX_WAIT_EXCEEDED', retryAfterMs: 4000, cost: 1 }]);
      await clock.advance(2000);
      expect(a.at).toBe(2000);
      expect(bucket.stats()).toMatchObject({ admitted: 1, rejected: 1, queued: 0 });
    });

    it('evicts waiters whose deadline can no longer be met; a waiter behind an evicted one moves up', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 4, refillPerSecond: 2, initialTokens: 0, maxQueue: 10, clock });
      const a = track(clock, bucket.acquire({ cost: 2, deadline: 1500 })); // 1000 at 2/s
      const c = track(clock, bucket.acquire({ cost: 1 })); // 1500 at 2/s
      bucket.configure({ refillPerSecond: 1 }); // a: 2000 >= its deadline -> evicted; c moves to the head: 1000
      await settleMicrotasks();
      expectRejected(a, 'DEADLINE_EXCEEDED', 2000);
      await clock.advance(1000);
      expect(c.at).toBe(1000);
    });

    it('evicts waiters whose cost exceeds a smaller capacity with RATE_LIMITED and retryAfterMs Infinity', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 4, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
      const big = track(clock, bucket.acquire({ cost: 3 }));
      const small = track(clock, bucket.acquire({ cost: 1 }));
      bucket.configure({ capacity: 2 });
      await settleMicrotasks();
      expectRejected(big, 'RATE_LIMITED', Infinity);
      expect((big.reason as { retryAfterMs: number }).retryAfterMs).toBe(Infinity);
      await clock.advance(1000);
      expect(small.at).toBe(1000);
    });
  });

  describe('dry run', () => {
    it('admits everything, counts wouldRejectBy and emits wouldReject instead of reject', async () => {
      const clock = new ManualClock(1000);
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, dryRun: true, clock, name: 'shadow' });
      const events = collectEvents(bucket.events, ['reject', 'wouldReject']);
      for (let i = 0; i < 4; i++) expect(bucket.tryAcquire().ok).toBe(true);
      let ran = 0;
      await bucket.execute(() => ++ran);
      await bucket.acquire({ deadline: 500 });
      expect(ran).toBe(1);
      const s = bucket.stats();
      expect(s).toMatchObject({ admitted: 6, rejected: 0, dryRun: true, queued: 0 });
      expect(s.wouldRejectBy.RATE_LIMITED).toBe(3);
      expect(s.wouldRejectBy.DEADLINE_EXCEEDED).toBe(1);
      expect(events.of('reject')).toEqual([]);
      expect(events.of<RejectEvent>('wouldReject')).toEqual([
        { policy: 'shadow', reason: 'RATE_LIMITED', retryAfterMs: 1000, cost: 1 },
        { policy: 'shadow', reason: 'RATE_LIMITED', retryAfterMs: 1000, cost: 1 },
        { policy: 'shadow', reason: 'RATE_LIMITED', retryAfterMs: 1000, cost: 1 },
        { policy: 'shadow', reason: 'DEADLINE_EXCEEDED', retryAfterMs: 0, cost: 1 },
      ]);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('admits at once a call that enforcement would have queued, without counting it as a refusal', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, initialTokens: 0, maxQueue: 5, dryRun: true, clock });
      const p = track(clock, bucket.acquire());
      await settleMicrotasks();
      expect(p.status).toBe('fulfilled');
      const s = bucket.stats();
      expect(Object.values(s.wouldRejectBy).reduce((x, y) => x + y, 0)).toBe(0);
      expect(s.queued).toBe(0);
    });
  });

  describe('telemetry', () => {
    it('reject events carry policy, reason, retryAfterMs and cost, matching the errors', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, initialTokens: 0, maxQueue: 2, maxWaitMs: 2500, clock, name: 'api' });
      const events = collectEvents(bucket.events, ['reject']);
      expectRefusal(bucket.tryAcquire({ cost: 2 }), 'RATE_LIMITED', 2000);
      const queued = track(clock, bucket.acquire()); // waits 1000
      const tooLong = track(clock, bucket.acquire({ cost: 2 })); // would wait 3000 > 2500
      const tooLate = track(clock, bucket.acquire({ deadline: 1500 })); // would be ready at 2000
      const queued2 = track(clock, bucket.acquire()); // waits 2000
      const full = track(clock, bucket.acquire({ cost: 0.5 }));
      await settleMicrotasks();
      expectRejected(tooLong, 'MAX_WAIT_EXCEEDED', 3000);
      expectRejected(tooLate, 'DEADLINE_EXCEEDED', 2000);
      expectRejected(full, 'QUEUE_FULL');
      const fullRetry = (full.reason as { retryAfterMs: number }).retryAfterMs;
      expect(events.of<RejectEvent>('reject')).toEqual([
        { policy: 'api', reason: 'RATE_LIMITED', retryAfterMs: 2000, cost: 2 },
        { policy: 'api', reason: 'MAX_WAIT_EXCEEDED', retryAfterMs: 3000, cost: 2 },
        { policy: 'api', reason: 'DEADLINE_EXCEEDED', retryAfterMs: 2000, cost: 1 },
        { policy: 'api', reason: 'QUEUE_FULL', retryAfterMs: fullRetry, cost: 0.5 },
      ]);
      await clock.advance(2000);
      expect([queued.at, queued2.at]).toEqual([1000, 2000]);
      events.stop();
      bucket.tryAcquire({ cost: 2 });
      expect(events.all).toHaveLength(4);
    });

    it('stats() reports counters, queue and bucket state', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 3, refillPerSecond: 2, maxQueue: 4, maxWaitMs: 10_000, clock, name: 's' });
      const ac = new AbortController();
      bucket.tryAcquire({ cost: 3 });
      bucket.tryAcquire();
      const w1 = track(clock, bucket.acquire({ cost: 1.5 }));
      const w2 = track(clock, bucket.acquire({ signal: ac.signal }));
      const w3 = track(clock, bucket.acquire({ cost: 2 }));
      ac.abort();
      await clock.advance(250);
      expect(bucket.stats()).toEqual({
        name: 's',
        admitted: 1,
        rejected: 1,
        rejectedBy: expect.objectContaining({ RATE_LIMITED: 1, QUEUE_FULL: 0, DISPOSED: 0 }),
        aborted: 1,
        wouldRejectBy: expect.objectContaining({ RATE_LIMITED: 0 }),
        queued: 2,
        maxQueue: 4,
        maxWaitMs: 10_000,
        dryRun: false,
        disposed: false,
        tokens: 0.5,
        capacity: 3,
        refillPerSecond: 2,
        queuedCost: 3.5,
      });
      await clock.advance(1750);
      expect([w1.at, w3.at, w2.status]).toEqual([750, 1750, 'rejected']);
      expect(bucket.stats()).toMatchObject({ admitted: 3, queued: 0, queuedCost: 0, tokens: 0.5 });
    });

    it('reports to a metrics registry: admitted, rejected by reason, queue length, tokens, queue wait; dispose unregisters', async () => {
      const clock = new ManualClock();
      const metrics = createMetricsRegistry();
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 1, maxQueue: 5, clock, metrics, name: 'api' });
      const labels = { policy: 'api', kind: 'tokenBucket' };
      bucket.tryAcquire();
      bucket.tryAcquire();
      bucket.tryAcquire();
      const waiters = [1, 2, 3].map(() => track(clock, bucket.acquire()));
      let snap = metrics.snapshot();
      expect(sampleValue(snap, 'sluice_admitted_total', labels)).toBe(2);
      expect(sampleValue(snap, 'sluice_rejected_total', { ...labels, reason: 'RATE_LIMITED' })).toBe(1);
      expect(sampleValue(snap, 'sluice_rejected_total', { ...labels, reason: 'QUEUE_FULL' })).toBe(0);
      expect(sampleValue(snap, 'sluice_queue_length', labels)).toBe(3);
      expect(sampleValue(snap, 'sluice_tokens', labels)).toBe(0);
      await clock.advance(500);
      expect(sampleValue(metrics.snapshot(), 'sluice_tokens', labels)).toBeCloseTo(0.5, 12);
      await clock.advance(2500);
      expect(waiters.every((w) => w.status === 'fulfilled')).toBe(true);
      snap = metrics.snapshot();
      expect(sampleValue(snap, 'sluice_admitted_total', labels)).toBe(5);
      expect(sampleValue(snap, 'sluice_queue_length', labels)).toBe(0);
      const wait = findSample(snap, 'sluice_queue_wait_ms', labels);
      expect(wait?.type).toBe('histogram');
      if (wait?.type !== 'histogram') return;
      // Only the three callers that waited are recorded: 1000, 2000 and 3000 ms.
      expect(wait.summary.count).toBe(3);
      expectWithinHdr(wait.summary.min, 1000);
      expectWithinHdr(wait.summary.max, 3000);
      bucket.dispose();
      const left = metrics.snapshot().filter((s) => s.labels.policy === 'api' && s.type !== 'histogram');
      expect(left).toEqual([]);
    });

    it('records execute() durations by outcome when the sink records histograms', async () => {
      const clock = new ManualClock();
      const metrics = createMetricsRegistry();
      const bucket = tokenBucket({ capacity: 5, refillPerSecond: 1, clock, metrics, name: 'd' });
      const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
      const ok = track(clock, bucket.execute(() => sleep(200)));
      const bad = track(clock, bucket.execute(() => sleep(50).then(() => Promise.reject(new Error('x')))));
      await clock.advance(200);
      expect([ok.status, bad.status]).toEqual(['fulfilled', 'rejected']);
      const success = metrics.histogramSummary('sluice_call_duration_ms', { policy: 'd', kind: 'tokenBucket', outcome: 'success' });
      const failure = metrics.histogramSummary('sluice_call_duration_ms', { policy: 'd', kind: 'tokenBucket', outcome: 'failure' });
      expect(success?.count).toBe(1);
      expectWithinHdr(success?.max, 200);
      expect(failure?.count).toBe(1);
      expectWithinHdr(failure?.max, 50);
    });
  });

  describe('clock origin', () => {
    // Virtual clocks often start at a Date.now()-like origin (~1.7e12 ms). There a float time step is ~2e-4 ms.
    const ORIGIN = 1.7e12;

    it('serves waiters on a clock with a Date.now-like origin instead of re-arming a zero-delay timer forever', async () => {
      const clock = new ManualClock(ORIGIN);
      const bucket = tokenBucket({ capacity: 2, refillPerSecond: 3, maxQueue: 100, clock });
      const calls = Array.from({ length: 50 }, () => track(clock, bucket.acquire({ cost: 0.3 })));
      const fired = await clock.runAll(1000);
      expect(fired).toBeLessThanOrEqual(50);
      expect(calls.every((c) => c.status === 'fulfilled')).toBe(true);
      expect(bucket.stats().queued).toBe(0);
    });

    it('retryAfterMs stays exact on a clock with a Date.now-like origin', async () => {
      for (const cost of [0.1, 0.3, 0.7]) {
        const clock = new ManualClock(ORIGIN + 0.37);
        await checkRetryAfterExact(tokenBucket({ capacity: 2, refillPerSecond: 3, clock }), clock, cost);
      }
    });

    it('regression: repeated tryAcquire at one instant on a Date.now-sized clock admits no more than capacity (was 1.37 for capacity 1 at 1e6/s, 387 for capacity 10 at 1e9/s)', () => {
      for (const [capacity, refillPerSecond, origin] of [
        [1, 1e6, ORIGIN],
        [10, 1e9, ORIGIN],
        [1, 1e9, 1e13],
      ] as const) {
        const bucket = tokenBucket({ capacity, refillPerSecond, clock: new ManualClock(origin) });
        let admitted = 0;
        for (let i = 0; i < 100_000 && bucket.tryAcquire({ cost: 0.01 }).ok; i++) admitted += 0.01;
        expect(admitted).toBeLessThanOrEqual(capacity + 1e-9);
        expect(admitted).toBeGreaterThan(capacity - 0.011);
      }
    });

    it('regression: a shortfall smaller than one float step of the clock is waited for until the next step, not admitted, and its timer is not a zero-delay spin', async () => {
      const clock = new ManualClock(ORIGIN);
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1e6, maxQueue: 10, clock });
      expect(bucket.tryAcquire().ok).toBe(true);
      const r = bucket.tryAcquire();
      expect(r.ok).toBe(false);
      // One float step at 1.7e12 ms is 2^-12 ms; the token takes 1e-3 ms: the first representable time after it.
      if (!r.ok) expect(r.retryAfterMs).toBe(2 ** -12 * 5);
      const waiter = track(clock, bucket.acquire());
      expect(clock.nextTimerAt()! - clock.now()).toBe(2 ** -12 * 5);
      expect(await clock.runAll(10)).toBe(1);
      expect(waiter.status).toBe('fulfilled');
    });
  });
});
