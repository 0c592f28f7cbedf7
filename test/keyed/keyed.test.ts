import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulkhead, createMetricsRegistry, keyed, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('keyed()', () => {
  it('gives each key its own policy, made on first use, picked by the call option "key"', async () => {
    const clock = new ManualClock();
    const made: string[] = [];
    const k = keyed((key, info) => (made.push(key), tokenBucket({ ...info, capacity: 1, refillPerSecond: 1 })), { clock });
    await k.execute(() => 1, { key: 'a' });
    await k.execute(() => 1, { key: 'b' });
    const refused = await k.execute(() => 1, { key: 'a' }).catch((e: unknown) => e);
    expect((refused as { code: string }).code).toBe('RATE_LIMITED'); // a's bucket is empty, b's is its own
    expect(made).toEqual(['a', 'b']);
    expect(k.peek('a')?.name).toBe('keyed/a');
  });

  it('refuses a call without a key with a TypeError, and takes keyOf for tenants', async () => {
    const clock = new ManualClock();
    const k = keyed((_key, info) => tokenBucket({ ...info, capacity: 5, refillPerSecond: 1 }), { clock });
    await expect(k.execute(() => 1)).rejects.toThrow(/needs a key/);
    const t = keyed((_key, info) => tokenBucket({ ...info, capacity: 5, refillPerSecond: 1 }), { clock, keyOf: (ctx) => ctx.tenant ?? 'anonymous' });
    await t.execute(() => 1, { tenant: 'acme' });
    await t.execute(() => 1);
    expect(t.keys().sort()).toEqual(['acme', 'anonymous']);
  });

  it('evicts idle keys after idleMs, and never a key with calls in flight', async () => {
    const clock = new ManualClock();
    const k = keyed((_key, info) => bulkhead({ ...info, limit: 5 }), { clock, idleMs: 1000, maxKeys: 2 });
    let finish!: () => void;
    const busy = k.execute(() => new Promise<void>((r) => (finish = r)), { key: 'busy' });
    await k.execute(() => 1, { key: 'idle' });
    await clock.advance(2000);
    await k.execute(() => 1, { key: 'new' }); // sweeps 'idle'; 'busy' stays (in flight)
    expect(k.keys().sort()).toEqual(['busy', 'new']);
    await expect(k.execute(() => 1, { key: 'third' })).resolves.toBe(1); // evicts 'new' (idle), not 'busy'
    expect(k.keys().sort()).toEqual(['busy', 'third']);
    finish();
    await busy;
  });

  it('refuses a new key with CONCURRENCY_LIMITED when every key has calls in flight', async () => {
    const clock = new ManualClock();
    const k = keyed((_key, info) => bulkhead({ ...info, limit: 5 }), { clock, maxKeys: 1 });
    let finish!: () => void;
    const busy = k.execute(() => new Promise<void>((r) => (finish = r)), { key: 'a' });
    const e = await k.execute(() => 1, { key: 'b' }).catch((x: unknown) => x);
    expect((e as { code: string }).code).toBe('CONCURRENCY_LIMITED');
    finish();
    await busy;
  });

  it('disposes evicted policies, unregistering their metric series: live series stay bounded by maxKeys', async () => {
    const clock = new ManualClock();
    const metrics = createMetricsRegistry();
    const k = keyed((_key, info) => tokenBucket({ ...info, capacity: 5, refillPerSecond: 1 }), { clock, metrics, maxKeys: 3 });
    for (let i = 0; i < 100; i++) await k.execute(() => 1, { key: `customer-${i}` });
    const policies = new Set(metrics.snapshot().map((s) => s.labels.policy).filter((p) => p !== 'keyed'));
    expect(policies.size).toBe(3);
    expect(k.stats().evicted.capacity).toBe(97);
  });

  it('cuts a long key for its name, keeping names distinct', async () => {
    const clock = new ManualClock();
    const k = keyed((_key, info) => tokenBucket({ ...info, capacity: 5, refillPerSecond: 1 }), { clock, metrics: createMetricsRegistry() });
    const long = 'x'.repeat(500);
    await k.execute(() => 1, { key: `${long}1` });
    await k.execute(() => 1, { key: `${long}2` });
    const names = k.keys().map((key) => k.peek(key)!.name);
    expect(names[0]!.length).toBeLessThan(100);
    expect(names[0]).not.toBe(names[1]);
  });

  it('validates its options and the factory result', async () => {
    expect(() => keyed(42 as never)).toThrow(/factory/);
    expect(() => keyed(() => tokenBucket({ capacity: 1, refillPerSecond: 1 }), { maxKeys: 0 })).toThrow(/maxKeys/);
    expect(() => keyed(() => tokenBucket({ capacity: 1, refillPerSecond: 1 }), { idleMs: -1 })).toThrow(/idleMs/);
    const bad = keyed(() => ({}) as never, { clock: new ManualClock() });
    await expect(bad.execute(() => 1, { key: 'a' })).rejects.toThrow(/must return a sluice policy/);
    const otherClock = keyed(() => tokenBucket({ capacity: 1, refillPerSecond: 1, clock: new ManualClock() }), { clock: new ManualClock() });
    await expect(otherClock.execute(() => 1, { key: 'a' })).rejects.toThrow(/clock/);
  });

  it('property: live keys never exceed maxKeys, and every call settles', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 80 }), fc.integer({ min: 1, max: 6 }), async (keys, maxKeys) => {
        const clock = new ManualClock();
        const k = keyed((_key, info) => bulkhead({ ...info, limit: 100 }), { clock, maxKeys });
        const runs = keys.map((key) => k.execute(() => 1, { key: String(key) }).then(() => 'ok', (e: { code?: string }) => e.code));
        for (const r of await Promise.all(runs)) expect(['ok', 'CONCURRENCY_LIMITED']).toContain(r);
        expect(k.size).toBeLessThanOrEqual(maxKeys);
        expect(k.stats().inflight).toBe(0);
        k.dispose();
      }),
      { numRuns: 100 },
    );
  });
});
