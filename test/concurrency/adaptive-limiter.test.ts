import { describe, expect, it } from 'vitest';
import { adaptiveLimiter } from '../../src/concurrency/adaptive-limiter.js';
import { aimdLimit, sluiceLimit, type LimitAlgorithm, type LimitSample } from '../../src/concurrency/limits/index.js';
import type { Clock } from '../../src/core/clock.js';
import { ConcurrencyLimitedError, TimeoutError } from '../../src/core/errors.js';
import { pipeline } from '../../src/core/pipeline.js';
import { timeout } from '../../src/timeout/index.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';
import { limiterContract, oneSlotHarness } from '../contract/limiter.contract.js';
import { policyContract } from '../contract/policy.contract.js';

/** An algorithm that records what it is fed and holds the limit the test sets. */
function recording(initial = 2, max = 10): LimitAlgorithm & { samples: { s: LimitSample; now: number }[]; next: number } {
  let limit = initial;
  return {
    name: 'recording',
    get limit() {
      return limit;
    },
    min: 1,
    max,
    next: initial,
    samples: [],
    sample(s, now) {
      this.samples.push({ s: { ...s }, now });
      limit = this.next;
      return limit;
    },
  };
}

const sleep = (clock: ManualClock, ms: number): Promise<void> => new Promise((r) => clock.setTimeout(r, ms));

