/**
 * Regression tests of issue 8 in the kernel: hostile values, foreign signals, callbacks that throw, unknown option
 * names, and what pipeline() refuses or warns about.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bulkhead, circuitBreaker, fallback, isRejectedError, isTimeoutError, pipeline, retry, timeout, tokenBucket, leakyBucket, type ExecutionContext } from '../../src/index.js';
import { createContext } from '../../src/core/context.js';
import { KIND, kindOf } from '../../src/core/policy.js';
import { resetOrderWarnings } from '../../src/core/pipeline.js';
import { isThenable, settle } from '../../src/core/safe-call.js';
import { Alarm } from '../../src/core/waiters.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';
import { captureReported, type Reported } from '../support/reported.js';

function throwingThen(): object {
  return Object.defineProperty({}, 'then', {
    get() {
      throw new Error('then getter');
    },
  });
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

let reported: Reported;
beforeEach(() => {
  reported = captureReported();
});
afterEach(() => reported.restore());

describe('hostile values returned by fn', () => {
  it('regression: a then-getter that throws does not leak a permit (fused pipeline with a bulkhead and a timeout)', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 1, clock });
    const p = pipeline(pool, timeout({ timeoutMs: 100, clock }));
    for (let i = 0; i < 3; i++) {
      let out: Promise<unknown> | undefined;
      expect(() => (out = p.execute(() => throwingThen() as never))).not.toThrow();
      await expect(out).rejects.toThrow('then getter');
      expect(pool.stats().inflight).toBe(0);
    }
    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('regression: a revoked Proxy returned by fn rejects timeout().execute() instead of throwing synchronously', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 100, clock });
    let out: Promise<unknown> | undefined;
    expect(() => (out = t.execute(() => revokedProxy() as never))).not.toThrow();
    await expect(out).rejects.toBeInstanceOf(TypeError);
    expect(t.stats().pending).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('regression: a revoked Proxy through pipeline(bulkhead) without a timeout releases the permit', async () => {
    const pool = bulkhead({ limit: 1, clock: new ManualClock() });
    await expect(pipeline(pool).execute(() => revokedProxy() as never)).rejects.toBeInstanceOf(TypeError);
    await expect(pool.execute(() => revokedProxy() as never)).rejects.toBeInstanceOf(TypeError);
    expect(pool.stats().inflight).toBe(0);
  });

  it('regression: a native promise with a throwing constructor getter does not make bulkhead.execute() throw', async () => {
    const pool = bulkhead({ limit: 1, clock: new ManualClock() });
    const hostile = Promise.resolve(1);
    Object.defineProperty(hostile, 'constructor', { get: () => { throw new Error('constructor getter'); } });
    let out: Promise<unknown> | undefined;
    expect(() => (out = pool.execute(() => hostile))).not.toThrow();
    await expect(out).rejects.toThrow('constructor getter');
    expect(pool.stats().inflight).toBe(0);
  });

  it('isThenable never throws; settle runs exactly one handler once for a thenable that calls both', async () => {
    expect(isThenable(throwingThen())).toBe(true);
    expect(isThenable(revokedProxy())).toBe(true);
    expect(isThenable({ then: 1 })).toBe(false);
    const calls: string[] = [];
    const both = { then: (res: (v: unknown) => void, rej: (e: unknown) => void) => (res(1), res(2), rej(3)) };
    await settle(both, (v) => void calls.push(`ok ${String(v)}`), (e) => void calls.push(`err ${String(e)}`));
    const own = Promise.resolve('native');
    Object.defineProperty(own, 'then', { value: () => { throw new Error('own then'); } });
    await settle(own, (v) => void calls.push(`ok ${String(v)}`), (e) => void calls.push(`err ${String(e)}`));
    expect(calls).toEqual(['ok 1', 'ok native']);
  });

  it('regression: isRejectedError and isTimeoutError never throw on a hostile error (fallback when: isRejectedError)', async () => {
    expect(isRejectedError(revokedProxy())).toBe(false);
    expect(isTimeoutError(Object.defineProperty({}, 'code', { get: () => { throw new Error('x'); } }))).toBe(false);
    const fb = fallback({ value: 'fb', when: isRejectedError, clock: new ManualClock() });
    const thrown = revokedProxy();
    await expect(fb.execute(() => { throw thrown; })).rejects.toBe(thrown);
  });
});

describe('signals', () => {
  it('regression: a signal-like object without removeEventListener is refused with a TypeError naming "signal"', async () => {
    const fake = { aborted: false, addEventListener: () => {} } as unknown as AbortSignal;
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 1, clock });
    const t = timeout({ timeoutMs: 10, clock });
    await expect(pool.execute(() => 1, { signal: fake })).rejects.toThrow(/option "signal" must be an AbortSignal.*without "removeEventListener"/);
    await expect(pipeline(pool, t).execute(() => 1, { signal: fake })).rejects.toThrow(TypeError);
    await expect(t.execute(() => new Promise(() => {}), { signal: fake })).rejects.toThrow(TypeError);
    expect(() => pool.tryAcquire({ signal: fake })).toThrow(TypeError);
    expect(pool.stats().inflight).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('regression: a foreign signal whose removeEventListener throws still lets the call settle and the error is re-raised', async () => {
    const clock = new ManualClock();
    const boom = new Error('remove failed');
    const foreign = { aborted: false, reason: undefined, addEventListener: () => {}, removeEventListener: () => { throw boom; } } as unknown as AbortSignal;
    const pool = bulkhead({ limit: 1, maxQueue: 1, clock });
    const t = timeout({ timeoutMs: 10, clock });
    const p = pipeline(pool, t);
    const held = p.execute(() => new Promise((r) => clock.setTimeout(() => r('first'), 5)), { signal: foreign });
    const queued = p.execute(() => 'second', { signal: foreign }); // waits in the bulkhead, watching the signal
    await clock.advance(5);
    await expect(held).resolves.toBe('first');
    await expect(queued).resolves.toBe('second');
    expect(pool.stats().inflight).toBe(0);
    await flushMicrotasks();
    expect(reported.errors).toContain(boom);
  });

  it('regression: a foreign signal whose addEventListener throws refuses the wait instead of leaving an unabortable waiter', async () => {
    const clock = new ManualClock();
    const boom = new Error('add failed');
    const foreign = { aborted: false, addEventListener: () => { throw boom; }, removeEventListener: () => {} } as unknown as AbortSignal;
    const pool = bulkhead({ limit: 1, maxQueue: 5, clock });
    const r = pool.tryAcquire();
    await expect(pool.execute(() => 1, { signal: foreign })).rejects.toBe(boom);
    expect(pool.stats().queued).toBe(0);
    if (r.ok) r.permit.release();
  });
});

describe('callbacks run for many callers are isolated', () => {
  it('regression: a timeout listener that throws does not stop other callers\' timeouts; the error is re-raised', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 10, clock });
    const boom = new Error('listener');
    let heard = 0;
    t.events.on('timeout', () => {
      heard++;
      throw boom;
    });
    const calls = [0, 1, 2].map(() => t.execute(() => new Promise(() => {})).catch((e: unknown) => e));
    await clock.advance(10);
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((e) => isTimeoutError(e))).toBe(true);
    expect(heard).toBe(3);
    expect(t.stats().pending).toBe(0);
    await flushMicrotasks();
    expect(reported.errors).toEqual([boom, boom, boom]);
  });

  it('regression: a reject listener that throws during a bulkhead expiry sweep does not starve the other waiters', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 10, clock });
    const boom = new Error('reject listener');
    pool.events.on('reject', () => {
      throw boom;
    });
    const r = pool.tryAcquire();
    const waiters = [0, 1, 2].map(() => pool.execute(() => 1).catch((e: unknown) => e));
    await clock.advance(10);
    const outcomes = await Promise.all(waiters);
    expect(outcomes.map((e) => isRejectedError(e) && e.code)).toEqual(['MAX_WAIT_EXCEEDED', 'MAX_WAIT_EXCEEDED', 'MAX_WAIT_EXCEEDED']);
    expect(pool.stats().queued).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    await flushMicrotasks();
    expect(reported.errors).toEqual([boom, boom, boom]);
    if (r.ok) r.permit.release();
  });

  it('regression: a reject listener that throws does not make execute() throw synchronously', async () => {
    const pool = bulkhead({ limit: 1, clock: new ManualClock() });
    pool.events.on('reject', () => {
      throw new Error('reject listener');
    });
    const r = pool.tryAcquire();
    let out: Promise<unknown> | undefined;
    expect(() => (out = pool.execute(() => 1))).not.toThrow();
    await expect(out).rejects.toMatchObject({ code: 'CONCURRENCY_LIMITED' });
    if (r.ok) r.permit.release();
  });

  it('an Alarm whose callback throws re-raises the error asynchronously and leaves the host timer loop alone', async () => {
    const clock = new ManualClock();
    const boom = new Error('alarm');
    const alarm = new Alarm(clock, () => {
      throw boom;
    });
    alarm.set(5);
    await expect(clock.advance(5)).resolves.not.toThrow();
    await flushMicrotasks();
    expect(reported.errors).toEqual([boom]);
    expect(alarm.armed).toBe(false);
  });
});

describe('per-call options', () => {
  it('regression: execute(fn, { timeout: 1000 }) is a TypeError naming "timeout" and suggesting "timeoutMs"', async () => {
    const clock = new ManualClock();
    for (const policy of [bulkhead({ limit: 1, clock }), timeout({ timeoutMs: 5, clock }), fallback({ value: 1, clock }), pipeline(bulkhead({ limit: 1, clock }), timeout({ timeoutMs: 5, clock }))]) {
      const e = await policy.execute(() => 1, { timeout: 1000 } as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/unknown option "timeout" \(did you mean "timeoutMs"\?\)/);
    }
    expect(() => bulkhead({ limit: 1, clock }).tryAcquire({ sigal: undefined } as never)).toThrow(/did you mean "signal"/);
  });

  it('a context passed back as options is accepted (Context on the general path, Call on the fused path)', async () => {
    const clock = new ManualClock();
    const inner = bulkhead({ limit: 5, clock });
    const seen: ExecutionContext[] = [];
    const outerFused = pipeline(bulkhead({ limit: 5, clock }), timeout({ timeoutMs: 100, clock }));
    const outerGeneral = pipeline(retry({ clock, maxAttempts: 2 }), bulkhead({ limit: 5, maxQueue: 1, clock }));
    for (const outer of [outerFused, outerGeneral]) {
      await expect(
        outer.execute((ctx) => {
          seen.push(ctx);
          return inner.execute(() => 'nested', ctx);
        }, { tenant: 't', priority: 2 }),
      ).resolves.toBe('nested');
    }
    expect(seen).toHaveLength(2);
    expect(createContext('x', clock, seen[0] as never).tenant).toBe('t');
  });
});

describe('tryAcquire with an aborted signal', () => {
  it('regression: tryAcquire({ signal }) with an already-aborted signal throws signal.reason and takes nothing', () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const reason = new Error('gone');
    ac.abort(reason);
    for (const l of [bulkhead({ limit: 1, clock }), tokenBucket({ capacity: 1, refillPerSecond: 1, clock }), leakyBucket({ ratePerSecond: 1, clock })]) {
      expect(() => l.tryAcquire({ signal: ac.signal })).toThrow(reason);
      expect(l.stats().admitted).toBe(0);
      expect(l.tryAcquire().ok).toBe(true);
    }
  });
});

describe('maxWaitMs without maxQueue', () => {
  it('regression: bulkhead({ limit, maxWaitMs }) without maxQueue waits (maxQueue becomes Infinity) instead of refusing at once', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 1, maxWaitMs: 50, clock });
    expect(pool.stats().maxQueue).toBe(Infinity);
    const r = pool.tryAcquire();
    const waiting = pool.execute(() => 'waited');
    expect(pool.stats().queued).toBe(1);
    await clock.advance(20);
    if (r.ok) r.permit.release();
    await expect(waiting).resolves.toBe('waited');
    // An explicit maxQueue: 0 still never waits; maxWaitMs: Infinity is the default and changes nothing.
    expect(bulkhead({ limit: 1, maxWaitMs: 50, maxQueue: 0, clock }).stats().maxQueue).toBe(0);
    expect(bulkhead({ limit: 1, maxWaitMs: Infinity, clock }).stats().maxQueue).toBe(0);
    expect(tokenBucket({ capacity: 1, refillPerSecond: 1, maxWaitMs: 500, clock }).stats().maxQueue).toBe(Infinity);
  });
});

describe('pipeline() refuses what cannot work', () => {
  it('regression: pipeline(retry) with the factory not called says "did you forget to call retry()?"', () => {
    expect(() => pipeline(retry as never)).toThrow('pipeline: argument 0 is the factory retry, not a policy: did you forget to call retry()?');
    const clock = new ManualClock();
    expect(() => pipeline(bulkhead({ limit: 1, clock }), timeout as never)).toThrow('argument 1 is the factory timeout');
    expect(() => pipeline({} as never)).toThrow('argument 0 is not a sluice policy');
  });

  it('regression: the same policy instance twice in one pipeline is a TypeError (also through a nested pipeline)', () => {
    const clock = new ManualClock();
    const pool = bulkhead({ name: 'db', limit: 1, clock });
    const t = timeout({ timeoutMs: 10, clock });
    expect(() => pipeline(pool, pool)).toThrow(/bulkhead "db" appears twice/);
    expect(() => pipeline(pool, pipeline(t, pool))).toThrow(TypeError);
    expect(() => pipeline(pipeline(pool), pipeline(pool))).toThrow(TypeError);
    expect(() => pipeline(pool, bulkhead({ name: 'db2', limit: 1, clock }))).not.toThrow();
  });

  it('policies carry a kind marker under a registered symbol', () => {
    const clock = new ManualClock();
    expect([bulkhead({ limit: 1, clock }), timeout({ timeoutMs: 1, clock }), fallback({ value: 1, clock }), tokenBucket({ capacity: 1, refillPerSecond: 1, clock })].map(kindOf)).toEqual([
      'bulkhead',
      'timeout',
      'fallback',
      'tokenBucket',
    ]);
    expect(kindOf(retry({ clock }))).toBe('retry');
    expect(kindOf(circuitBreaker({ clock }))).toBe('circuitBreaker');
    expect(KIND).toBe(Symbol.for('sluice.kind'));
    expect(kindOf(pipeline(timeout({ timeoutMs: 1, clock })))).toBe('pipeline');
  });
});

describe('order warnings', () => {
  let spy: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    resetOrderWarnings();
    spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  });
  afterEach(() => spy.mockRestore());

  it('pipeline(timeout, bulkhead) warns once per process with code SLUICE_ORDER', () => {
    const clock = new ManualClock();
    pipeline(timeout({ timeoutMs: 10, clock }), bulkhead({ limit: 1, clock }));
    pipeline(timeout({ timeoutMs: 10, clock }), pipeline(tokenBucket({ capacity: 1, refillPerSecond: 1, clock })));
    expect(spy).toHaveBeenCalledTimes(1);
    const [message, options] = spy.mock.calls[0]!;
    expect(String(message)).toMatch(/timeout.* is outside .*bulkhead/);
    expect(options).toMatchObject({ code: 'SLUICE_ORDER', type: 'SluiceWarning' });
  });

  it('a retry inside a bulkhead warns once (the policy is recognised by its kind marker, not its name)', () => {
    const clock = new ManualClock();
    // Named like something else: the kind decides.
    const r = retry({ name: 'bulkhead', clock });
    expect(kindOf(r)).toBe('retry');
    pipeline(bulkhead({ name: 'retry', limit: 1, clock }), r);
    pipeline(bulkhead({ limit: 1, clock }), pipeline(retry({ clock })));
    expect(spy.mock.calls.filter(([, o]: unknown[]) => (o as { code?: string }).code === 'SLUICE_ORDER')).toHaveLength(1);
    expect(String(spy.mock.calls[0]![0])).toMatch(/backoff sleeps holding a concurrency permit/);
  });

  it('the recommended order warns about nothing', () => {
    const clock = new ManualClock();
    pipeline(fallback({ value: 1, clock }), retry({ clock }), tokenBucket({ capacity: 1, refillPerSecond: 1, clock }), bulkhead({ limit: 1, clock }), timeout({ timeoutMs: 5, clock }));
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('pipeline dispose()', () => {
  it('disposes every policy, outermost first, and refuses later calls with DISPOSED', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    const r = retry({ clock });
    const b = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const t = timeout({ timeoutMs: 10, clock });
    r.events.on('dispose', () => order.push('retry'));
    b.events.on('dispose', () => order.push('bucket'));
    t.events.on('dispose', () => order.push('timeout'));
    const p = pipeline(r, pipeline(b, t));
    p.dispose();
    p[Symbol.dispose]();
    expect(order).toEqual(['retry', 'bucket', 'timeout']);
    await expect(p.execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED', policy: p.name });
    expect(b.tryAcquire()).toMatchObject({ ok: false, reason: 'DISPOSED' });
  });
});
