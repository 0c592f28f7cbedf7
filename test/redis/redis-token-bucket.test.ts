import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, isRejectedError, pipeline, retry } from '../../src/index.js';
import { redisCommander, redisTokenBucket } from '../../src/redis/index.js';
import { CLIENTS, recording, sleep, uid, useClient, useServer, worstWindowExcess, type Admission } from './clients.js';

const server = useServer();


describe.each(CLIENTS)('redisTokenBucket with %s', (_label, connect) => {
  const c = useClient(server, connect);

  it('admits the burst, then refuses with the exact retry hint Redis computed, and admits once it has passed', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('burst'), capacity: 3, refillPerSecond: 20, timeoutMs: 1000 });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await b.tryAcquire());
    expect(results.every((r) => r.ok)).toBe(true);
    const refused = await b.tryAcquire();
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.reason).toBe('RATE_LIMITED');
    // One token takes 50 ms at 20/s; some of it has passed during the calls.
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
    await sleep(refused.retryAfterMs + 2);
    expect((await b.tryAcquire()).ok).toBe(true);
    expect(b.stats()).toMatchObject({ admitted: 4, rejected: 1, rejectedBy: { RATE_LIMITED: 1 } });
    b.dispose();
  });

  it('reports the tokens remaining and the time until the bucket is full again', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('remaining'), capacity: 10, refillPerSecond: 1, timeoutMs: 1000 });
    const r1 = await b.tryAcquire({ cost: 4 });
    expect(r1.ok).toBe(true);
    if (!r1.ok) return;
    expect(r1.remaining).toBeCloseTo(6, 1);
    expect(r1.resetMs).toBeGreaterThan(3_900);
    expect(r1.resetMs).toBeLessThanOrEqual(4_000);
    b.dispose();
  });

  it('gives each subject its own bucket, under one hash tag per subject, and the key expires when the bucket is full', async () => {
    const id = uid('subjects');
    const b = redisTokenBucket({ redis: c.client, id, capacity: 1, refillPerSecond: 2, timeoutMs: 1000 });
    expect((await b.tryAcquire({ key: 'alice' })).ok).toBe(true);
    expect((await b.tryAcquire({ key: 'alice' })).ok).toBe(false);
    expect((await b.tryAcquire({ key: 'bob' })).ok).toBe(true);
    const pttl = Number(await c.command('PTTL', `sluice:{${id}:alice}`));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(501); // 1 token at 2/s: full again within 500 ms
    expect(Number(await c.command('EXISTS', `sluice:{${id}:bob}`))).toBe(1);
    await sleep(560);
    expect(Number(await c.command('EXISTS', `sluice:{${id}:alice}`))).toBe(0);
    expect(b.stats().subjects).toBe(2);
    b.dispose();
  });

  it('keeps working after SCRIPT FLUSH (NOSCRIPT: the script is sent again)', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('noscript'), capacity: 100, refillPerSecond: 1, timeoutMs: 1000 });
    expect((await b.tryAcquire()).ok).toBe(true);
    await c.command('SCRIPT', 'FLUSH');
    expect((await b.tryAcquire()).ok).toBe(true);
    expect(b.stats().storeCalls.error).toBe(0);
    b.dispose();
  });

  it('answers a repeated refusal locally, and never refuses a call Redis would admit', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('cache'), capacity: 2, refillPerSecond: 10, timeoutMs: 1000 });
    await b.tryAcquire({ cost: 2 });
    const first = await b.tryAcquire();
    expect(first.ok).toBe(false);
    const calls = b.stats().storeCalls.ok;
    const second = await b.tryAcquire();
    expect(second.ok).toBe(false);
    expect(b.stats().storeCalls.ok).toBe(calls); // no round trip
    expect(b.stats().cachedRefusals).toBe(1);
    if (first.ok || second.ok) return;
    // The cached hint counts from when the refused request was sent, so it is never later than Redis's own (it may
    // be earlier by up to one round trip, and then Redis answers the retry with the exact rest; 30 ms covers that).
    expect(second.retryAfterMs).toBeLessThanOrEqual(first.retryAfterMs);
    await sleep(second.retryAfterMs + 30);
    expect((await b.tryAcquire()).ok).toBe(true);
    expect(b.stats().storeCalls.ok).toBe(calls + 1);
    b.dispose();
  });

  it('with cacheRefusals: false asks Redis every time', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('nocache'), capacity: 1, refillPerSecond: 1, timeoutMs: 1000, cacheRefusals: false });
    await b.tryAcquire();
    await b.tryAcquire();
    await b.tryAcquire();
    expect(b.stats()).toMatchObject({ cachedRefusals: 0, storeCalls: { ok: 3 } });
    b.dispose();
  });

  it('execute() runs fn when admitted and rejects with RateLimitedError (retryAfterMs set, fn not called) when not', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('execute'), capacity: 1, refillPerSecond: 1, timeoutMs: 1000 });
    expect(await b.execute(() => 'ran')).toBe('ran');
    let called = false;
    const err = await b
      .execute(() => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(isRejectedError(err) && err.code === 'RATE_LIMITED' && err.retryAfterMs > 900).toBe(true);
    b.dispose();
  });

  it('with maxWaitMs, acquire() sleeps for the hint and is admitted; a wait beyond it is refused with MAX_WAIT_EXCEEDED', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('wait'), capacity: 1, refillPerSecond: 20, timeoutMs: 1000, maxWaitMs: 200 });
    await b.acquire();
    const t0 = performance.now();
    await b.acquire();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    const slow = redisTokenBucket({ redis: c.client, id: uid('wait-slow'), capacity: 1, refillPerSecond: 1, timeoutMs: 1000, maxWaitMs: 100 });
    await slow.acquire();
    const err = await slow.acquire().catch((e: unknown) => e);
    expect(isRejectedError(err) && err.code).toBe('MAX_WAIT_EXCEEDED');
    b.dispose();
    slow.dispose();
  });

  it('regression: callers sleeping before a retry without a signal add no listener to the shared never-aborting signal', async () => {
    const { EventEmitter } = await import('node:events');
    const { NEVER_ABORTED } = await import('../../src/index.js');
    const b = redisTokenBucket({ redis: c.client, id: uid('listeners'), capacity: 1, refillPerSecond: 50, timeoutMs: 1000, maxWaitMs: 2_000 });
    await b.acquire();
    const waiting = Array.from({ length: 20 }, () => b.acquire());
    await sleep(5);
    expect(EventEmitter.getEventListeners(NEVER_ABORTED, 'abort')).toHaveLength(0);
    await Promise.all(waiting);
    expect(b.stats().admitted).toBe(21);
    b.dispose();
  });

  it('an abort while sleeping before a retry rejects with signal.reason at once', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('abort'), capacity: 1, refillPerSecond: 1, timeoutMs: 1000, maxWaitMs: 5_000 });
    await b.acquire();
    const ac = new AbortController();
    const p = b.acquire({ signal: ac.signal });
    await sleep(30);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(b.stats().aborted).toBe(1);
    b.dispose();
  });

  it('dispose() wakes a sleeping caller with DISPOSED (or the reason given), and later calls are refused', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('dispose'), capacity: 1, refillPerSecond: 0.1, timeoutMs: 1000, maxWaitMs: 60_000 });
    await b.acquire();
    const p = b.acquire();
    await sleep(20);
    const reason = new Error('shutting down');
    b.dispose(reason);
    await expect(p).rejects.toBe(reason);
    expect(await b.tryAcquire()).toEqual({ ok: false, reason: 'DISPOSED', retryAfterMs: 0 });
    await expect(b.execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it('in dry-run admits everything and counts what it would have refused', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('dry'), capacity: 2, refillPerSecond: 0.5, timeoutMs: 1000, dryRun: true });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => b.execute(() => 'ok')));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const s = b.stats();
    expect(s.admitted).toBe(5);
    expect(s.rejected).toBe(0);
    expect(s.wouldRejectBy.RATE_LIMITED).toBe(3);
    b.dispose();
  });

  it('composes in a pipeline: a retry outside waits for the bucket’s hint when asked to retry rejections', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('pipeline'), capacity: 1, refillPerSecond: 25, timeoutMs: 1000 });
    const p = pipeline(retry({ maxAttempts: 3, retryRejections: true }), b);
    expect(await p.execute(() => 1)).toBe(1);
    expect(await p.execute(() => 2)).toBe(2); // refused once, retried after the 40 ms hint
    expect(b.stats()).toMatchObject({ admitted: 2, rejectedBy: { RATE_LIMITED: 1 } });
    p.dispose();
  });

  it('reports its series to a metrics sink: store calls by outcome, fallbacks, cached refusals, store latency', async () => {
    const metrics = createMetricsRegistry();
    const b = redisTokenBucket({ redis: c.client, id: uid('metrics'), capacity: 1, refillPerSecond: 1, timeoutMs: 1000, metrics, name: 'quota' });
    await b.tryAcquire();
    await b.tryAcquire();
    await b.tryAcquire();
    const snap = metrics.snapshot();
    const value = (name: string, labels: Record<string, string>) =>
      (snap.find((s) => s.type !== 'histogram' && s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) as { value: number } | undefined)?.value;
    expect(value('sluice_store_calls_total', { policy: 'quota', outcome: 'ok' })).toBe(2);
    expect(value('sluice_store_cached_refusals_total', { policy: 'quota' })).toBe(1);
    expect(value('sluice_rejected_total', { policy: 'quota', reason: 'RATE_LIMITED' })).toBe(2);
    expect(value('sluice_store_fallbacks_total', { policy: 'quota', mode: 'open' })).toBe(0);
    const latency = snap.find((s) => s.name === 'sluice_store_duration_ms' && s.labels.policy === 'quota');
    expect(latency?.type === 'histogram' && latency.summary.count).toBe(2);
    b.dispose();
  });

  it('several limiters on one id share one bucket exactly: the tokens admitted in any window of server time stay within capacity + rate · window', async () => {
    const log: Admission[] = [];
    const id = uid('shared');
    const capacity = 5;
    const rate = 200;
    const limiters = [0, 1, 2].map((i) => redisTokenBucket({ redis: recording(redisCommander(c.client), log), id, capacity, refillPerSecond: rate, timeoutMs: 1000, name: `p${i}` }));
    const until = performance.now() + 300;
    let n = 0;
    await Promise.all(
      limiters.flatMap((l) =>
        [0, 1, 2, 3].map(async () => {
          while (performance.now() < until) await l.tryAcquire({ cost: 1 + (n++ % 2) });
        }),
      ),
    );
    const admitted = limiters.reduce((n, l) => n + l.stats().admitted, 0);
    expect(admitted).toBeGreaterThan(20);
    expect(worstWindowExcess(log, capacity, rate)).toBeLessThanOrEqual(capacity * 1e-9);
    for (const l of limiters) l.dispose();
  });

  it('with batch > 1, takes tokens in batches while the bucket has them: one round trip per batch', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('batch-trips'), capacity: 1000, refillPerSecond: 1000, batch: 10, timeoutMs: 1000 });
    for (let i = 0; i < 100; i++) expect((await b.tryAcquire()).ok).toBe(true);
    expect(b.stats().storeCalls.ok).toBe(10);
    expect(b.stats().leasedTokens).toBe(0);
    await b.tryAcquire();
    expect(b.stats().leasedTokens).toBe(9);
    b.dispose();
  });

  it('with batch > 1 under saturation, the processes together admit at most instances × (batch − 1) over the bound', async () => {
    const id = uid('batch');
    const capacity = 20;
    const rate = 100;
    const batch = 5;
    const local: number[] = [];
    const limiters = [0, 1].map((i) => redisTokenBucket({ redis: c.client, id, capacity, refillPerSecond: rate, batch, timeoutMs: 1000, name: `b${i}` }));
    const until = performance.now() + 400;
    await Promise.all(
      limiters.flatMap((l) =>
        [0, 1].map(async () => {
          while (performance.now() < until) {
            const r = await l.tryAcquire();
            if (r.ok) local.push(performance.timeOrigin + performance.now());
            else await sleep(1);
          }
        }),
      ),
    );
    const admitted = limiters.reduce((n, l) => n + l.stats().admitted, 0);
    expect(admitted).toBeGreaterThan(40);
    // Local times: a leased token is used after Redis counted it, so compare with the bound plus the stated slack
    // (and what a reply's delay can shift a local time by: up to 10 ms here, a token at 100/s).
    const log = local.map((ms) => ({ atUs: ms * 1000, taken: 1 }));
    expect(worstWindowExcess(log, capacity, rate)).toBeLessThanOrEqual(2 * (batch - 1) + rate * 0.01);
    for (const l of limiters) l.dispose();
  });

  it('validates its options, naming the option and the value', () => {
    const redis = c.client;
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 0, refillPerSecond: 1 })).toThrow(/capacity/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 1, refillPerSecond: -1 })).toThrow(/refillPerSecond/);
    expect(() => redisTokenBucket({ redis, capacity: 1, refillPerSecond: 1 } as never)).toThrow(/"id" is required/);
    expect(() => redisTokenBucket({ id: 'x', capacity: 1, refillPerSecond: 1 } as never)).toThrow(/"redis" is required/);
    expect(() => redisTokenBucket({ redis: {} as never, id: 'x', capacity: 1, refillPerSecond: 1 })).toThrow(/"redis"/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 1, refillPerSecond: 1, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 1, refillPerSecond: 1, failureMode: 'maybe' as never })).toThrow(/failureMode/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 1, refillPerSecond: 1, failureMode: 'local' })).toThrow(/instances/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 10, refillPerSecond: 1, batch: 11 })).toThrow(/batch/);
    expect(() => redisTokenBucket({ redis, id: 'x', capacity: 1, refillPerSecond: 1, timeout: 5 } as never)).toThrow(/timeout/);
  });

  it('refuses a cost above capacity with a RangeError, and a keyOf that returns a non-string with a TypeError', async () => {
    const b = redisTokenBucket({ redis: c.client, id: uid('cost'), capacity: 2, refillPerSecond: 1, keyOf: () => 42 as never });
    await expect(b.tryAcquire({ cost: 3 })).rejects.toThrow(RangeError);
    await expect(b.tryAcquire()).rejects.toThrow(/keyOf/);
    b.dispose();
  });

  it('keys a very long subject by its hash, so a hostile key cannot make a key of any size', async () => {
    const id = uid('long');
    const b = redisTokenBucket({ redis: c.client, id, capacity: 1, refillPerSecond: 1, timeoutMs: 1000 });
    await b.tryAcquire({ key: 'k'.repeat(100_000) });
    const keys = (await c.command('KEYS', `sluice:{${id}:*`)) as string[];
    expect(keys).toHaveLength(1);
    expect(keys[0]!.length).toBeLessThan(120);
    b.dispose();
  });
});
