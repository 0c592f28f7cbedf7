import { describe, expect, it } from 'vitest';
import { retry, type GiveUpEvent, type RetryEvent, type RetryOptions } from '../../src/retry/retry.js';
import { RetryExhaustedError } from '../../src/retry/errors.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { constantBackoff, exponentialBackoff, fullJitter, type BackoffInput } from '../../src/retry/backoff.js';
import { ratioBudget, tokenBudget, type RetryBudget } from '../../src/retry/budget.js';
import { DisposedError, RateLimitedError, RejectedError, TimeoutError } from '../../src/core/errors.js';
import type { ExecutionContext } from '../../src/core/context.js';
import { pipeline } from '../../src/core/pipeline.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { timeout } from '../../src/timeout/index.js';
import { ManualClock, collectEvents, flushMicrotasks, seededRandom } from '../../src/testing/index.js';
import { METRIC } from '../../src/metrics/metrics.js';
import { collectReported } from '../support/reported.js';

/** A task that fails `failures` times (with fresh errors made by `make`) and then returns 'ok'; records each attempt. */
function flaky(clock: ManualClock, failures: number, make: (i: number) => unknown = (i) => new Error(`fail ${i}`)) {
  const calls: { at: number; attempt: number; ctx: ExecutionContext }[] = [];
  const errors: unknown[] = [];
  const fn = (ctx: ExecutionContext): Promise<string> => {
    calls.push({ at: clock.now(), attempt: ctx.attempt, ctx });
    if (calls.length <= failures) {
      const e = make(calls.length);
      errors.push(e);
      return Promise.reject(e);
    }
    return Promise.resolve('ok');
  };
  return { fn, calls, errors };
}


