import { describe, expect, it } from 'vitest';
import { isRejectedError } from '../../src/index.js';
import { redisConcurrencyLimit } from '../../src/redis/index.js';
import { CLIENTS, sleep, uid, useClient, useServer } from './clients.js';

const server = useServer();


/** Polls until `f()` is true (Redis work sent without awaiting, such as a release); fails after `ms`. */
async function eventually(f: () => Promise<boolean> | boolean, ms = 2_000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > until) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

describe.each(CLIENTS)('redisConcurrencyLimit with %s', (_label, connect) => {
  const c = useClient(server, connect);

  it('caps calls in flight over every limiter on one id, and frees a slot when a call ends', async () => {
    const id = uid('cap');
    const a = redisConcurrencyLimit({ redis: c.client, id, limit: 2, timeoutMs: 1000, name: 'a' });
    const b = redisConcurrencyLimit({ redis: c.client, id, limit: 2, timeoutMs: 1000, name: 'b' });
    const p1 = await a.acquire();
    const p2 = await b.acquire();
    const refused = await a.tryAcquire();
    expect(refused).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
    const err = await b.execute(() => 'never').catch((e: unknown) => e);
    expect(isRejectedError(err) && err.code).toBe('CONCURRENCY_LIMITED');
    p1.release();
    await eventually(async () => (await b.tryAcquire().then((r) => (r.ok ? (r.permit.release(), true) : false))) === true);
    p2.release();
    a.dispose();
    b.dispose();
  });

  it('releases exactly once: a second release does nothing, and the keys vanish with the last lease', async () => {
    const id = uid('once');
    const l = redisConcurrencyLimit({ redis: c.client, id, limit: 3, timeoutMs: 1000 });
    const p1 = await l.acquire();
    const p2 = await l.acquire();
    p1.release();
    p1.release();
    p1.release();
    await eventually(async () => Number(await c.command('ZCARD', `sluice:{${id}}:leases`)) === 1);
    expect(Number(await c.command('GET', `sluice:{${id}}:used`))).toBe(1);
    expect(p1.released).toBe(true);
    p2.release();
    await eventually(async () => Number(await c.command('EXISTS', `sluice:{${id}}:leases`, `sluice:{${id}}:costs`, `sluice:{${id}}:used`)) === 0);
    expect(l.stats()).toMatchObject({ held: 0, admitted: 2 });
    l.dispose();
  });

  it('counts cost in units of the limit', async () => {
    const l = redisConcurrencyLimit({ redis: c.client, id: uid('cost'), limit: 5, timeoutMs: 1000 });
    const big = await l.acquire({ cost: 4 });
    expect((await l.tryAcquire({ cost: 2 })).ok).toBe(false);
    const small = await l.tryAcquire({ cost: 1 });
    expect(small.ok && small.remaining).toBe(0);
    await expect(l.tryAcquire({ cost: 6 })).rejects.toThrow(RangeError);
    big.release();
    if (small.ok) small.permit.release();
    l.dispose();
  });

  it('execute() releases the lease whether fn resolves or throws', async () => {
    const id = uid('execute');
    const l = redisConcurrencyLimit({ redis: c.client, id, limit: 1, timeoutMs: 1000 });
    expect(await l.execute(() => 1)).toBe(1);
    await eventually(async () => (await l.tryAcquire().then((r) => (r.ok ? (r.permit.release(), true) : false))) === true);
    await expect(
      l.execute(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await eventually(async () => Number(await c.command('EXISTS', `sluice:{${id}}:leases`)) === 0);
    l.dispose();
  });

  it('renews the leases of a call that runs longer than leaseMs, so nobody else gets its slot', async () => {
    const id = uid('renew');
    // Renewed every 40 ms, a lease of 300 ms survives a stall of this process of up to 260 ms.
    const holder = redisConcurrencyLimit({ redis: c.client, id, limit: 1, leaseMs: 300, renewMs: 40, timeoutMs: 1000, name: 'holder' });
    const other = redisConcurrencyLimit({ redis: c.client, id, limit: 1, leaseMs: 300, timeoutMs: 1000, name: 'other' });
    const p = await holder.acquire();
    await sleep(800);
    expect((await other.tryAcquire()).ok).toBe(false);
    expect(holder.stats().leasesLost).toBe(0);
    p.release();
    await eventually(async () => (await other.tryAcquire().then((r) => (r.ok ? (r.permit.release(), true) : false))) === true);
    holder.dispose();
    other.dispose();
  });

  it('a holder that stops renewing (disposed without releasing, as a crashed process) frees its slots within leaseMs', async () => {
    const id = uid('expire');
    const crashed = redisConcurrencyLimit({ redis: c.client, id, limit: 2, leaseMs: 200, timeoutMs: 1000, name: 'crashed' });
    const other = redisConcurrencyLimit({ redis: c.client, id, limit: 2, leaseMs: 200, timeoutMs: 1000, name: 'other' });
    await crashed.acquire();
    await crashed.acquire();
    crashed.dispose(); // renewals stop; the permits are never released
    const t0 = performance.now();
    expect((await other.tryAcquire()).ok).toBe(false);
    await eventually(async () => (await other.tryAcquire().then((r) => (r.ok ? (r.permit.release(), true) : false))) === true, 2_000);
    expect(performance.now() - t0).toBeLessThan(200 + 250); // the lease time, and polling on a loaded machine
    other.dispose();
  });

  it('the keys of a holder that vanished (never released) expire within two lease times', async () => {
    const id = uid('ttl');
    const crashed = redisConcurrencyLimit({ redis: c.client, id, limit: 2, leaseMs: 150, timeoutMs: 1000 });
    await crashed.acquire();
    const pttl = Number(await c.command('PTTL', `sluice:{${id}}:leases`));
    expect(pttl).toBeGreaterThan(150);
    expect(pttl).toBeLessThanOrEqual(300);
    for (const k of ['costs', 'used']) expect(Number(await c.command('PTTL', `sluice:{${id}}:${k}`))).toBeGreaterThan(0);
    crashed.dispose(); // no renewal, no release
    await eventually(async () => Number(await c.command('EXISTS', `sluice:{${id}}:leases`, `sluice:{${id}}:costs`, `sluice:{${id}}:used`)) === 0, 1_000);
  });

  it('counts a lease lost when renewal finds it gone, and its release then frees nothing twice', async () => {
    const id = uid('lost');
    const l = redisConcurrencyLimit({ redis: c.client, id, limit: 1, leaseMs: 300, renewMs: 30, timeoutMs: 1000 });
    const p = await l.acquire();
    await c.command('DEL', `sluice:{${id}}:leases`, `sluice:{${id}}:costs`, `sluice:{${id}}:used`);
    await eventually(() => l.stats().leasesLost === 1);
    const q = await l.acquire(); // the slot is free again in Redis
    p.release();
    await sleep(30);
    expect((await l.tryAcquire()).ok).toBe(false); // q still holds the only slot
    q.release();
    l.dispose();
  });

  it('with maxWaitMs, acquire() polls until a slot frees', async () => {
    const id = uid('wait');
    const l = redisConcurrencyLimit({ redis: c.client, id, limit: 1, timeoutMs: 1000, maxWaitMs: 2_000 });
    const p = await l.acquire();
    setTimeout(() => p.release(), 60);
    const t0 = performance.now();
    const q = await l.acquire();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
    q.release();
    l.dispose();
  });

  it('a waiting caller backs off between asks (1 ms doubling to 64 ms) instead of polling Redis every millisecond', async () => {
    const l = redisConcurrencyLimit({ redis: c.client, id: uid('poll'), limit: 1, timeoutMs: 1000, maxWaitMs: 2_000 });
    const p = await l.acquire();
    const before = l.stats().storeCalls.ok;
    setTimeout(() => p.release(), 250);
    const q = await l.acquire(); // no call has ended yet when it starts waiting: no estimate, the hint is 0
    // 250 ms of waiting at 1, 2, 4, ... 64, 64 ms (each up to 1.5× longer): about 9 asks; polling every 1 ms: 250.
    expect(l.stats().storeCalls.ok - before).toBeLessThanOrEqual(14);
    q.release();
    l.dispose();
  });

  it('in dry-run admits past the limit and counts what it would have refused', async () => {
    const l = redisConcurrencyLimit({ redis: c.client, id: uid('dry'), limit: 1, timeoutMs: 1000, dryRun: true });
    const permits = [await l.acquire(), await l.acquire(), await l.acquire()];
    expect(l.stats()).toMatchObject({ admitted: 3, rejected: 0, wouldRejectBy: { CONCURRENCY_LIMITED: 2 } });
    for (const p of permits) p.release();
    l.dispose();
  });

  it('validates its options', () => {
    const redis = c.client;
    expect(() => redisConcurrencyLimit({ redis, id: 'x', limit: 0 })).toThrow(/limit/);
    expect(() => redisConcurrencyLimit({ redis, id: 'x', limit: 1.5 })).toThrow(/limit/);
    expect(() => redisConcurrencyLimit({ redis, id: 'x', limit: 1, leaseMs: 10 })).toThrow(/leaseMs/);
    expect(() => redisConcurrencyLimit({ redis, id: 'x', limit: 1, leaseMs: 1000, renewMs: 1000 })).toThrow(/renewMs/);
    expect(() => redisConcurrencyLimit({ redis, id: '', limit: 1 })).toThrow(/id/);
  });
});
