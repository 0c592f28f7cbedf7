import { describe, expect, it, vi } from 'vitest';
import { timeout } from '../../src/timeout/index.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';
import { TimeoutError, isRejectedError, isTimeoutError } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/clock.js';
import type { ExecutionContext } from '../../src/core/context.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, collectEvents, flushMicrotasks } from '../../src/testing/index.js';

/** Records when a promise settled (on the clock) and how. */
function track<T>(clock: ManualClock, p: Promise<T>) {
  const state: { settledAt?: number; value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (value) => Object.assign(state, { done: true, value, settledAt: clock.now() }),
    (error: unknown) => Object.assign(state, { done: true, error, settledAt: clock.now() }),
  );
  return state;
}

/** A clock that counts the timers armed on it and the times it was read. */
class CountingClock extends ManualClock {
  armed = 0;
  maxPending = 0;
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
  override setTimeout(callback: () => void, delayMs: number): unknown {
    this.armed++;
    const h = super.setTimeout(callback, delayMs);
    this.maxPending = Math.max(this.maxPending, this.pendingTimers());
    return h;
  }
}

const never = (): Promise<never> => new Promise<never>(() => {});

/** Resolves with `value` after `ms` on the clock. */
function after<T>(clock: ManualClock, ms: number, value: T): Promise<T> {
  return new Promise((resolve) => clock.setTimeout(() => resolve(value), ms));
}