describe('adaptiveLimiter', () => {
  it('validates its options', () => {
    expect(() => adaptiveLimiter({ limit: 3 } as never)).toThrow(/unknown option "limit"/);
    expect(() => adaptiveLimiter({ algorithm: {} as never })).toThrow(TypeError);
    expect(() => adaptiveLimiter({ algorithm: { ...recording(), name: 'zero', limit: 0 } })).toThrow(/algorithm/);
    expect(() => adaptiveLimiter({ classify: 3 as never })).toThrow(/classify/);
    expect(() => adaptiveLimiter({ discountEventLoopDelay: 'yes' as never })).toThrow(/discountEventLoopDelay/);
    expect(() => adaptiveLimiter({ maxQueue: -1 })).toThrow(/maxQueue/);
    expect(adaptiveLimiter().stats()).toMatchObject({ algorithm: 'sluice', limit: 20, inflight: 0, samples: 0 });
  });

  it('feeds one sample per attempt: the RTT from admission and the calls in flight at its start', async () => {
    const clock = new ManualClock();
    const algorithm = recording(5);
    const l = adaptiveLimiter({ algorithm, clock, discountEventLoopDelay: false });
    const a = l.execute(() => sleep(clock, 30));
    await clock.advance(10);
    const b = l.execute(() => sleep(clock, 5));
    await clock.advance(40);
    await Promise.all([a, b]);
    expect(algorithm.samples).toEqual([
      { s: { rttMs: 5, inflight: 2, dropped: false }, now: 15 },
      { s: { rttMs: 30, inflight: 1, dropped: false }, now: 30 },
    ]);
  });

  it('follows the algorithm: a lower limit refuses, a higher one admits waiters in order', async () => {
    const clock = new ManualClock();
    const algorithm = recording(2);
    const l = adaptiveLimiter({ algorithm, clock, maxQueue: 10, discountEventLoopDelay: false });
    const first = l.tryAcquire();
    const second = l.tryAcquire();
    expect(first.ok && second.ok).toBe(true);
    expect(l.tryAcquire()).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
    const order: number[] = [];
    const waiters = [1, 2, 3].map((k) => l.acquire().then((p) => (order.push(k), p)));
    algorithm.next = 4;
    if (first.ok) first.permit.release();
    await flushMicrotasks();
    expect(order).toEqual([1, 2, 3]);
    expect(l.stats()).toMatchObject({ limit: 4, inflight: 4 });
    algorithm.next = 1;
    for (const p of await Promise.all(waiters)) p.release();
    expect(l.stats()).toMatchObject({ limit: 1, inflight: 1 });
    expect(l.tryAcquire()).toMatchObject({ ok: false });
  });

  it('classifies outcomes: timeouts and aborts after the deadline drop, caller aborts and inner refusals are ignored', async () => {
    const clock = new ManualClock();
    const algorithm = recording(5);
    const l = adaptiveLimiter({ algorithm, clock, discountEventLoopDelay: false });
    // A sluice timeout inside: a drop.
    const timed = pipeline(l, timeout({ timeoutMs: 10, clock }));
    const t = timed.execute(() => sleep(clock, 100)).catch((e: unknown) => e);
    await clock.advance(10);
    expect(await t).toBeInstanceOf(TimeoutError);
    // An error of the dependency: still a latency sample.
    await expect(l.execute(() => Promise.reject(new Error('500')))).rejects.toThrow('500');
    // An inner local refusal: the call never reached the dependency.
    await expect(l.execute(() => Promise.reject(new ConcurrencyLimitedError('inner', 0)))).rejects.toThrow();
    // The caller gives up before any deadline: ignored.
    const ac = new AbortController();
    const gaveUp = l.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: ac.signal });
    ac.abort(new Error('bored'));
    await expect(gaveUp).rejects.toThrow('bored');
    // Aborted at its deadline: a drop.
    const late = new AbortController();
    const deadline = clock.now() + 20;
    clock.setTimeout(() => late.abort(new Error('deadline')), 20);
    const d = l.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: late.signal, deadline }).catch((e: unknown) => e);
    await clock.advance(20);
    expect(await d).toMatchObject({ message: 'deadline' });
    expect(algorithm.samples.map((x) => x.s.dropped)).toEqual([true, false, true]);
    expect(l.stats()).toMatchObject({ samples: 3, drops: 2, ignored: 2, inflight: 0 });
  });

  it('classify maps pushback to a drop, and a throwing classify falls back to the default', async () => {
    const clock = new ManualClock();
    const algorithm = recording(5);
    const busy = new Error('429');
    const l = adaptiveLimiter({
      algorithm,
      clock,
      discountEventLoopDelay: false,
      classify: (e) => {
        if (e === busy) return 'drop';
        throw new Error('classifier bug');
      },
    });
    const reported: unknown[] = [];
    const onError = (e: unknown): void => void reported.push(e);
    process.on('uncaughtException', onError);
    try {
      await expect(l.execute(() => Promise.reject(busy))).rejects.toBe(busy);
      await expect(l.execute(() => Promise.reject(new Error('other')))).rejects.toThrow('other');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(algorithm.samples.map((x) => x.s.dropped)).toEqual([true, false]);
    expect(reported.map((e) => (e as Error).message)).toEqual(['classifier bug']);
  });

  it('an acquired permit reports the outcome given to release(), once', () => {
    const clock = new ManualClock();
    const algorithm = recording(3);
    const l = adaptiveLimiter({ algorithm, clock, discountEventLoopDelay: false });
    const r = l.tryAcquire();
    if (!r.ok) throw new Error('expected a permit');
    r.permit.release('drop');
    r.permit.release('success');
    const i = l.tryAcquire();
    if (!i.ok) throw new Error('expected a permit');
    i.permit.release('ignore');
    expect(algorithm.samples.map((x) => x.s.dropped)).toEqual([true]);
    expect(l.stats()).toMatchObject({ samples: 1, drops: 1, ignored: 1, inflight: 0 });
  });

  it('a hostile algorithm cannot break the limiter: its throw is reported and a bad limit is not taken', async () => {
    const clock = new ManualClock();
    let answer: number = 3;
    const algorithm: LimitAlgorithm = {
      name: 'hostile',
      limit: 2,
      min: 1,
      max: 4,
      sample() {
        if (answer === -1) throw new Error('algorithm bug');
        return answer;
      },
    };
    const reported: unknown[] = [];
    const onError = (e: unknown): void => void reported.push(e);
    process.on('uncaughtException', onError);
    try {
      const l = adaptiveLimiter({ algorithm, clock, discountEventLoopDelay: false });
      await l.execute(async () => {});
      expect(l.stats().limit).toBe(3);
      for (const bad of [NaN, 0, 2.5, 99]) {
        answer = bad;
        await l.execute(async () => {});
        expect(l.stats().limit).toBe(3);
      }
      answer = -1;
      await l.execute(async () => {});
      await new Promise((r) => setImmediate(r));
      expect(l.stats()).toMatchObject({ limit: 3, inflight: 0 });
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(reported.map((e) => (e as Error).message)).toEqual(['algorithm bug']);
  });

  it('a call costlier than the current limit runs alone; one above the maximum is refused', async () => {
    const clock = new ManualClock();
    const l = adaptiveLimiter({ algorithm: recording(2, 6), clock, maxQueue: 5, discountEventLoopDelay: false });
    expect(() => l.tryAcquire({ cost: 7 })).toThrow(RangeError);
    const small = l.tryAcquire();
    if (!small.ok) throw new Error('expected a permit');
    let ran = false;
    const big = l.execute(async () => void (ran = true), { cost: 5 });
    await flushMicrotasks();
    expect(ran).toBe(false);
    small.permit.release();
    await big;
    expect(ran).toBe(true);
  });

  it('discounts event-loop delay: a stall while a call runs is not part of its RTT', async () => {
    // A clock whose timers can be held back, as a blocked event loop holds them.
    const manual = new ManualClock();
    let stalledUntil = 0;
    const clock: Clock = {
      now: () => manual.now(),
      setTimeout: (cb, ms) => manual.setTimeout(() => (manual.now() < stalledUntil ? manual.setTimeout(cb, stalledUntil - manual.now()) : cb()), ms),
      clearTimeout: (h) => manual.clearTimeout(h),
    };
    const algorithm = recording(5);
    const l = adaptiveLimiter({ algorithm, clock });
    let done!: () => void;
    const call = l.execute(() => new Promise<void>((r) => (done = r)));
    // A second call in flight: the monitor runs while calls overlap.
    const other = l.execute(() => sleep(manual, 200));
    await manual.advance(20);
    // The loop blocks for 100 ms: every timer due meanwhile fires at its end.
    stalledUntil = manual.now() + 100;
    await manual.advance(100);
    await manual.advance(5);
    done();
    await call;
    const rtt = algorithm.samples[0]!.s.rttMs;
    expect(rtt).toBeLessThan(40);
    expect(rtt).toBeGreaterThanOrEqual(15);
    expect(l.stats().eventLoopDelayMs).toBeGreaterThanOrEqual(90);
    // Idle: the monitor stops with the last call, so nothing keeps the process alive.
    await manual.advance(100);
    await other;
    expect(manual.pendingTimers()).toBe(0);
    // Without the discount the same stall is all in the sample.
    const raw = recording(5);
    const plain = adaptiveLimiter({ algorithm: raw, clock: manual, discountEventLoopDelay: false });
    const c2 = plain.execute(() => sleep(manual, 125));
    await manual.advance(125);
    await c2;
    expect(raw.samples[0]!.s.rttMs).toBe(125);
  });

  it('partitions: a partition under its guaranteed share is admitted at the limit; the others share what is left', () => {
    const clock = new ManualClock();
    const l = adaptiveLimiter({ algorithm: recording(4, 10), clock, partitions: { a: 0.5, b: 0.25 }, discountEventLoopDelay: false });
    const take = (tenant?: string) => l.tryAcquire(tenant === undefined ? undefined : { tenant });
    // Other traffic fills the limit.
    const others = [take('c'), take(), take('c'), take('b')];
    expect(others.every((r) => r.ok)).toBe(true);
    expect(take('c')).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
    // a's share (ceil(0.5 × 4) = 2) is guaranteed; b holds 1 already, its share.
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(true);
    expect(take('a').ok).toBe(false);
    expect(take('b').ok).toBe(false);
    expect(l.stats()).toMatchObject({ inflight: 6, limit: 4, partitions: { a: { share: 0.5, guaranteed: 2, inflight: 2 }, b: { share: 0.25, guaranteed: 1, inflight: 1 } } });
    for (const r of others) if (r.ok) r.permit.release();
    expect(l.stats().partitions.b!.inflight).toBe(0);
  });

  it('validates partitions', () => {
    expect(() => adaptiveLimiter({ partitions: { a: 0 } })).toThrow(/partitions\.a/);
    expect(() => adaptiveLimiter({ partitions: { a: 0.7, b: 0.5 } })).toThrow(/sum to at most 1/);
    expect(() => adaptiveLimiter({ partitions: 3 as never })).toThrow(/partitions/);
    expect(() => adaptiveLimiter({ partitions: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, 0.01])) })).toThrow(/at most 64/);
  });

  it('configure() is not offered: the algorithm sets the limit', () => {
    const l = adaptiveLimiter({ algorithm: aimdLimit() });
    expect(() => (l as unknown as { configure(c: unknown): void }).configure({ limit: 3 })).toThrow(/set by its algorithm \(aimd\)/);
  });

  it('with sluiceLimit, settles near workers + queue on a dependency of 8 workers', async () => {
    // A dependency of 8 workers, 10 ms each, offered far more than it can serve.
    const clock = new ManualClock();
    const l = adaptiveLimiter({ algorithm: sluiceLimit({ initialLimit: 4 }), clock });
    let busy = 0;
    const queue: (() => void)[] = [];
    const serve = (): Promise<void> =>
      new Promise<void>((resolve) => {
        const start = (): void => {
          busy++;
          clock.setTimeout(() => {
            busy--;
            resolve();
            queue.shift()?.();
          }, 10);
        };
        if (busy < 8) start();
        else queue.push(start);
      });
    const limits: number[] = [];
    for (let t = 0; t < 3000; t++) {
      for (let k = 0; k < 3; k++) void l.execute(serve).catch(() => {});
      await clock.advance(1);
      if (t % 100 === 99) limits.push(l.stats().limit);
    }
    const settled = limits.slice(10);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...settled)).toBeLessThanOrEqual(14);
    l.dispose();
  });
});

/** A limiter with a one-call limit (the algorithm never moves) and room to queue. */
limiterContract('adaptiveLimiter', (clock) => oneSlotHarness(adaptiveLimiter({ algorithm: recording(1, 1), maxQueue: 20, clock, discountEventLoopDelay: false }), clock));
limiterContract('adaptiveLimiter with maxWaitMs', (clock) => oneSlotHarness(adaptiveLimiter({ algorithm: recording(1, 1), maxQueue: 20, maxWaitMs: 30_000, clock }), clock));
policyContract('adaptiveLimiter', (clock) => adaptiveLimiter({ clock }));
policyContract('adaptiveLimiter with a queue', (clock) => adaptiveLimiter({ algorithm: aimdLimit({ minLimit: 1, initialLimit: 1 }), maxQueue: 10, maxWaitMs: 1000, clock }));
