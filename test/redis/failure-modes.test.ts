/**
 * Redis stopped, restarted and stalled under the limiters: each failure mode decides the calls, no call hangs, the
 * breaker stops paying the timeout and recovers on its own, and no timer is left behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRejectedError, systemClock, type Clock } from '../../src/index.js';
import { redisConcurrencyLimit, redisTokenBucket, type StoreFailureEvent } from '../../src/redis/index.js';
import { CLIENTS, ioredisClient, sleep, uid, useClient, useServer } from './clients.js';

const server = useServer();
afterEach(async () => {
  if (!server.running) await server.restart();
});


/** The system clock, keeping count of the timers armed through it and not yet fired or cleared. */
function countingClock(): Clock & { readonly live: Set<unknown> } {
  const live = new Set<unknown>();
  return {
    live,
    now: () => systemClock.now(),
    setTimeout(cb, ms) {
      const h: unknown = systemClock.setTimeout(() => {
        live.delete(h);
        cb();
      }, ms);
      live.add(h);
      return h;
    },
    clearTimeout(h) {
      live.delete(h);
      systemClock.clearTimeout(h);
    },
  };
}

describe.each(CLIENTS)('Redis limiters with %s when Redis fails', (_label, connect) => {
  const c = useClient(server, connect);

  it("failureMode 'open' admits while Redis is down, counts and emits each such call, and uses Redis again once it is back", async () => {
    const clock = countingClock();
    const b = redisTokenBucket({ redis: c.client, id: uid('open'), capacity: 1, refillPerSecond: 1, timeoutMs: 30, clock, breaker: { openMs: 150 } });
    const events: StoreFailureEvent[] = [];
    b.events.on('storeFailure', (e) => events.push(e));
    expect((await b.tryAcquire()).ok).toBe(true);
    await server.stop();
    const during = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => b.execute(() => 'ran')));
    expect(during.every((r) => r === 'ran')).toBe(true);
    const s = b.stats();
    expect(s.fallbacks.open).toBe(8);
    expect(s.storeCalls.timeout + s.storeCalls.error + s.storeCalls.circuit_open).toBe(8);
    expect(events).toHaveLength(8);
    expect(events[0]).toMatchObject({ policy: b.name, mode: 'open' });
    await server.restart();
    await sleep(200); // past the breaker's openMs
    // The restarted Redis is empty: the bucket is full again, and the script is sent again (NOSCRIPT).
    let r = await b.tryAcquire();
    for (let i = 0; i < 20 && b.stats().storeCalls.ok < 2; i++) {
      await sleep(50);
      r = await b.tryAcquire();
    }
    expect(b.stats().storeCalls.ok).toBeGreaterThanOrEqual(2);
    expect(r.ok === true || (r.ok === false && r.reason === 'RATE_LIMITED')).toBe(true);
    b.dispose();
    expect(clock.live.size).toBe(0);
  });

  it("failureMode 'closed' refuses with StoreUnavailableError (STORE_UNAVAILABLE) and does not call fn", async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('closed'), capacity: 10, refillPerSecond: 1, timeoutMs: 30, failureMode: 'closed' });
    await server.stop();
    let called = 0;
    const err = await b.execute(() => called++).catch((e: unknown) => e);
    expect(called).toBe(0);
    expect(isRejectedError(err) && err.code).toBe('STORE_UNAVAILABLE');
    expect((err as Error).name).toBe('StoreUnavailableError');
    expect(await b.tryAcquire()).toMatchObject({ ok: false, reason: 'STORE_UNAVAILABLE' });
    expect(b.stats()).toMatchObject({ rejectedBy: { STORE_UNAVAILABLE: 2 }, fallbacks: { closed: 2 } });
    b.dispose();
  });

  it("failureMode 'local' falls back to a local bucket of 1/instances of the limit", async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('local'), capacity: 10, refillPerSecond: 0.001, timeoutMs: 30, failureMode: 'local', instances: 2 });
    await server.stop();
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await b.tryAcquire());
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results[6]).toMatchObject({ ok: false, reason: 'RATE_LIMITED' });
    expect(b.stats().fallbacks.local).toBe(7);
    b.dispose();
  });

  it('the breaker opens after repeated failures: later calls skip the timeout until it probes Redis again', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('breaker'), capacity: 1000, refillPerSecond: 1, timeoutMs: 40, breaker: { openMs: 300 } });
    await server.stop();
    for (let i = 0; i < 5; i++) await b.tryAcquire();
    expect(b.stats().breaker).toBe('open');
    const failed = b.stats().storeCalls.timeout + b.stats().storeCalls.error;
    for (let i = 0; i < 20; i++) await b.tryAcquire();
    const s = b.stats();
    expect(s.storeCalls.circuit_open).toBe(20);
    expect(s.storeCalls.timeout + s.storeCalls.error).toBe(failed); // no further round trip attempted
    expect(s.admitted).toBe(25); // fail open
    await server.restart();
    await sleep(350);
    for (let i = 0; i < 20 && b.stats().breaker !== 'closed'; i++) {
      await b.tryAcquire();
      await sleep(20);
    }
    expect(b.stats().breaker).toBe('closed');
    expect(b.stats().storeCalls.ok).toBeGreaterThan(0);
    b.dispose();
  });

  it('a call that Redis does not answer in time (DEBUG SLEEP) is decided by the failure mode; the late reply is dropped', async () => {
    const stall = await ioredisClient(server);
    const b = redisTokenBucket({ redis: c.client, id: uid('stall'), capacity: 1000, refillPerSecond: 1, timeoutMs: 25, failureMode: 'closed', breaker: false });
    await b.tryAcquire();
    const sleeping = stall.command('DEBUG', 'SLEEP', '0.3');
    await sleep(20);
    const r = await b.tryAcquire();
    expect(r).toMatchObject({ ok: false, reason: 'STORE_UNAVAILABLE' });
    expect(b.stats().storeCalls.timeout).toBe(1);
    await sleeping;
    await sleep(20);
    expect(b.stats().storeCalls).toMatchObject({ ok: 1, timeout: 1, error: 0 });
    expect((await b.tryAcquire()).ok).toBe(true);
    b.dispose();
    await stall.close();
  });

  it('the concurrency limit falls back to a local bulkhead of limit/instances, and a release while Redis is down neither throws nor leaks', async () => {
    const clock = countingClock();
    const l = redisConcurrencyLimit({ redis: c.client, id: uid('lease-down'), limit: 4, timeoutMs: 30, failureMode: 'local', instances: 2, clock, leaseMs: 500 });
    const held = await l.acquire();
    await server.stop();
    const a = await l.tryAcquire();
    const b = await l.tryAcquire();
    const refused = await l.tryAcquire();
    expect(a.ok && b.ok).toBe(true);
    expect(refused).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
    held.release(); // Redis is down: the lease will expire on its own
    if (a.ok) a.permit.release();
    if (b.ok) b.permit.release();
    expect(l.stats().held).toBe(0);
    await sleep(60);
    l.dispose();
    await sleep(60);
    expect(clock.live.size).toBe(0);
  });

  it('dispose() while calls wait on a Redis that does not answer settles them at once, and leaves no timer', async () => {
    const clock = countingClock();
    const stall = await ioredisClient(server);
    const b = redisTokenBucket({ redis: c.client, id: uid('dispose-down'), capacity: 10, refillPerSecond: 1, timeoutMs: 5_000, clock, breaker: false });
    await b.tryAcquire();
    const sleeping = stall.command('DEBUG', 'SLEEP', '0.5'); // the server answers nothing for 500 ms
    await sleep(20);
    const pending = [b.tryAcquire(), b.execute(() => 1).catch((e: unknown) => e)];
    await sleep(20);
    b.dispose();
    const [r, e] = await Promise.all(pending);
    expect(r).toMatchObject({ ok: false, reason: 'DISPOSED' });
    expect(isRejectedError(e) && e.code).toBe('DISPOSED');
    expect(clock.live.size).toBe(0);
    await sleeping;
    await stall.close();
  });
});