describe('timeout', () => {
  it('rejects with a TimeoutError exactly at the deadline even if fn ignores the signal', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock, name: 'api' });
    const call = track(clock, t.execute(never));
    await clock.advance(999);
    expect(call.done).toBe(false);
    await clock.advance(1);
    expect(call.done).toBe(true);
    expect(call.settledAt).toBe(1_000);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(isTimeoutError(call.error)).toBe(true);
    expect(isRejectedError(call.error)).toBe(false);
    expect(call.error).toMatchObject({ code: 'TIMEOUT', policy: 'api', timeoutMs: 1_000, message: 'api: timed out after 1000 ms' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('aborts ctx.signal at the deadline with the same TimeoutError the caller receives', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 200, clock });
    let seen: AbortSignal | undefined;
    const p = t.execute(({ signal }) => {
      seen = signal;
      return never();
    });
    const call = track(clock, p);
    expect(seen!.aborted).toBe(false);
    await clock.advance(200);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(call.error);
    expect(call.error).toBeInstanceOf(TimeoutError);
  });

  it('hands a signal that is already aborted to code reading it after the timeout', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 100, clock });
    let ctx: ExecutionContext | undefined;
    const call = track(clock, t.execute((c) => ((ctx = c), never())));
    await clock.advance(100);
    // The signal was never read before the deadline, so it is created now, already aborted.
    expect(ctx!.signal.aborted).toBe(true);
    expect(ctx!.signal.reason).toBe(call.error);
  });

  it('drops a late result and a late rejection of fn without an unhandled rejection', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 100, clock });
    const late = track(clock, t.execute(() => after(clock, 500, 'late')));
    const lateFail = track(clock, t.execute(() => after(clock, 500, 0).then(() => Promise.reject(new Error('late')))));
    await clock.advance(1_000);
    expect(late.error).toBeInstanceOf(TimeoutError);
    expect(lateFail.error).toBeInstanceOf(TimeoutError);
    expect(t.stats()).toMatchObject({ calls: 2, timedOut: 2, pending: 0 });
  });

  it('resolves with the value of a call that finishes before its deadline', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 100, clock });
    const call = track(clock, t.execute(() => after(clock, 99, 'ok')));
    const failing = track(clock, t.execute(() => after(clock, 50, 0).then(() => Promise.reject(new Error('boom')))));
    await clock.advance(100);
    expect(call).toMatchObject({ value: 'ok', settledAt: 99 });
    expect(failing.error).toEqual(new Error('boom'));
    expect(t.stats()).toMatchObject({ calls: 2, timedOut: 0, pending: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects at once with signal.reason when the caller aborts while fn runs, and passes the abort inward', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const ac = new AbortController();
    const reason = new Error('client went away');
    let seen: AbortSignal | undefined;
    const call = track(clock, t.execute(({ signal }) => ((seen = signal), never()), { signal: ac.signal }));
    await clock.advance(10);
    ac.abort(reason);
    await flushMicrotasks();
    expect(call.error).toBe(reason);
    expect(call.settledAt).toBe(10);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(reason);
    expect(t.stats()).toMatchObject({ aborted: 1, timedOut: 0, pending: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects with signal.reason when fn aborts the caller signal during its synchronous part', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const ac = new AbortController();
    const reason = new Error('abort in fn');
    let seen: AbortSignal | undefined;
    await expect(t.execute((c) => (ac.abort(reason), (seen = c.signal), never()), { signal: ac.signal })).rejects.toBe(reason);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(reason);
    const ac2 = new AbortController();
    await expect(t.execute((c) => (ac2.abort(reason), (seen = c.signal), 'value'), { signal: ac2.signal })).rejects.toBe(reason);
    expect(seen!.reason).toBe(reason);
    await expect(t.execute(() => 'value', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('removes its listener from the caller signal once the call settles', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const ac = new AbortController();
    const add = vi.spyOn(ac.signal, 'addEventListener');
    const remove = vi.spyOn(ac.signal, 'removeEventListener');
    const inTime = t.execute(() => after(clock, 10, 1), { signal: ac.signal });
    const late = t.execute(never, { signal: ac.signal }).catch((e: unknown) => e);
    await clock.advance(1_000);
    await expect(inTime).resolves.toBe(1);
    await expect(late).resolves.toBeInstanceOf(TimeoutError);
    expect(add).toHaveBeenCalledTimes(2);
    expect(remove).toHaveBeenCalledTimes(2);
    expect(remove.mock.calls.map((c) => c[1])).toEqual(add.mock.calls.map((c) => c[1]));
  });

  it('lets the overall deadline from the options bound the per-attempt timeout', async () => {
    const clock = new ManualClock(1_000);
    const t = timeout({ timeoutMs: 1_000, clock, name: 't' });
    const events = collectEvents(t.events, ['timeout']);
    let deadline: number | undefined;
    const rel = track(clock, t.execute((c) => ((deadline = c.deadline), never()), { timeoutMs: 300 }));
    const abs = track(clock, t.execute(never, { deadline: 1_450 }));
    const own = track(clock, t.execute(never, { deadline: 5_000 }));
    expect(deadline).toBe(1_300);
    await clock.advance(2_000);
    expect(rel.settledAt).toBe(1_300);
    expect(rel.error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 300, message: 't: call deadline reached after 300 ms' });
    expect(abs.settledAt).toBe(1_450);
    expect(own.settledAt).toBe(2_000);
    expect(events.of('timeout')).toEqual([
      { policy: 't', timeoutMs: 300, deadline: 1_300, limitedBy: 'deadline' },
      { policy: 't', timeoutMs: 450, deadline: 1_450, limitedBy: 'deadline' },
      { policy: 't', timeoutMs: 1_000, deadline: 2_000, limitedBy: 'timeoutMs' },
    ]);
  });

  it('refuses with DEADLINE_EXCEEDED, without calling fn, when the context deadline has already passed', async () => {
    const clock = new ManualClock(500);
    const t = timeout({ timeoutMs: 1_000, clock, name: 't' });
    const events = collectEvents(t.events, ['reject']);
    let called = 0;
    const err = await t.execute(() => ++called, { deadline: 500 }).catch((e: unknown) => e);
    expect(isRejectedError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', policy: 't', retryAfterMs: 0 });
    expect(called).toBe(0);
    expect(events.of('reject')).toEqual([{ policy: 't', reason: 'DEADLINE_EXCEEDED', retryAfterMs: 0, cost: 1 }]);
    expect(t.stats()).toMatchObject({ calls: 0, rejected: 1 });
    await expect(t.execute(() => 1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('starts the per-attempt timeout when a queued call is admitted, inside pipeline(tokenBucket, timeout)', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 10, clock });
    const t = timeout({ timeoutMs: 500, clock });
    const guarded = pipeline(bucket, t);
    const startedAt: number[] = [];
    const work = (): Promise<never> => (startedAt.push(clock.now()), never());
    const calls = [0, 1, 2].map(() => track(clock, guarded.execute(work)));
    await clock.advance(3_000);
    expect(startedAt).toEqual([0, 1_000, 2_000]);
    expect(calls.map((c) => c.settledAt)).toEqual([500, 1_500, 2_500]);
    for (const c of calls) expect(c.error).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('draws queue wait and attempt from one overall deadline inside pipeline(tokenBucket, timeout)', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 10, clock });
    const guarded = pipeline(bucket, timeout({ timeoutMs: 500, clock }));
    const calls = [0, 1, 2].map(() => track(clock, guarded.execute(never, { timeoutMs: 1_200 })));
    await clock.advance(3_000);
    // First: its own 500 ms. Second: admitted at 1000, cut by the overall deadline at 1200. Third: would be admitted
    // at 2000, past its deadline, so the bucket refuses it at once.
    expect(calls.map((c) => c.settledAt)).toEqual([500, 1_200, 0]);
    expect(calls[0]!.error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 500 });
    expect(calls[1]!.error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 200 });
    expect(calls[2]!.error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps at most one timer armed for many concurrent calls, and none once they settle', async () => {
    const clock = new CountingClock();
    const t = timeout({ timeoutMs: 300, clock });
    // fn's own completions are driven by the test, so every timer on the clock is the policy's.
    const running: Array<{ finishAt: number; resolve: (v: number) => void }> = [];
    const calls = [];
    for (let i = 0; i < 200; i++) {
      const finishAt = clock.now() + ((i * 37) % 500); // some finish in time, some do not
      calls.push(track(clock, t.execute(() => new Promise<number>((resolve) => running.push({ finishAt, resolve })))));
      if (i % 10 === 0) await clock.advance(7);
      for (const r of running) if (r.finishAt <= clock.now()) r.resolve(i);
      expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
    }
    while (t.stats().pending > 0) {
      await clock.advance(13);
      for (const r of running) if (r.finishAt <= clock.now()) r.resolve(0);
      expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
    }
    await flushMicrotasks();
    expect(calls.every((c) => c.done)).toBe(true);
    expect(calls.some((c) => c.error instanceof TimeoutError)).toBe(true);
    expect(calls.some((c) => c.error === undefined)).toBe(true);
    expect(clock.maxPending).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('arms one timer for a burst of concurrent calls with one timeoutMs', async () => {
    const clock = new CountingClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const resolvers: Array<(v: number) => void> = [];
    const calls = Array.from({ length: 1_000 }, () => t.execute(() => new Promise<number>((r) => resolvers.push(r))));
    await flushMicrotasks();
    expect(clock.armed).toBe(1);
    resolvers.forEach((r, i) => r(i));
    await Promise.all(calls);
    expect(clock.armed).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('never arms a timer for calls that settle within the microtask they start in', async () => {
    const clock = new CountingClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    for (let i = 0; i < 100; i++) {
      await t.execute(() => i);
      await t.execute(async () => i);
      await t.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    }
    expect(clock.armed).toBe(0);
    expect(t.stats()).toMatchObject({ calls: 300, pending: 0 });
  });

  it('reads the clock once for a batch of calls started together, and not at all for calls that settle at once', async () => {
    const clock = new CountingClock(10);
    const t = timeout({ timeoutMs: 100, clock });
    await t.execute(async () => 1);
    await t.execute(() => 2);
    expect(clock.reads).toBe(0);
    const calls = Array.from({ length: 50 }, () => track(clock, t.execute(never)));
    await flushMicrotasks();
    expect(clock.reads).toBe(2); // one to stamp the batch, one in Alarm.set
    await clock.advance(100);
    expect(calls.every((c) => c.settledAt === 110 && c.error instanceof TimeoutError)).toBe(true);
  });

  it('stamps the start when fn reads ctx.deadline', async () => {
    const clock = new ManualClock(40);
    const t = timeout({ timeoutMs: 100, clock });
    let deadline: number | undefined;
    const call = track(clock, t.execute((c) => ((deadline = c.deadline), never())));
    expect(deadline).toBe(140);
    await clock.advance(100);
    expect(call.settledAt).toBe(140);
  });

  it('leaves no timer once the last pending call settles, even when an earlier call armed it', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const a = t.execute(() => after(clock, 10, 'a'));
    const b = t.execute(() => after(clock, 20, 'b'));
    await clock.advance(10);
    await expect(a).resolves.toBe('a');
    expect(clock.pendingTimers()).toBe(2); // ours + the one resolving b
    await clock.advance(10);
    await expect(b).resolves.toBe('b');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('re-arms for a later head when the call its timer was armed for settles early', async () => {
    const clock = new CountingClock();
    const t = timeout({ timeoutMs: 100, clock });
    let finishFirst!: (v: string) => void;
    const first = t.execute(() => new Promise<string>((r) => (finishFirst = r))); // deadline 100
    await clock.advance(50);
    const second = track(clock, t.execute(never)); // deadline 150
    await clock.advance(10);
    finishFirst('first');
    await expect(first).resolves.toBe('first');
    expect(clock.pendingTimers()).toBe(1); // still armed for 100: settling does not re-arm
    await clock.advance(40); // fires at 100, finds nothing due, re-arms for 150
    expect(second.done).toBe(false);
    await clock.advance(50);
    expect(second.settledAt).toBe(150);
    expect(clock.armed).toBe(2);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('fires calls with an earlier context deadline before older calls', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1_000, clock });
    const order: string[] = [];
    const slow = t.execute(never).catch(() => order.push('slow'));
    const urgent = t.execute(never, { timeoutMs: 100 }).catch(() => order.push('urgent'));
    await clock.advance(1_000);
    await Promise.all([slow, urgent]);
    expect(order).toEqual(['urgent', 'slow']);
  });

  it('returns the outcome of a synchronous fn however long it ran, since nothing could interrupt it', async () => {
    const manual = new ManualClock();
    let now = 0;
    const clock: Clock = { now: () => now, setTimeout: (cb, ms) => manual.setTimeout(cb, ms), clearTimeout: (h) => manual.clearTimeout(h) };
    const t = timeout({ timeoutMs: 100, clock });
    await expect(t.execute(() => ((now += 500), 'done late'))).resolves.toBe('done late');
    await expect(t.execute(() => ((now += 500), Promise.reject(new Error('x')).catch(() => 'recovered')))).resolves.toBe('recovered');
    expect(t.stats()).toMatchObject({ calls: 2, timedOut: 0 });
  });

  it('enforces only the context deadline with timeoutMs: Infinity', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: Infinity, clock });
    const bounded = track(clock, t.execute(never, { timeoutMs: 250 }));
    const unbounded = track(clock, t.execute(() => after(clock, 10_000, 'eventually')));
    await clock.advance(10_000);
    expect(bounded.settledAt).toBe(250);
    expect(bounded.error).toBeInstanceOf(TimeoutError);
    expect(unbounded.value).toBe('eventually');
  });

  it('reaches a deadline beyond the longest host timer delay in hops', async () => {
    const clock = new CountingClock();
    const t = timeout({ timeoutMs: 5_000_000_000, clock });
    const call = track(clock, t.execute(never));
    await clock.advance(5_000_000_000);
    expect(call.settledAt).toBe(5_000_000_000);
    expect(clock.armed).toBe(3);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('bounds an inner timeout by an outer one in nested timeouts', async () => {
    const clock = new ManualClock();
    const outer = timeout({ timeoutMs: 300, clock, name: 'outer' });
    const inner = timeout({ timeoutMs: 1_000, clock, name: 'inner' });
    let deadline: number | undefined;
    const call = track(clock, pipeline(outer, inner).execute((c) => ((deadline = c.deadline), never())));
    expect(deadline).toBe(300);
    await clock.advance(300);
    expect(call.settledAt).toBe(300);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('passes context fields through and keeps them on derived contexts', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 100, clock });
    const ctx = await t.execute(async (c) => c, { priority: 2, tenant: 'a', cost: 3 });
    expect(ctx).toMatchObject({ attempt: 1, priority: 2, tenant: 'a', cost: 3, deadline: 100 });
    const nested = await pipeline(t, pipeline(tokenBucket({ capacity: 10, refillPerSecond: 1, clock }))).execute(async (c) => c, { tenant: 'b' });
    expect(nested).toMatchObject({ tenant: 'b', deadline: 100 });
  });

  it('reports stats and registers its metrics', async () => {
    const clock = new ManualClock();
    const metrics = createMetricsRegistry();
    const t = timeout({ timeoutMs: 100, clock, metrics, name: 'm' });
    const slow = t.execute(never).catch(() => {});
    const quick = t.execute(() => after(clock, 10, 1));
    await flushMicrotasks();
    expect(t.stats()).toEqual({ name: 'm', timeoutMs: 100, calls: 2, timedOut: 0, pending: 2, aborted: 0, rejected: 0, disposed: false });
    await clock.advance(100);
    await Promise.all([slow, quick]);
    expect(t.stats()).toEqual({ name: 'm', timeoutMs: 100, calls: 2, timedOut: 1, pending: 0, aborted: 0, rejected: 0, disposed: false });
    const sample = (name: string) => metrics.snapshot().find((s) => s.name === name && s.labels.policy === 'm');
    expect(sample('sluice_timeouts_total')).toMatchObject({ value: 1 });
    expect(sample('sluice_admitted_total')).toMatchObject({ value: 2 });
    expect(sample('sluice_inflight')).toMatchObject({ value: 0 });
    expect(metrics.histogramSummary('sluice_call_duration_ms', { policy: 'm', kind: 'timeout', outcome: 'failure' })?.count).toBe(1);
  });

  it('validates its options, naming the option and the value', () => {
    const clock = new ManualClock();
    expect(() => timeout(undefined as never)).toThrow(new TypeError('timeout: option "timeoutMs" is required'));
    expect(() => timeout({} as never)).toThrow(new TypeError('timeout: option "timeoutMs" is required'));
    expect(() => timeout({ timeoutMs: 0, clock })).toThrow(new RangeError('timeout: option "timeoutMs" must be a number > 0 or Infinity, got 0'));
    expect(() => timeout({ timeoutMs: -1, clock })).toThrow(new RangeError('timeout: option "timeoutMs" must be a number > 0 or Infinity, got -1'));
    expect(() => timeout({ timeoutMs: Number.NaN, clock })).toThrow(RangeError);
    expect(() => timeout({ timeoutMs: '5' as never, clock })).toThrow(new TypeError('timeout: option "timeoutMs" must be a number, got "5"'));
    expect(() => timeout('fast' as never)).toThrow(new TypeError('timeout: options must be an object, got "fast"'));
    expect(() => timeout({ timeoutMs: 5, clock: {} as never })).toThrow(TypeError);
    expect(() => timeout({ timeoutMs: 5, name: '' })).toThrow(new TypeError('timeout: option "name" must be a non-empty string, got ""'));
  });
});
