import { describe, expect, it } from 'vitest';
import { bulkhead, type BulkheadOptions } from '../../src/concurrency/bulkhead.js';
import { ConcurrencyLimitedError, QueueFullError, isRejectedError, type RejectionCode } from '../../src/core/errors.js';
import type { Permit } from '../../src/core/permit.js';
import type { AcquireResult } from '../../src/core/policy.js';
import type { RejectEvent } from '../../src/core/telemetry.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, collectEvents, flushMicrotasks } from '../../src/testing/index.js';

/** Outcome of a call as seen by its caller, with the virtual time it settled at. */
interface Outcome<T> {
  state: 'pending' | 'ok' | 'error';
  value?: T;
  error?: unknown;
  at?: number;
}

/** Observes `p` (so no rejection goes unhandled) and appends `label` to `order` when it settles. */
function observe<T>(clock: ManualClock, p: Promise<T>, order?: string[], label?: string): Outcome<T> {
  const o: Outcome<T> = { state: 'pending' };
  p.then(
    (value) => Object.assign(o, { state: 'ok', value, at: clock.now() }),
    (error: unknown) => Object.assign(o, { state: 'error', error, at: clock.now() }),
  ).finally(() => label !== undefined && order?.push(label));
  return o;
}

function codeOf(o: Outcome<unknown>): RejectionCode | undefined {
  return isRejectedError(o.error) ? o.error.code : undefined;
}

function permitOf(r: AcquireResult): Permit {
  if (!r.ok) throw new Error(`expected a permit, got ${r.reason}`);
  return r.permit;
}

/** A task that runs for `ms` of virtual time. */
const sleep = (clock: ManualClock, ms: number) => () => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

