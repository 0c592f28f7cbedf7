/**
 * The contract every Limiter must pass. A family's test file calls `limiterContract(...)` with a factory that builds
 * a limiter on a ManualClock, sized so that exactly one call fits and later calls must wait.
 */
import { describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/core/policy.js';
import { isRejectedError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/testing/index.js';

export interface LimiterHarness {
  limiter: Limiter & { stats(): { admitted: number; rejected: number; aborted: number; queued: number } };
  clock: ManualClock;
  /**
   * Occupies the limiter's capacity so that the next call must wait. Returns a function that frees it again
   * (for a concurrency limiter, releases the held permit; for a rate limiter, advances time enough to refill).
   */
  saturate(): Promise<() => Promise<void>>;
}

/** Builds a limiter whose queue holds at least 3 waiters and whose capacity is one call. */
export type LimiterFactory = (clock: ManualClock) => LimiterHarness;

/** The harness of a one-slot concurrency limiter: `saturate` holds the slot and hands back its release. */
export function oneSlotHarness(limiter: LimiterHarness['limiter'], clock: ManualClock): LimiterHarness {
  return {
    limiter,
    clock,
    async saturate() {
      const r = limiter.tryAcquire();
      if (!r.ok) throw new Error('expected a permit');
      return async () => r.permit.release();
    },
  };
}

const never = new Promise<never>(() => {});

export function limiterContract(name: string, make: LimiterFactory): void {
  describe(`${name} — Limiter contract`, () => {
    it('abort before start never calls fn and rejects with signal.reason', async () => {
      const { limiter } = make(new ManualClock());
      const ac = new AbortController();
      const reason = new Error('caller gave up');
      ac.abort(reason);
      let called = 0;
      await expect(limiter.execute(() => ++called, { signal: ac.signal })).rejects.toBe(reason);
      await expect(limiter.acquire({ signal: ac.signal })).rejects.toBe(reason);
      expect(called).toBe(0);
    });

    it('abort while queued removes the waiter, frees its slot and rejects with signal.reason', async () => {
      const h = make(new ManualClock());
      const free = await h.saturate();
      const ac = new AbortController();
      const order: string[] = [];
      const first = h.limiter.execute(() => order.push('aborted-one'), { signal: ac.signal });
      const second = h.limiter.execute(() => order.push('second'));
      expect(h.limiter.stats().queued).toBe(2);
      const reason = new Error('stop');
      ac.abort(reason);
      await expect(first).rejects.toBe(reason);
      expect(h.limiter.stats().queued).toBe(1);
      expect(h.limiter.stats().aborted).toBe(1);
      await free();
      await second;
      expect(order).toEqual(['second']);
      expect(h.limiter.stats().queued).toBe(0);
    });

    it('a throwing fn still releases its capacity', async () => {
      const h = make(new ManualClock());
      const boom = new Error('boom');
      const outcome = (e: unknown) => e;
      const sync = h.limiter.execute(() => { throw boom; }).then(() => 'resolved', outcome);
      const async_ = h.limiter.execute(async () => { throw boom; }).then(() => 'resolved', outcome);
      await h.clock.advance(60_000);
      expect(await sync).toBe(boom);
      expect(await async_).toBe(boom);
      // Capacity is not held by the failed calls: after the refill/free window, a call is admitted without waiting.
      await h.clock.advance(60_000);
      const r = h.limiter.tryAcquire();
      expect(r.ok).toBe(true);
      if (r.ok) r.permit.release();
    });

    it('dispose() rejects every waiter, leaves no timer, and refuses later calls', async () => {
      const h = make(new ManualClock());
      await h.saturate();
      const waiters = [h.limiter.acquire(), h.limiter.acquire()];
      h.limiter.dispose();
      for (const w of waiters) {
        const e = await w.then(() => undefined, (x: unknown) => x);
        expect(isRejectedError(e) && e.code).toBe('DISPOSED');
      }
      expect(h.clock.pendingTimers()).toBe(0);
      await expect(h.limiter.execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
      const r = h.limiter.tryAcquire();
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe('DISPOSED');
      h.limiter.dispose(); // idempotent
    });

    it('dispose(reason) rejects waiters with that reason', async () => {
      const h = make(new ManualClock());
      await h.saturate();
      const w = h.limiter.acquire();
      const reason = new Error('shutting down');
      h.limiter.dispose(reason);
      await expect(w).rejects.toBe(reason);
    });

    it('tryAcquire never waits: a refusal is a value with a reason and a retry hint', async () => {
      const h = make(new ManualClock());
      await h.saturate();
      const r = h.limiter.tryAcquire();
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(typeof r.reason).toBe('string');
        expect(r.retryAfterMs).toBeGreaterThanOrEqual(0);
      }
    });

    it('regression: tryAcquire with an already-aborted signal throws signal.reason and takes nothing', async () => {
      const h = make(new ManualClock());
      const ac = new AbortController();
      const reason = new Error('caller gave up');
      ac.abort(reason);
      const before = h.limiter.stats();
      expect(() => h.limiter.tryAcquire({ signal: ac.signal })).toThrow(reason);
      const after = h.limiter.stats();
      expect([after.admitted, after.rejected, after.aborted]).toEqual([before.admitted, before.rejected, before.aborted]);
      // Nothing was taken: the one call that fits still fits.
      const r = h.limiter.tryAcquire();
      expect(r.ok).toBe(true);
      if (r.ok) r.permit.release();
    });

    it('a deadline already passed is refused without calling fn', async () => {
      const h = make(new ManualClock(1000));
      let called = 0;
      const e = await h.limiter.execute(() => ++called, { deadline: 500 }).catch((x: unknown) => x);
      expect(isRejectedError(e) && e.code).toBe('DEADLINE_EXCEEDED');
      expect(called).toBe(0);
    });

    it('stats stay consistent: every call is admitted, refused, aborted or still queued', async () => {
      const h = make(new ManualClock());
      const free = await h.saturate();
      const before = h.limiter.stats();
      const settled: Promise<unknown>[] = [];
      const ac = new AbortController();
      for (let i = 0; i < 12; i++) {
        settled.push(h.limiter.execute(() => i, i === 1 ? { signal: ac.signal } : undefined).catch((e: unknown) => e));
      }
      ac.abort();
      const mid = h.limiter.stats();
      const started = 12;
      expect(mid.admitted - before.admitted + mid.rejected - before.rejected + mid.aborted - before.aborted + mid.queued).toBe(started);
      await free();
      await h.clock.advance(120_000);
      await Promise.all(settled);
      const after = h.limiter.stats();
      expect(after.queued).toBe(0);
      expect(after.admitted - before.admitted + after.rejected - before.rejected + after.aborted - before.aborted).toBe(started);
      expect(h.clock.pendingTimers()).toBe(0);
    });

    it('a permit releases at most once', async () => {
      const h = make(new ManualClock());
      const p = await h.limiter.acquire();
      p.release();
      p.release();
      p[Symbol.dispose]();
      const stats = h.limiter.stats();
      expect(stats.admitted).toBe(1);
    });

    it('malformed per-call options are a TypeError/RangeError naming the option', async () => {
      const { limiter } = make(new ManualClock());
      await expect(limiter.execute(() => 1, { cost: -1 })).rejects.toThrow(/cost/);
      await expect(limiter.execute(() => 1, { cost: Number.NaN })).rejects.toBeInstanceOf(RangeError);
      await expect(limiter.execute(() => 1, { tenant: 5 as unknown as string })).rejects.toBeInstanceOf(TypeError);
      expect(() => limiter.tryAcquire({ cost: 0 })).toThrow(RangeError);
      await expect(limiter.execute(null as unknown as () => number)).rejects.toBeInstanceOf(TypeError);
    });

    it('no timer stays armed once every call has settled', async () => {
      const h = make(new ManualClock());
      const free = await h.saturate();
      const calls = [h.limiter.execute(() => 1), h.limiter.execute(() => 2)];
      await free();
      await h.clock.advance(120_000);
      await Promise.all(calls);
      expect(h.clock.pendingTimers()).toBe(0);
      void never;
    });
  });
}