/** Settles a promise into a value without letting its rejection go unhandled. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

const noDelay: Pick<RetryOptions, 'backoff' | 'budget'> = { backoff: constantBackoff(), budget: false };

describe('retry', () => {
  describe('options', () => {
    it('rejects malformed options naming the option and value', () => {
      expect(() => retry({ maxAttempts: 0 })).toThrow(/retry: option "maxAttempts" must be an integer >= 1 or Infinity, got 0/);
      expect(() => retry({ maxAttempts: 1.5 })).toThrow(RangeError);
      expect(() => retry({ maxAttempts: NaN })).toThrow(RangeError);
      expect(() => retry({ maxAttempts: '3' as never })).toThrow(TypeError);
      expect(() => retry({ shouldRetry: true as never })).toThrow(/option "shouldRetry" must be a function/);
      expect(() => retry({ shouldRetryResult: 1 as never })).toThrow(/option "shouldRetryResult"/);
      expect(() => retry({ backoff: 100 as never })).toThrow(/option "backoff"/);
      expect(() => retry({ budget: {} as never })).toThrow(/option "budget" must be an object with a recordRequest\(\) method/);
      expect(() => retry({ budget: true as never })).toThrow(/option "budget"/);
      expect(() => retry({ retryRejections: 'yes' as never })).toThrow(/option "retryRejections" must be a boolean/);
      expect(() => retry({ maxRetryAfterMs: -1 })).toThrow(/option "maxRetryAfterMs"/);
      expect(() => retry({ maxRetryAfterMs: NaN })).toThrow(RangeError);
      expect(() => retry({ nested: 'never' as never })).toThrow(/option "nested" must be one of "single-attempt", "multiply"/);
      expect(() => retry({ name: '' })).toThrow(/option "name"/);
      expect(() => retry({ clock: {} as never })).toThrow(/option "clock"/);
      expect(() => retry({ random: 0.5 as never })).toThrow(/option "random"/);
      expect(() => retry({ metrics: {} as never })).toThrow(/option "metrics"/);
      expect(() => retry('fast' as never)).toThrow(TypeError);
    });

    it('accepts maxAttempts Infinity, maxRetryAfterMs Infinity and budget false', () => {
      const r = retry({ maxAttempts: Infinity, maxRetryAfterMs: Infinity, budget: false });
      expect(r.stats().maxAttempts).toBe(Infinity);
      expect(r.budget).toBeUndefined();
    });

    it('defaults to 3 attempts and a token budget of its own', () => {
      const r = retry();
      expect(r.stats().maxAttempts).toBe(3);
      expect(r.budget?.kind).toBe('token');
      expect(retry().budget).not.toBe(r.budget);
    });
  });

  describe('attempts', () => {
    it('retries until fn succeeds, giving each attempt its number', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, 2);
      const r = retry({ clock, ...noDelay });
      await expect(r.execute(fn)).resolves.toBe('ok');
      expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
      expect(r.stats()).toMatchObject({ calls: 1, attempts: 3, retries: 2, successes: 1, failures: 0, amplification: 3 });
    });

    it('makes at most maxAttempts attempts and fails with a RetryExhaustedError whose cause is the last error', async () => {
      const clock = new ManualClock();
      const { fn, calls, errors } = flaky(clock, Infinity);
      const r = retry({ clock, maxAttempts: 4, ...noDelay });
      const events = collectEvents(r.events, ['giveUp']);
      const out = await settle(r.execute(fn));
      expect(calls).toHaveLength(4);
      const e = out.ok ? undefined : out.error;
      expect(e).toBeInstanceOf(RetryExhaustedError);
      expect(e).toMatchObject({ code: 'RETRY_EXHAUSTED', policy: 'retry', attempts: 4, reason: 'maxAttempts', cause: errors[3], lastError: errors[3] });
      expect((e as Error).message).toBe('retry: gave up after 4 attempts (attempts exhausted): fail 4');
      expect(events.of<GiveUpEvent>('giveUp')).toEqual([{ policy: 'retry', attempts: 4, reason: 'maxAttempts', kind: 'error', error: errors[3] }]);
      expect(r.stats().giveUps.maxAttempts).toBe(1);
    });

    it('with maxAttempts 1 never retries', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, Infinity);
      await settle(retry({ clock, maxAttempts: 1, ...noDelay }).execute(fn));
      expect(calls).toHaveLength(1);
    });

    it('retries a synchronous throw like a rejection', async () => {
      const clock = new ManualClock();
      let n = 0;
      const r = retry({ clock, ...noDelay });
      await expect(
        r.execute(() => {
          if (++n < 3) throw new Error('sync');
          return n;
        }),
      ).resolves.toBe(3);
    });

    it('gives each attempt a fresh derived context, so an inner bucket admits each attempt afresh', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, 2);
      const bucket = tokenBucket({ capacity: 5, refillPerSecond: 1, clock });
      await pipeline(retry({ clock, ...noDelay }), bucket).execute(fn);
      expect(new Set(calls.map((c) => c.ctx)).size).toBe(3);
      expect(bucket.stats().admitted).toBe(3);
    });

    it('does not retry an error shouldRetry declines, and says so', async () => {
      const clock = new ManualClock();
      const { fn, calls, errors } = flaky(clock, Infinity);
      const seen: [unknown, number][] = [];
      const r = retry({
        clock,
        ...noDelay,
        shouldRetry: (e, attempt) => {
          seen.push([e, attempt]);
          return attempt < 2;
        },
      });
      const events = collectEvents(r.events, ['giveUp']);
      const out = await settle(r.execute(fn));
      expect(calls).toHaveLength(2);
      expect(seen).toEqual([
        [errors[0], 1],
        [errors[1], 2],
      ]);
      expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', attempts: 2, reason: 'notRetryable', cause: errors[1] });
      expect(events.of<GiveUpEvent>('giveUp')[0]?.reason).toBe('notRetryable');
    });

    it('passes an error declined at the first attempt through unchanged (nothing to explain)', async () => {
      const clock = new ManualClock();
      const { fn, calls, errors } = flaky(clock, Infinity);
      const r = retry({ clock, ...noDelay, shouldRetry: () => false });
      expect(await settle(r.execute(fn))).toEqual({ ok: false, error: errors[0] });
      expect(calls).toHaveLength(1);
      const single = flaky(clock, Infinity);
      expect(await settle(retry({ clock, ...noDelay, maxAttempts: 1 }).execute(single.fn))).toEqual({ ok: false, error: single.errors[0] });
    });

    it('with throwLastError rejects with the last error itself', async () => {
      const clock = new ManualClock();
      const { fn, errors } = flaky(clock, Infinity);
      const r = retry({ clock, ...noDelay, throwLastError: true });
      const events = collectEvents(r.events, ['giveUp']);
      expect(await settle(r.execute(fn))).toEqual({ ok: false, error: errors[2] });
      expect(events.of<GiveUpEvent>('giveUp')[0]).toMatchObject({ reason: 'maxAttempts', attempts: 3 });
    });

    it('retries results flagged by shouldRetryResult and resolves with the last one when attempts run out', async () => {
      const clock = new ManualClock();
      const statuses = [503, 503, 200];
      let i = 0;
      const r = retry({ clock, ...noDelay, shouldRetryResult: (res) => (res as { status: number }).status >= 500 });
      await expect(r.execute(() => ({ status: statuses[i++]! }))).resolves.toEqual({ status: 200 });
      const events = collectEvents(r.events, ['giveUp']);
      await expect(r.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
      expect(events.of<GiveUpEvent>('giveUp')).toEqual([{ policy: 'retry', attempts: 3, reason: 'maxAttempts', kind: 'result', result: { status: 503 } }]);
      expect(r.stats()).toMatchObject({ successes: 1, failures: 1 });
    });

    it("regression: a shouldRetry that throws does not replace fn's error; the error is not retried and the exception is re-raised asynchronously", async () => {
      const clock = new ManualClock();
      const bug = new Error('classifier bug');
      const { fn, calls, errors } = flaky(clock, Infinity);
      const r = retry({ clock, ...noDelay, shouldRetry: () => { throw bug; } });
      const events = collectEvents(r.events, ['giveUp']);
      const reported = await collectReported(async () => {
        await expect(r.execute(fn)).rejects.toBe(errors[0]);
        await expect(r.execute(fn)).rejects.toBe(errors[1]);
      });
      expect(calls).toHaveLength(2);
      expect(events.of<GiveUpEvent>('giveUp').map((e) => e.reason)).toEqual(['notRetryable', 'notRetryable']);
      expect(reported).toEqual(['classifier bug', 'classifier bug']);
      expect(r.stats()).toMatchObject({ calls: 2, attempts: 2, retries: 0, failures: 2 });
    });
  });

  describe('backoff', () => {
    it('waits the delays of the chosen backoff, drawn from the seeded random source', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, Infinity);
      const backoff = fullJitter({ baseMs: 100, capMs: 1_000 });
      const r = retry({ clock, maxAttempts: 5, backoff, random: seededRandom(7), budget: false });
      const events = collectEvents(r.events, ['retry']);
      const out = settle(r.execute(fn));
      await clock.runAll();
      await out;
      const draws = seededRandom(7);
      const expected = [1, 2, 3, 4].map((k) => draws() * Math.min(1_000, 100 * 2 ** (k - 1)));
      const delays = events.of<RetryEvent>('retry').map((e) => e.delayMs);
      expect(delays).toEqual(expected);
      const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
      expect(gaps).toEqual(expected);
      expect(events.of<RetryEvent>('retry').map((e) => e.attempt)).toEqual([2, 3, 4, 5]);
    });

    it('feeds a user backoff the attempt, the previous delay and the last outcome', async () => {
      const clock = new ManualClock();
      const { fn, errors } = flaky(clock, 3);
      const inputs: BackoffInput[] = [];
      const r = retry({
        clock,
        maxAttempts: 4,
        budget: false,
        backoff: (input) => {
          inputs.push(input);
          return input.attempt * 10;
        },
      });
      const out = settle(r.execute(fn));
      await clock.runAll();
      expect(await out).toEqual({ ok: true, value: 'ok' });
      expect(inputs.map((i) => [i.attempt, i.previousDelayMs, i.outcome])).toEqual([
        [1, 0, { kind: 'error', error: errors[0] }],
        [2, 10, { kind: 'error', error: errors[1] }],
        [3, 20, { kind: 'error', error: errors[2] }],
      ]);
    });

    it("regression: a backoff that throws or returns NaN, a negative or an infinite delay ends the call with fn's error, and the fault is re-raised asynchronously", async () => {
      const clock = new ManualClock();
      for (const bad of [() => NaN, () => -1, () => Infinity, () => { throw new Error('backoff bug'); }]) {
        const { fn, calls, errors } = flaky(clock, Infinity);
        const budget = tokenBudget();
        const r = retry({ clock, budget, backoff: bad });
        const reported = await collectReported(async () => {
          await expect(r.execute(fn)).rejects.toBe(errors[0]);
        });
        expect(calls).toHaveLength(1);
        expect(reported).toHaveLength(1);
        expect(reported[0]).toMatch(/^(retry: backoff must return a finite number >= 0, got (NaN|-1|Infinity) for attempt 1|backoff bug)$/);
        expect(r.stats().giveUps.notRetryable).toBe(1);
        expect(budget.stats(clock)).toMatchObject({ retriesGranted: 0, tokens: 500 });
        expect(clock.pendingTimers()).toBe(0);
      }
    });

    it('retries at once without arming a timer when the delay is 0', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, Infinity);
      const out = settle(retry({ clock, ...noDelay }).execute(fn));
      await flushMicrotasks();
      expect(calls).toHaveLength(3);
      expect(clock.pendingTimers()).toBe(0);
      expect((await out).ok).toBe(false);
    });

    it('arms no timer and, with the default budget, reads no clock when the first attempt succeeds', async () => {
      const clock = new ManualClock();
      let reads = 0;
      const counting = { now: () => (reads++, clock.now()), setTimeout: clock.setTimeout.bind(clock), clearTimeout: clock.clearTimeout.bind(clock) };
      const r = retry({ clock: counting });
      await r.execute(() => 1);
      await r.execute(() => 2, { priority: 1 });
      expect(reads).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
    });
  });

  describe('Retry-After', () => {
    const serverBusy = (ms: number) => Object.assign(new Error('503'), { retryAfterMs: ms });

    it("waits the error's retryAfterMs when it is longer than the backoff, never less", async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, 1, () => serverBusy(5_000));
      const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 10 }) });
      const events = collectEvents(r.events, ['retry']);
      const out = settle(r.execute(fn));
      await clock.advance(4_999);
      expect(calls).toHaveLength(1);
      await clock.advance(1);
      expect(calls.map((c) => c.at)).toEqual([0, 5_000]);
      expect(await out).toEqual({ ok: true, value: 'ok' });
      expect(events.of<RetryEvent>('retry')[0]).toMatchObject({ delayMs: 5_000, retryAfterMs: 5_000 });
    });

    it('keeps the backoff when it is longer than retryAfterMs', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, 1, () => serverBusy(5));
      const out = settle(retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 300 }) }).execute(fn));
      await clock.runAll();
      await out;
      expect(calls.map((c) => c.at)).toEqual([0, 300]);
    });

    it('honours retryAfterMs on a result flagged for retry', async () => {
      const clock = new ManualClock();
      const results = [{ status: 429, retryAfterMs: 2_000 }, { status: 200 }];
      const at: number[] = [];
      const r = retry({ clock, ...noDelay, shouldRetryResult: (res) => (res as { status: number }).status === 429 });
      const out = settle(
        r.execute(() => {
          at.push(clock.now());
          return results[at.length - 1]!;
        }),
      );
      await clock.runAll();
      expect(await out).toEqual({ ok: true, value: { status: 200 } });
      expect(at).toEqual([0, 2_000]);
    });

    it('gives up at once, with the last error and no timer, when asked to wait longer than maxRetryAfterMs', async () => {
      const clock = new ManualClock();
      const { fn, calls, errors } = flaky(clock, Infinity, () => serverBusy(60_000));
      const r = retry({ clock, ...noDelay, maxRetryAfterMs: 30_000 });
      const events = collectEvents(r.events, ['giveUp']);
      const out = await settle(r.execute(fn));
      expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'retryAfter', attempts: 1, cause: errors[0] });
      expect(calls).toHaveLength(1);
      expect(clock.pendingTimers()).toBe(0);
      expect(events.of<GiveUpEvent>('giveUp')[0]?.reason).toBe('retryAfter');
    });

    it('ignores a retryAfterMs that is not a number >= 0', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, 1, () => Object.assign(new Error('x'), { retryAfterMs: '5000' }));
      await retry({ clock, ...noDelay }).execute(fn);
      expect(calls.map((c) => c.at)).toEqual([0, 0]);
    });
  });

  describe('local rejections', () => {
    it('does not retry a local rejection by default', async () => {
      const clock = new ManualClock();
      const rejection = new RateLimitedError('bucket', 100);
      const { fn, calls } = flaky(clock, Infinity, () => rejection);
      const r = retry({ clock, ...noDelay });
      const events = collectEvents(r.events, ['giveUp']);
      await expect(r.execute(fn)).rejects.toBe(rejection);
      expect(calls).toHaveLength(1);
      expect(events.of<GiveUpEvent>('giveUp')[0]?.reason).toBe('rejected');
      expect(r.stats().giveUps).toMatchObject({ rejected: 1, notRetryable: 0 });
    });

    it('does not retry an inner bucket refusal, and does not consult shouldRetry for it', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
      let asked = 0;
      const guarded = pipeline(retry({ clock, ...noDelay, shouldRetry: () => ++asked > 0 }), bucket);
      await guarded.execute(() => 1);
      let ran = 0;
      await expect(guarded.execute(() => ++ran)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      expect(ran).toBe(0);
      expect(asked).toBe(0);
      expect(bucket.stats().rejected).toBe(1);
    });

    it('with retryRejections retries a refusal no sooner than its retryAfterMs', async () => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
      const guarded = pipeline(retry({ clock, ...noDelay, retryRejections: true }), bucket);
      await guarded.execute(() => 1);
      const ranAt: number[] = [];
      const out = settle(guarded.execute(() => ranAt.push(clock.now())));
      await clock.advance(999);
      expect(ranAt).toEqual([]);
      await clock.advance(1);
      expect(ranAt).toEqual([1_000]);
      expect((await out).ok).toBe(true);
    });

    it('with retryRejections gives up on a refusal that can never succeed (retryAfterMs Infinity)', async () => {
      const clock = new ManualClock();
      const never = new RejectedError('RATE_LIMITED', 'bucket', Infinity);
      const { fn, calls } = flaky(clock, Infinity, () => never);
      const r = retry({ clock, ...noDelay, retryRejections: true, maxRetryAfterMs: Infinity });
      const events = collectEvents(r.events, ['giveUp']);
      // The dependency was never reached: no cause, and the refusal is the last error.
      const out = await settle(r.execute(fn));
      expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'retryAfter', attempts: 1, cause: undefined, lastError: never });
      expect(calls).toHaveLength(1);
      expect(events.of<GiveUpEvent>('giveUp')[0]?.reason).toBe('retryAfter');
    });
  });

  describe('deadline', () => {
    it('stops at once with the last error when the next backoff would pass the deadline', async () => {
      const clock = new ManualClock();
      const { fn, calls, errors } = flaky(clock, Infinity);
      const r = retry({ clock, maxAttempts: 10, budget: false, backoff: exponentialBackoff({ baseMs: 100 }) });
      const events = collectEvents(r.events, ['giveUp']);
      const out = settle(r.execute(fn, { timeoutMs: 250 }));
      await clock.advance(100);
      // attempts at 0 and 100; the next would start at 300 > 250, so the call ends now, at 100.
      const got = await out;
      expect(got.ok === false && got.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'deadline', attempts: 2, cause: errors[1] });
      expect(calls.map((c) => c.at)).toEqual([0, 100]);
      expect(clock.now()).toBe(100);
      expect(clock.pendingTimers()).toBe(0);
      expect(events.of<GiveUpEvent>('giveUp')[0]).toMatchObject({ reason: 'deadline', attempts: 2 });
    });

    it('does not wait out a Retry-After that ends after the deadline', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, Infinity, () => Object.assign(new Error('busy'), { retryAfterMs: 1_000 }));
      const out = await settle(retry({ clock, ...noDelay }).execute(fn, { deadline: 999 }));
      expect(out.ok).toBe(false);
      expect(calls).toHaveLength(1);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('passes the deadline to each attempt and retries a per-attempt timeout', async () => {
      const clock = new ManualClock();
      const seen: (number | undefined)[] = [];
      let n = 0;
      const guarded = pipeline(retry({ clock, ...noDelay }), timeout({ timeoutMs: 100, clock }));
      const out = settle(
        guarded.execute(
          (ctx) => {
            seen.push(ctx.deadline);
            return ++n < 2 ? new Promise<string>(() => {}) : 'ok';
          },
          { deadline: 10_000 },
        ),
      );
      await clock.advance(100);
      expect(await out).toEqual({ ok: true, value: 'ok' });
      expect(seen).toEqual([100, 200]);
      expect(clock.pendingTimers()).toBe(0);
    });
  });

  describe('one timer', () => {
    it('however many calls sleep in a backoff, one timer is armed; each wakes at its own time; none is left', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, budget: false, maxAttempts: 2, backoff: (i) => 100 + 10 * (i.previousDelayMs === 0 ? 0 : 1) });
      const woke: number[][] = [];
      const outs = [30, 0, 20, 10].map((startMs, k) => {
        woke[k] = [];
        let n = 0;
        return { startMs, run: () => settle(r.execute(() => (woke[k]!.push(clock.now()), ++n === 1 ? Promise.reject(new Error('first')) : Promise.resolve(k)))) };
      });
      const started: ReturnType<typeof settle>[] = [];
      for (const o of [...outs].sort((a, b) => a.startMs - b.startMs)) {
        await clock.advanceTo(o.startMs);
        started.push(o.run());
        await flushMicrotasks();
        expect(clock.pendingTimers()).toBe(1); // the sleepers share one timer
      }
      expect(r.stats().sleeping).toBe(4);
      await clock.runAll();
      expect(await Promise.all(started)).toEqual([1, 3, 2, 0].map((value) => ({ ok: true, value })));
      expect(woke).toEqual([[30, 130], [0, 100], [20, 120], [10, 110]]);
      expect(clock.pendingTimers()).toBe(0);
      expect(r.stats().sleeping).toBe(0);
    });

    it('an aborted sleeper leaves at once; the timer is re-armed for the others and cleared with the last', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, budget: false, maxAttempts: 2, backoff: constantBackoff({ delayMs: 100 }) });
      const acs = [new AbortController(), new AbortController()];
      const outs = acs.map((ac) => settle(r.execute(() => Promise.reject(new Error('x')), { signal: ac.signal })));
      await flushMicrotasks();
      expect(clock.pendingTimers()).toBe(1);
      acs[0]!.abort(new Error('gone'));
      expect((await outs[0]!).ok).toBe(false);
      expect(clock.pendingTimers()).toBe(1);
      acs[1]!.abort(new Error('gone too'));
      expect((await outs[1]!).ok).toBe(false);
      expect(clock.pendingTimers()).toBe(0);
      expect(r.stats()).toMatchObject({ sleeping: 0, calls: 2, attempts: 2, retries: 0 });
    });
  });

  describe('abort', () => {
    it('rejects at once with signal.reason when aborted during a backoff, and clears the timer', async () => {
      const clock = new ManualClock();
      const { fn, calls } = flaky(clock, Infinity);
      const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 1_000 }) });
      const events = collectEvents(r.events, ['giveUp']);
      const ac = new AbortController();
      const out = settle(r.execute(fn, { signal: ac.signal }));
      await flushMicrotasks();
      expect(clock.pendingTimers()).toBe(1);
      expect(r.stats().sleeping).toBe(1);
      const reason = new Error('caller left');
      ac.abort(reason);
      expect(await out).toEqual({ ok: false, error: reason });
      expect(clock.now()).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
      expect(calls).toHaveLength(1);
      expect(r.stats()).toMatchObject({ sleeping: 0, failures: 1 });
      expect(events.of<GiveUpEvent>('giveUp')[0]).toMatchObject({ reason: 'aborted', attempts: 1 });
    });

    it('does not retry after the signal aborted during an attempt', async () => {
      const clock = new ManualClock();
      const ac = new AbortController();
      const reason = new Error('stop');
      let n = 0;
      const r = retry({ clock, ...noDelay });
      const out = await settle(
        r.execute(() => {
          n++;
          ac.abort(reason);
          throw new Error('attempt failed');
        }, { signal: ac.signal }),
      );
      expect(out).toEqual({ ok: false, error: reason });
      expect(n).toBe(1);
    });
  });

  describe('budget', () => {
    it('fails with RetryExhaustedError (reason budget) and emits budgetExhausted when the budget is empty', async () => {
      const clock = new ManualClock();
      const budget = ratioBudget({ ratio: 0, minPerSecond: 1, windowMs: 2_000 }); // allowance: 2 retries
      const r = retry({ clock, backoff: constantBackoff(), budget });
      const events = collectEvents(r.events, ['budgetExhausted', 'giveUp']);
      const first = flaky(clock, Infinity);
      await settle(r.execute(first.fn));
      expect(first.calls).toHaveLength(3);
      const second = flaky(clock, Infinity);
      const out = await settle(r.execute(second.fn));
      expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'budget', attempts: 1, cause: second.errors[0] });
      expect((out as { error: Error }).error.message).toBe('retry: gave up after 1 attempt (retry budget exhausted): fail 1');
      expect(second.calls).toHaveLength(1);
      expect(events.of('budgetExhausted')).toEqual([
        { policy: 'retry', attempts: 1, budget: expect.objectContaining({ kind: 'ratio', retriesGranted: 2, retriesRefused: 1 }) },
      ]);
      expect(events.of<GiveUpEvent>('giveUp').map((e) => e.reason)).toEqual(['maxAttempts', 'budget']);
      expect(r.stats().giveUps.budget).toBe(1);
    });

    it('shares one budget between policies', async () => {
      const clock = new ManualClock();
      const budget = ratioBudget({ ratio: 0, minPerSecond: 1, windowMs: 3_000 }); // allowance: 3 retries
      const a = retry({ clock, name: 'a', backoff: constantBackoff(), budget });
      const b = retry({ clock, name: 'b', backoff: constantBackoff(), budget });
      const fa = flaky(clock, Infinity);
      const fb = flaky(clock, Infinity);
      await settle(a.execute(fa.fn));
      await settle(b.execute(fb.fn));
      expect(fa.calls.length + fb.calls.length).toBe(2 + 3);
      expect(budget.stats(clock).requests).toBe(2);
    });

    it('refunds a token budget on success and spends timeoutCost on a timeout', async () => {
      const clock = new ManualClock();
      const budget = tokenBudget({ capacity: 20, initialTokens: 15 });
      const r = retry({ clock, ...noDelay, budget });
      await r.execute(flaky(clock, 1, () => new TimeoutError('t', 5)).fn);
      // 15 − 10 (timeout retry) + 10 (successful retry refunds its cost)
      expect(budget.stats(clock).tokens).toBe(15);
      await r.execute(() => 1);
      expect(budget.stats(clock).tokens).toBe(16);
    });

    it('does not spend the budget on a retry the deadline or maxAttempts forbids', async () => {
      const clock = new ManualClock();
      const budget = ratioBudget({ ratio: 0, minPerSecond: 1, windowMs: 10_000 });
      const r = retry({ clock, maxAttempts: 2, budget, backoff: constantBackoff({ delayMs: 50 }) });
      await settle(r.execute(flaky(clock, Infinity).fn, { timeoutMs: 10 }));
      const out = settle(r.execute(flaky(clock, Infinity).fn));
      await clock.runAll();
      await out;
      expect(budget.stats(clock).retriesGranted).toBe(1);
    });

    it('accepts a custom budget object', async () => {
      const clock = new ManualClock();
      const log: string[] = [];
      const budget: RetryBudget = {
        kind: 'custom',
        recordRequest: () => void log.push('request'),
        tryRetry: () => (log.push('retry'), log.length < 3 ? 1 : 0),
        recordSuccess: (_now, cost) => void log.push(`success ${cost}`),
        stats: () => ({ kind: 'custom', available: 0, requests: 0, retriesGranted: 0, retriesRefused: 0 }),
      };
      const r = retry({ clock, backoff: constantBackoff(), budget });
      await r.execute(flaky(clock, 1).fn);
      expect(log).toEqual(['request', 'retry', 'success 1']);
    });
  });

  describe('nested retries', () => {
    it('three nested layers of 4 attempts make 4 attempts on fn, not 64', async () => {
      const clock = new ManualClock();
      const layers = [1, 2, 3].map((i) => retry({ clock, name: `r${i}`, maxAttempts: 4, ...noDelay }));
      const events = layers.map((l) => collectEvents(l.events, ['nestedRetry']));
      const { fn, calls } = flaky(clock, Infinity);
      await settle(pipeline(...layers).execute(fn));
      expect(calls).toHaveLength(4);
      expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
      expect(events.map((e) => e.of('nestedRetry'))).toEqual([
        [],
        [{ policy: 'r2', depth: 1, mode: 'single-attempt' }],
        [{ policy: 'r3', depth: 1, mode: 'single-attempt' }],
      ]);
      expect(layers.map((l) => l.stats().nested)).toEqual([0, 4, 4]);
      // The event fires the first time only.
      await settle(pipeline(...layers).execute(flaky(clock, Infinity).fn));
      expect(events[1]!.of('nestedRetry')).toHaveLength(1);
    });

    it("lets an inner layer with nested: 'multiply' retry on its own, so attempts multiply", async () => {
      const clock = new ManualClock();
      const layers = [1, 2, 3].map((i) => retry({ clock, name: `r${i}`, maxAttempts: 4, nested: 'multiply', ...noDelay }));
      const events = collectEvents(layers[2]!.events, ['nestedRetry']);
      const { fn, calls } = flaky(clock, Infinity);
      await settle(pipeline(...layers).execute(fn));
      expect(calls).toHaveLength(64);
      expect(events.of('nestedRetry')).toEqual([{ policy: 'r3', depth: 2, mode: 'multiply' }]);
    });

    it('detects nesting when a protected function passes its context to an inner retry', async () => {
      const clock = new ManualClock();
      const outer = retry({ clock, maxAttempts: 3, ...noDelay });
      const inner = retry({ clock, maxAttempts: 3, ...noDelay });
      const { fn, calls } = flaky(clock, Infinity);
      await settle(outer.execute((ctx) => inner.execute(fn, ctx)));
      expect(calls).toHaveLength(3);
      expect(inner.stats().nested).toBe(3);
      // Without the context the calls are unrelated, and attempts multiply.
      const unlinked = flaky(clock, Infinity);
      await settle(outer.execute(() => inner.execute(unlinked.fn)));
      expect(unlinked.calls).toHaveLength(9);
    });

    it('detects nesting when a protected function passes its context to an inner pipeline (regression: createContext dropped retryDepth)', async () => {
      const clock = new ManualClock();
      const outer = retry({ clock, maxAttempts: 3, ...noDelay });
      const inner = pipeline(retry({ clock, maxAttempts: 4, ...noDelay }), tokenBucket({ capacity: 100, refillPerSecond: 100, clock }));
      const { fn, calls } = flaky(clock, Infinity);
      await settle(outer.execute((ctx) => inner.execute(fn, ctx)));
      expect(calls).toHaveLength(3);
    });

    it('detects nesting through an inner pipeline and a timeout layer', async () => {
      const clock = new ManualClock();
      const outer = retry({ clock, maxAttempts: 3, ...noDelay });
      const inner = pipeline(timeout({ timeoutMs: 1_000, clock }), retry({ clock, maxAttempts: 5, ...noDelay }));
      const { fn, calls } = flaky(clock, Infinity);
      await settle(pipeline(outer, inner).execute(fn));
      expect(calls).toHaveLength(3);
    });
  });

  describe('dispose', () => {
    it('rejects calls waiting in a backoff with DisposedError, clears timers and refuses later calls', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 500 }) });
      const events = collectEvents(r.events, ['giveUp', 'dispose', 'reject']);
      const out = settle(r.execute(flaky(clock, Infinity).fn));
      await flushMicrotasks();
      r.dispose();
      const got = await out;
      expect(got.ok === false && got.error).toBeInstanceOf(DisposedError);
      expect(clock.pendingTimers()).toBe(0);
      await expect(r.execute(() => 1)).rejects.toBeInstanceOf(DisposedError);
      expect(events.of<GiveUpEvent>('giveUp')[0]?.reason).toBe('disposed');
      expect(events.of('dispose')).toEqual([{ policy: 'retry', rejectedWaiters: 1 }]);
      expect(events.of('reject')).toHaveLength(1);
      expect(r.stats().disposed).toBe(true);
      r.dispose(); // idempotent
    });

    it('rejects sleepers with the given reason', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 500 }) });
      const out = settle(r.execute(flaky(clock, Infinity).fn));
      await flushMicrotasks();
      const reason = new Error('shutting down');
      r.dispose(reason);
      expect(await out).toEqual({ ok: false, error: reason });
    });
  });

  describe('stats and events', () => {
    it('reports calls, attempts, retries, give-ups by reason and amplification', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, maxAttempts: 3, ...noDelay });
      await r.execute(flaky(clock, 0).fn);
      await r.execute(flaky(clock, 1).fn);
      await settle(r.execute(flaky(clock, Infinity).fn));
      const s = r.stats();
      expect(s).toMatchObject({ calls: 3, attempts: 6, retries: 3, successes: 2, failures: 1, amplification: 2, sleeping: 0 });
      expect(s.giveUps).toEqual({ maxAttempts: 1, budget: 0, deadline: 0, notRetryable: 0, rejected: 0, retryAfter: 0, aborted: 0, disposed: 0 });
      expect(retry().stats().amplification).toBe(0);
    });

    it('emits retry with the failure that caused it', async () => {
      const clock = new ManualClock();
      const r = retry({ clock, ...noDelay });
      const events = collectEvents(r.events, ['retry']);
      const { fn, errors } = flaky(clock, 1);
      await r.execute(fn);
      expect(events.of('retry')).toEqual([{ policy: 'retry', attempt: 2, delayMs: 0, retryAfterMs: undefined, kind: 'error', error: errors[0] }]);
    });

    it('reports attempts, retries, give-ups and call durations to a metrics sink, and unregisters on dispose', async () => {
      const clock = new ManualClock();
      const metrics = createMetricsRegistry();
      const r = retry({ clock, name: 'api', metrics, ...noDelay });
      await r.execute(flaky(clock, 1).fn);
      await settle(r.execute(flaky(clock, Infinity).fn));
      const value = (name: string, labels: Record<string, string> = {}) =>
        metrics
          .snapshot()
          .find((m) => m.name === name && m.labels.policy === 'api' && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
      expect(value('sluice_admitted_total')).toMatchObject({ value: 2 });
      expect(value(METRIC.retryAttempts)).toMatchObject({ value: 5 });
      expect(value(METRIC.retries)).toMatchObject({ value: 3 });
      expect(value(METRIC.retryGiveUps, { reason: 'maxAttempts' })).toMatchObject({ value: 1 });
      expect(metrics.histogramSummary('sluice_call_duration_ms', { policy: 'api', kind: 'retry', outcome: 'success' })?.count).toBe(1);
      expect(metrics.histogramSummary('sluice_call_duration_ms', { policy: 'api', kind: 'retry', outcome: 'failure' })?.count).toBe(1);
      r.dispose();
      expect(value(METRIC.retryAttempts)).toBeUndefined();
    });

    it('includes the budget snapshot in stats', async () => {
      const r = retry({ clock: new ManualClock(), budget: tokenBudget({ capacity: 10 }) });
      expect(r.stats().budget).toMatchObject({ kind: 'token', tokens: 10 });
    });
  });
});