describe('bulkhead', () => {
  describe('options', () => {
    it('requires limit, naming it', () => {
      expect(() => bulkhead({} as BulkheadOptions)).toThrow(TypeError);
      expect(() => bulkhead({} as BulkheadOptions)).toThrow(/bulkhead: option "limit" is required/);
      expect(() => bulkhead(undefined as unknown as BulkheadOptions)).toThrow(/"limit"/);
    });

    it('rejects an options argument that is not an object', () => {
      for (const bad of [null, 3, 'ten', [1]]) {
        expect(() => bulkhead(bad as unknown as BulkheadOptions)).toThrow(/bulkhead: options must be an object/);
      }
    });

    const cases: [option: string, value: unknown, kind: typeof RangeError | typeof TypeError, shown: string][] = [
      ['limit', 0, RangeError, '0'],
      ['limit', -1, RangeError, '-1'],
      ['limit', 1.5, RangeError, '1.5'],
      ['limit', Number.NaN, RangeError, 'NaN'],
      ['limit', Infinity, RangeError, 'Infinity'],
      ['limit', '4', TypeError, '"4"'],
      ['maxQueue', -1, RangeError, '-1'],
      ['maxQueue', 2.5, RangeError, '2.5'],
      ['maxQueue', Number.NaN, RangeError, 'NaN'],
      ['maxQueue', '1', TypeError, '"1"'],
      ['maxWaitMs', -5, RangeError, '-5'],
      ['maxWaitMs', Number.NaN, RangeError, 'NaN'],
      ['maxWaitMs', '100', TypeError, '"100"'],
      ['dryRun', 'yes', TypeError, '"yes"'],
      ['name', '', TypeError, '""'],
      ['name', 7, TypeError, '7'],
      ['clock', {}, TypeError, '{}'],
      ['random', 0.5, TypeError, '0.5'],
      ['metrics', { counter: 1 }, TypeError, '{"counter":1}'],
    ];
    it.each(cases)('rejects %s = %o with an error naming the option and the value', (option, value, Kind, shown) => {
      const make = () => bulkhead({ limit: 2, [option]: value } as BulkheadOptions);
      expect(make).toThrow(Kind);
      expect(make).toThrow(`bulkhead: option "${option}" must be`);
      expect(make).toThrow(`got ${shown}`);
    });

    it('accepts the edges of every range', () => {
      const clock = new ManualClock();
      expect(() => bulkhead({ limit: 1, maxQueue: 0, maxWaitMs: 0, clock })).not.toThrow();
      expect(() => bulkhead({ limit: Number.MAX_SAFE_INTEGER, maxQueue: Infinity, maxWaitMs: Infinity, dryRun: true, clock })).not.toThrow();
    });

    it('defaults: no queue, unbounded wait, enforcing, named bulkhead', () => {
      const s = bulkhead({ limit: 3, clock: new ManualClock() }).stats();
      expect(s).toMatchObject({ name: 'bulkhead', limit: 3, inflight: 0, maxInflightSeen: 0, maxQueue: 0, maxWaitMs: Infinity, dryRun: false, queued: 0, disposed: false });
    });

    it('validates configure() like the factory', () => {
      const b = bulkhead({ limit: 2, clock: new ManualClock() });
      expect(() => b.configure({ limit: 0 })).toThrow(/bulkhead.configure: option "limit" must be an integer >= 1, got 0/);
      expect(() => b.configure({ limit: 2.5 })).toThrow(RangeError);
      expect(() => b.configure({ limit: '3' as unknown as number })).toThrow(TypeError);
      expect(() => b.configure(null as never)).toThrow(TypeError);
      b.configure({});
      expect(b.stats().limit).toBe(2);
    });
  });

  describe('admission', () => {
    it('admits up to limit, then refuses at once with CONCURRENCY_LIMITED and no retry hint', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 2, clock });
      const held = [permitOf(b.tryAcquire()), permitOf(b.tryAcquire())];
      const r = b.tryAcquire();
      expect(r).toEqual({ ok: false, reason: 'CONCURRENCY_LIMITED', retryAfterMs: 0 });
      const e = await b.execute(() => 1).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConcurrencyLimitedError);
      expect(e).toMatchObject({ code: 'CONCURRENCY_LIMITED', policy: 'bulkhead', retryAfterMs: 0 });
      await expect(b.acquire()).rejects.toMatchObject({ code: 'CONCURRENCY_LIMITED' });
      expect(b.stats()).toMatchObject({ inflight: 2, admitted: 2, rejected: 3 });
      expect(b.stats().rejectedBy.CONCURRENCY_LIMITED).toBe(3);
      for (const p of held) p.release();
      expect(b.stats().inflight).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('a permit frees exactly one slot however often it is released', () => {
      const b = bulkhead({ limit: 2, clock: new ManualClock() });
      const a = permitOf(b.tryAcquire());
      permitOf(b.tryAcquire());
      a.release();
      a.release();
      a[Symbol.dispose]();
      expect(a.released).toBe(true);
      expect(b.stats().inflight).toBe(1);
      permitOf(b.tryAcquire());
      expect(b.tryAcquire().ok).toBe(false);
    });

    it('holds the slot for the whole run of fn and frees it when fn settles, resolved or thrown', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, clock });
      const ok = observe(clock, b.execute(sleep(clock, 100)));
      const boom = new Error('boom');
      expect(b.stats().inflight).toBe(1);
      await clock.advance(99);
      expect(b.tryAcquire().ok).toBe(false);
      await clock.advance(1);
      expect(ok.state).toBe('ok');
      expect(b.stats().inflight).toBe(0);
      await expect(b.execute(() => { throw boom; })).rejects.toBe(boom);
      await expect(b.execute(() => Promise.reject(boom))).rejects.toBe(boom);
      expect(b.stats().inflight).toBe(0);
    });

    it('honours cost: a call of cost 3 holds 3 units of the limit; a cost above the limit is a RangeError', async () => {
      const b = bulkhead({ limit: 4, clock: new ManualClock() });
      const p = await b.acquire({ cost: 3 });
      expect(b.stats().inflight).toBe(3);
      expect(b.tryAcquire({ cost: 2 }).ok).toBe(false);
      const one = b.tryAcquire({ cost: 1 });
      expect(one.ok).toBe(true);
      expect(b.stats().inflight).toBe(4);
      p.release();
      p.release(); // a second release frees nothing more
      expect(b.stats().inflight).toBe(1);
      expect(() => b.tryAcquire({ cost: 5 })).toThrow(/cost 5 exceeds limit 4/);
      await expect(b.acquire({ cost: 5 })).rejects.toThrow(RangeError);
      if (one.ok) one.permit.release();
      expect(b.stats().inflight).toBe(0);
    });

    it('never lets more than limit calls run at once under a burst of 200 calls', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 7, maxQueue: Infinity, clock });
      let running = 0;
      let peak = 0;
      const calls = Array.from({ length: 200 }, (_, i) =>
        b.execute(async () => {
          peak = Math.max(peak, ++running);
          await sleep(clock, 1 + ((i * 37) % 50))();
          running--;
          return i;
        }),
      );
      expect(b.stats()).toMatchObject({ inflight: 7, queued: 193 });
      await clock.runAll();
      expect(await Promise.all(calls)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(peak).toBe(7);
      expect(b.stats()).toMatchObject({ inflight: 0, queued: 0, admitted: 200, maxInflightSeen: 7 });
      expect(clock.pendingTimers()).toBe(0);
    });
  });

  describe('queue', () => {
    it('wakes waiters in FIFO order as permits are released', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, clock });
      const first = permitOf(b.tryAcquire());
      const order: string[] = [];
      const waiting = ['a', 'b', 'c', 'd'].map((id) => b.acquire().then((p) => (order.push(id), p)));
      expect(b.stats().queued).toBe(4);
      first.release();
      for (let i = 0; i < 4; i++) {
        const p = await waiting[i]!;
        expect(b.stats().inflight).toBe(1);
        p.release();
      }
      expect(order).toEqual(['a', 'b', 'c', 'd']);
    });

    it('refuses with QUEUE_FULL once maxQueue callers wait', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 2, clock });
      const held = permitOf(b.tryAcquire());
      const queued = [b.acquire(), b.acquire()];
      const e = await b.acquire().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(QueueFullError);
      expect(e).toMatchObject({ code: 'QUEUE_FULL', retryAfterMs: 0 });
      // tryAcquire never queues, so it reports the limit itself.
      expect(b.tryAcquire()).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
      held.release();
      (await queued[0]!).release();
      (await queued[1]!).release();
      expect(b.stats()).toMatchObject({ inflight: 0, queued: 0, admitted: 3 });
      expect(b.stats().rejectedBy.QUEUE_FULL).toBe(1);
    });

    it('a new call does not overtake waiters even when it arrives as a permit is freed', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 5, clock });
      const held = permitOf(b.tryAcquire());
      const waiter = observe(clock, b.acquire());
      held.release(); // the slot goes to the waiter synchronously
      expect(b.tryAcquire().ok).toBe(false);
      await flushMicrotasks();
      expect(waiter.state).toBe('ok');
      waiter.value!.release();
    });
  });

  describe('expiry of waiters', () => {
    it('evicts a waiter with MAX_WAIT_EXCEEDED the moment maxWaitMs elapses', async () => {
      const clock = new ManualClock(1000);
      const b = bulkhead({ limit: 1, maxQueue: 5, maxWaitMs: 250, clock });
      const held = permitOf(b.tryAcquire());
      const w = observe(clock, b.acquire());
      await clock.advance(249);
      expect(w.state).toBe('pending');
      await clock.advance(1);
      expect(w.state).toBe('error');
      expect(codeOf(w)).toBe('MAX_WAIT_EXCEEDED');
      expect(w.at).toBe(1250);
      expect(w.error).toMatchObject({ retryAfterMs: 0, policy: 'bulkhead' });
      expect(b.stats()).toMatchObject({ queued: 0, rejected: 1 });
      expect(b.stats().rejectedBy.MAX_WAIT_EXCEEDED).toBe(1);
      expect(clock.pendingTimers()).toBe(0);
      held.release();
    });

    it('evicts a waiter with DEADLINE_EXCEEDED when its deadline comes before maxWaitMs', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 5, maxWaitMs: 1000, clock });
      const held = permitOf(b.tryAcquire());
      const byDeadline = observe(clock, b.acquire({ deadline: 300 }));
      const byTimeout = observe(clock, b.acquire({ timeoutMs: 400 }));
      const byMaxWait = observe(clock, b.acquire({ deadline: 5000 }));
      await clock.advance(2000);
      expect([codeOf(byDeadline), byDeadline.at]).toEqual(['DEADLINE_EXCEEDED', 300]);
      expect([codeOf(byTimeout), byTimeout.at]).toEqual(['DEADLINE_EXCEEDED', 400]);
      expect([codeOf(byMaxWait), byMaxWait.at]).toEqual(['MAX_WAIT_EXCEEDED', 1000]);
      expect(b.stats().rejectedBy).toMatchObject({ DEADLINE_EXCEEDED: 2, MAX_WAIT_EXCEEDED: 1 });
      held.release();
    });

    it('does not refuse a call up front for its deadline: the wait of a concurrency limit is unknown', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 5, clock });
      const held = permitOf(b.tryAcquire());
      const w = observe(clock, b.acquire({ deadline: 10 }));
      await clock.advance(5);
      held.release();
      await flushMicrotasks();
      expect(w.state).toBe('ok');
      w.value!.release();
    });

    it('evicts 60 waiters with shuffled deadlines each at its own time, with never more than one timer armed', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: Infinity, maxWaitMs: 700, clock });
      const held = permitOf(b.tryAcquire());
      const expected: number[] = [];
      const waiters: Outcome<Permit>[] = [];
      for (let i = 0; i < 60; i++) {
        const deadline = i % 3 === 0 ? undefined : 10 + ((i * 7919) % 997);
        expected.push(Math.min(deadline ?? Infinity, 700));
        waiters.push(observe(clock, b.acquire(deadline === undefined ? undefined : { deadline })));
        expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
      }
      for (let t = 0; t <= 800; t += 10) {
        await clock.advanceTo(t);
        expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
      }
      expect(waiters.map((w) => w.at)).toEqual(expected);
      expect(waiters.every((w) => codeOf(w) === (w.at === 700 ? 'MAX_WAIT_EXCEEDED' : 'DEADLINE_EXCEEDED'))).toBe(true);
      expect(clock.pendingTimers()).toBe(0);
      held.release();
    });

    it('arms no timer when no waiter has a finite expiry', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, clock });
      const held = permitOf(b.tryAcquire());
      const ws = [b.acquire(), b.acquire()];
      const run = b.execute(() => 1);
      expect(clock.pendingTimers()).toBe(0);
      held.release();
      (await ws[0]!).release();
      (await ws[1]!).release();
      expect(await run).toBe(1);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('clears the timer once the last waiter with an expiry is admitted or aborted', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, clock });
      const held = permitOf(b.tryAcquire());
      const ac = new AbortController();
      const admitted = b.acquire({ deadline: 100 });
      const aborted = observe(clock, b.acquire({ deadline: 50, signal: ac.signal }));
      const open = observe(clock, b.acquire());
      expect(clock.pendingTimers()).toBe(1);
      ac.abort();
      await flushMicrotasks();
      expect(aborted.state).toBe('error');
      expect(clock.pendingTimers()).toBe(1); // still the deadline 100 waiter
      held.release();
      const p = await admitted;
      expect(clock.pendingTimers()).toBe(0); // the remaining waiter has no expiry
      p.release();
      await flushMicrotasks();
      open.value!.release();
    });

    it('a stale alarm (its waiter already admitted) wakes, evicts nobody, and re-arms for the next expiry', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 100, clock });
      const held = permitOf(b.tryAcquire());
      const first = observe(clock, b.acquire()); // expires at 100
      await clock.advance(40);
      const second = observe(clock, b.acquire()); // expires at 140
      held.release(); // first admitted at 40
      await clock.advance(60); // t = 100: the alarm armed for `first` fires
      expect(second.state).toBe('pending');
      expect(clock.pendingTimers()).toBe(1);
      expect(clock.nextTimerAt()).toBe(140);
      await clock.advance(40);
      expect([codeOf(second), second.at]).toEqual(['MAX_WAIT_EXCEEDED', 140]);
      expect(clock.pendingTimers()).toBe(0);
      first.value!.release();
    });

    it('a permit freed at the very instant a waiter expires does not admit it', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, clock });
      // The running call ends at t = 100 on a timer armed before the waiter's alarm, so it fires first.
      const running = b.execute(sleep(clock, 100));
      let started = false;
      const late = observe(clock, b.execute(() => (started = true), { deadline: 100 }));
      const next = observe(clock, b.execute(() => 'next'));
      await clock.advance(100);
      await running;
      expect(started).toBe(false);
      expect(codeOf(late)).toBe('DEADLINE_EXCEEDED');
      expect(next.value).toBe('next');
    });

    it('with maxWaitMs 0, a call that would wait is refused without arming a timer', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 0, clock });
      const held = permitOf(b.tryAcquire());
      await expect(b.acquire()).rejects.toMatchObject({ code: 'MAX_WAIT_EXCEEDED' });
      expect(clock.pendingTimers()).toBe(0);
      expect(b.stats().queued).toBe(0);
      held.release();
    });
  });

  describe('abort', () => {
    it('regression (cockatiel #112): an aborted waiter frees its queue slot at once, not at dequeue', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 1, clock });
      const held = permitOf(b.tryAcquire());
      const ac = new AbortController();
      const reason = new Error('client went away');
      const gone = observe(clock, b.acquire({ signal: ac.signal }));
      ac.abort(reason);
      await flushMicrotasks();
      expect(gone).toMatchObject({ state: 'error', error: reason, at: 0 });
      expect(b.stats()).toMatchObject({ queued: 0, aborted: 1, rejected: 0 });
      // The freed queue slot is usable while the permit is still held.
      const next = observe(clock, b.acquire());
      expect(b.stats().queued).toBe(1);
      held.release();
      await flushMicrotasks();
      expect(next.state).toBe('ok');
      next.value!.release();
    });

    it('a call aborted while running keeps its slot until fn settles (a bulkhead never revokes)', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, clock });
      const ac = new AbortController();
      const run = b.execute(sleep(clock, 50), { signal: ac.signal });
      ac.abort();
      expect(b.stats().inflight).toBe(1);
      await clock.advance(50);
      await run;
      expect(b.stats().inflight).toBe(0);
    });
  });

  describe('dispose', () => {
    it('rejects waiters, clears the expiry timer, and lets running calls finish and release', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 1000, clock });
      const events = collectEvents(b.events, ['dispose']);
      const running = observe(clock, b.execute(sleep(clock, 200)));
      const waiters = [observe(clock, b.acquire()), observe(clock, b.acquire({ deadline: 50 }))];
      expect(clock.pendingTimers()).toBe(2); // the running call's own sleep, and the bulkhead's alarm
      b.dispose();
      await flushMicrotasks();
      expect(waiters.map(codeOf)).toEqual(['DISPOSED', 'DISPOSED']);
      expect(clock.pendingTimers()).toBe(1); // only the sleep of the running call
      await clock.advance(200);
      expect(running.state).toBe('ok');
      expect(b.stats()).toMatchObject({ inflight: 0, disposed: true, queued: 0 });
      expect(clock.pendingTimers()).toBe(0);
      expect(events.of('dispose')).toEqual([{ policy: 'bulkhead', rejectedWaiters: 2 }]);
      expect(b.tryAcquire()).toMatchObject({ ok: false, reason: 'DISPOSED' });
    });
  });

  describe('configure', () => {
    it('raising the limit admits waiters at once, in queue order', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, clock });
      const held = permitOf(b.tryAcquire());
      const order: string[] = [];
      const ws = ['a', 'b', 'c'].map((id) => observe(clock, b.acquire(), order, id));
      b.configure({ limit: 3 });
      expect(b.stats()).toMatchObject({ limit: 3, inflight: 3, queued: 1 });
      await flushMicrotasks();
      expect(order).toEqual(['a', 'b']);
      held.release();
      await flushMicrotasks();
      expect(order).toEqual(['a', 'b', 'c']);
      for (const w of ws) w.value!.release();
      expect(b.stats().inflight).toBe(0);
    });

    it('lowering the limit revokes nothing and admits again only once inflight drains below it', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 3, maxQueue: 10, clock });
      const held = [permitOf(b.tryAcquire()), permitOf(b.tryAcquire()), permitOf(b.tryAcquire())];
      const w = observe(clock, b.acquire());
      b.configure({ limit: 1 });
      expect(b.stats()).toMatchObject({ limit: 1, inflight: 3, queued: 1 });
      expect(held.every((p) => !p.released)).toBe(true);
      held[0]!.release();
      held[1]!.release();
      await flushMicrotasks();
      expect(w.state).toBe('pending');
      expect(b.stats().inflight).toBe(1);
      held[2]!.release();
      await flushMicrotasks();
      expect(w.state).toBe('ok');
      expect(b.stats()).toMatchObject({ inflight: 1, maxInflightSeen: 3 });
      expect(b.tryAcquire().ok).toBe(false);
      w.value!.release();
    });
  });

  describe('dry run', () => {
    it('admits every call, shows the real concurrency, and counts what enforcement would have refused', async () => {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 2, dryRun: true, clock });
      const events = collectEvents(b.events, ['wouldReject', 'reject']);
      const runs = Array.from({ length: 5 }, () => b.execute(sleep(clock, 10)));
      expect(b.stats()).toMatchObject({ inflight: 5, maxInflightSeen: 5, admitted: 5, rejected: 0 });
      expect(b.stats().wouldRejectBy.CONCURRENCY_LIMITED).toBe(3);
      expect(events.of<RejectEvent>('wouldReject').map((e) => e.reason)).toEqual(['CONCURRENCY_LIMITED', 'CONCURRENCY_LIMITED', 'CONCURRENCY_LIMITED']);
      expect(events.of('reject')).toEqual([]);
      await clock.advance(10);
      await Promise.all(runs);
      expect(b.stats().inflight).toBe(0);
    });

    it('with a queue, counts QUEUE_FULL beyond maxQueue extra calls, and tryAcquire as CONCURRENCY_LIMITED', () => {
      const b = bulkhead({ limit: 1, maxQueue: 2, dryRun: true, clock: new ManualClock() });
      // One call within the limit and two that enforcement would have queued: nothing would have been refused.
      expect(b.tryAcquire().ok).toBe(true);
      void b.acquire();
      void b.acquire();
      expect(b.stats().wouldRejectBy).toMatchObject({ CONCURRENCY_LIMITED: 0, QUEUE_FULL: 0 });
      // tryAcquire never waits, so over the limit it would have been refused outright.
      expect(b.tryAcquire().ok).toBe(true);
      expect(b.stats().wouldRejectBy).toMatchObject({ CONCURRENCY_LIMITED: 1, QUEUE_FULL: 0 });
      // Now more than maxQueue calls run beyond the limit: the next waiter would have found the queue full.
      void b.acquire();
      expect(b.stats().wouldRejectBy).toMatchObject({ CONCURRENCY_LIMITED: 1, QUEUE_FULL: 1 });
      expect(b.stats()).toMatchObject({ inflight: 5, admitted: 5, rejected: 0, queued: 0 });
    });
  });

  describe('telemetry', () => {
    it('reports inflight and limit gauges and unregisters them on dispose', () => {
      const metrics = createMetricsRegistry();
      const b = bulkhead({ limit: 4, name: 'db', metrics, clock: new ManualClock() });
      const gauge = (name: string) => metrics.snapshot().find((s) => s.name === name && s.labels.policy === 'db');
      const p = permitOf(b.tryAcquire());
      expect(gauge('sluice_inflight')).toMatchObject({ type: 'gauge', value: 1, labels: { policy: 'db', kind: 'bulkhead' } });
      expect(gauge('sluice_limit')).toMatchObject({ type: 'gauge', value: 4 });
      b.configure({ limit: 6 });
      expect(gauge('sluice_limit')).toMatchObject({ value: 6 });
      p.release();
      expect(gauge('sluice_inflight')).toMatchObject({ value: 0 });
      b.dispose();
      expect(gauge('sluice_inflight')).toBeUndefined();
    });

    it('times calls when the sink records histograms, and still releases on success and failure', async () => {
      const clock = new ManualClock();
      const metrics = createMetricsRegistry();
      const b = bulkhead({ limit: 1, metrics, clock });
      const ok = b.execute(sleep(clock, 30));
      await clock.advance(30);
      await ok;
      await expect(b.execute(() => { throw new Error('sync'); })).rejects.toThrow('sync');
      const labels = { policy: 'bulkhead', kind: 'bulkhead' };
      expect(metrics.histogramSummary('sluice_call_duration_ms', { ...labels, outcome: 'success' })).toMatchObject({ count: 1, max: 30 });
      expect(metrics.histogramSummary('sluice_call_duration_ms', { ...labels, outcome: 'failure' })).toMatchObject({ count: 1 });
      expect(b.stats().inflight).toBe(0);
    });

    it('emits reject events with the reason and the instance name', async () => {
      const b = bulkhead({ limit: 1, name: 'pool', clock: new ManualClock() });
      const events = collectEvents(b.events, ['reject']);
      const p = permitOf(b.tryAcquire());
      await b.execute(() => 1).catch(() => {});
      expect(events.of<RejectEvent>('reject')).toEqual([{ policy: 'pool', reason: 'CONCURRENCY_LIMITED', retryAfterMs: 0, cost: 1 }]);
      p.release();
    });
  });
});
