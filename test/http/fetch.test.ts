/**
 * `sluice/fetch` with the real global fetch against a real node:http server on 127.0.0.1. Policies run on a manual
 * clock (the waits are virtual); only the socket round trips take real time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { protectFetch } from '../../src/http/fetch.js';
import { isHttpStatusError, isNotRetriedError } from '../../src/http/index.js';
import { isRejectedError } from '../../src/index.js';
import { isRetryExhaustedError } from '../../src/retry/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { TestServer, reply } from '../support/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start();
});
afterAll(async () => {
  await server.close();
});

const disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers.splice(0)) d();
});

/** A protected fetch on a manual clock, with zero backoff jitter (so waits are exactly the server's). */
function make(options: Parameters<typeof protectFetch>[1] = {}) {
  const clock = new ManualClock();
  const api = protectFetch(fetch, { clock, random: () => 0, ...options });
  disposers.push(() => api.dispose());
  return { clock, api, up: () => api.upstreams.peek(new URL(server.url).origin)! };
}

/** Real-time pause long enough for a loopback response to be processed. */
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('protectFetch: classification', () => {
  it('passes 2xx and ordinary 4xx through untouched, without retrying', async () => {
    const { api } = make();
    server.answer((req, res) => reply(res, req.url === '/missing' ? 404 : 200, {}, `body of ${req.url}`));
    const ok = await api(`${server.url}/a`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('body of /a');
    const missing = await api(`${server.url}/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('body of /missing');
    expect(server.requests).toHaveLength(2);
  });

  it('rejects a 500 left after the retries with an HttpStatusError carrying status, headers and body', async () => {
    const { api, clock } = make({ retry: { maxAttempts: 2 } });
    server.answer((_req, res) => reply(res, 500, { 'x-trace': 't1' }, 'boom'));
    const p = api(`${server.url}/x`).catch((e: unknown) => e);
    await server.until(() => server.requests.length >= 1);
    await settle();
    await clock.advance(1); // full jitter with random 0 waits 0 ms; let the timer-free retry run
    await server.until(() => server.requests.length >= 2);
    const e = await p;
    expect(isRetryExhaustedError(e)).toBe(true);
    const last = (e as { lastError: unknown }).lastError;
    expect(isHttpStatusError(last)).toBe(true);
    if (!isHttpStatusError(last)) return;
    expect(last.status).toBe(500);
    expect(last.headers['x-trace']).toBe('t1');
    expect(new TextDecoder().decode(last.body)).toBe('boom');
    expect(last.classification).toBe('failure');
  });

  it('returns the refused Response itself with throwOnStatus: false', async () => {
    const { api } = make({ throwOnStatus: false, retry: false });
    server.answer((_req, res) => reply(res, 503, {}, 'busy'));
    const res = await api(`${server.url}/x`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('busy');
  });

  it('with throwOnStatus: false, hands back the last refused Response once the retries are spent', async () => {
    const { api, clock } = make({ throwOnStatus: false, retry: { maxAttempts: 2 } });
    let n = 0;
    server.answer((req, res) => (req.url === '/spent' ? reply(res, 503, {}, `busy ${++n}`) : reply(res, 200)));
    const p = api(`${server.url}/spent`);
    await server.until(() => n >= 1);
    await settle();
    await clock.advance(1);
    const res = await p;
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('busy 2'); // the last attempt's; the first one's body was cancelled
  });

  it('keeps at most maxErrorBodyBytes of a refused body and cancels the rest', async () => {
    const { api } = make({ retry: false, maxErrorBodyBytes: 10 });
    server.answer((_req, res) => reply(res, 502, {}, 'x'.repeat(100_000)));
    const e = await api(`${server.url}/x`).catch((x: unknown) => x);
    expect(isHttpStatusError(e)).toBe(true);
    if (!isHttpStatusError(e)) return;
    expect(e.body?.length).toBe(10);
    expect(e.bodyTruncated).toBe(true);
  });
});

describe('protectFetch: Retry-After and the shared cooldown', () => {
  it('retries a 503 no sooner than its Retry-After (delta-seconds)', async () => {
    const { api, clock, up } = make();
    server.answer((_req, res, _s, i) => (i === 0 ? reply(res, 503, { 'retry-after': '2' }) : reply(res, 200, {}, 'fine')));
    const p = api(`${server.url}/r`);
    await server.until(() => server.requests.length === 1);
    await server.until(() => up().retry!.stats().sleeping === 1);
    await clock.advance(1999);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    await server.until(() => server.requests.length === 2);
    const res = await p;
    expect(await res.text()).toBe('fine');
  });

  it('reads the HTTP-date form relative to the injected wall clock', async () => {
    const wall = Date.parse('2026-12-03T10:00:00Z');
    const { api, clock, up } = make({ wallClock: () => wall });
    server.answer((_req, res, _s, i) => (i === 0 ? reply(res, 429, { 'retry-after': 'Thu, 03 Dec 2026 10:00:03 GMT' }) : reply(res, 200)));
    const p = api(`${server.url}/d`);
    await server.until(() => up()?.retry?.stats().sleeping === 1);
    expect(up().gate!.stats().remainingMs).toBe(3000);
    await clock.advance(2999);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    expect((await p).status).toBe(200);
  });

  it('closes the origin for every caller after a 429: the others fail fast with the time left, or wait within their deadline', async () => {
    const { api, clock, up } = make({ retry: false });
    server.answer((_req, res, _s, i) => (i === 0 ? reply(res, 429, { 'retry-after': '5' }) : reply(res, 200)));
    const first = await api(`${server.url}/1`).catch((e: unknown) => e);
    expect(isHttpStatusError(first) && first.retryAfterMs).toBe(5000);
    // Another caller, no deadline: refused locally, never sent.
    const other = await api(`${server.url}/2`).catch((e: unknown) => e);
    expect(isRejectedError(other)).toBe(true);
    expect((other as { code: string }).code).toBe('RATE_LIMITED');
    expect((other as { retryAfterMs: number }).retryAfterMs).toBe(5000);
    expect(server.requests).toHaveLength(1);
    // A caller whose deadline reaches past the opening waits for it.
    const patient = api(`${server.url}/3`, { sluice: { timeoutMs: 10_000 } });
    const hasty = await api(`${server.url}/4`, { sluice: { timeoutMs: 1_000 } }).catch((e: unknown) => e);
    expect((hasty as { code: string }).code).toBe('DEADLINE_EXCEEDED');
    expect(up().gate!.stats().queued).toBe(1);
    await clock.advance(4999);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    expect((await patient).status).toBe(200);
    expect(server.requests.map((r) => r.path)).toEqual(['/1', '/3']);
  });

  it('fails at once, with the hint, when the server asks for more than the deadline leaves', async () => {
    const { api } = make();
    server.answer((_req, res) => reply(res, 503, { 'retry-after': '5' }));
    const e = await api(`${server.url}/late`, { sluice: { timeoutMs: 1_000 } }).catch((x: unknown) => x);
    expect(isRetryExhaustedError(e)).toBe(true);
    expect((e as { reason: string }).reason).toBe('deadline');
    expect((e as { retryAfterMs: number }).retryAfterMs).toBe(5000);
    expect(server.requests).toHaveLength(1);
  });

  it('does not wait a hint longer than retry.maxRetryAfterMs: it fails with the hint instead', async () => {
    const { api } = make({ retry: { maxRetryAfterMs: 1000 } });
    server.answer((_req, res) => reply(res, 503, { 'retry-after': '120' }));
    const e = await api(`${server.url}/long`).catch((x: unknown) => x);
    expect((e as { reason: string }).reason).toBe('retryAfter');
    expect((e as { retryAfterMs: number }).retryAfterMs).toBe(120_000);
  });
});

describe('protectFetch: safe retries', () => {
  it('does not retry a POST, and says why; retries it with an Idempotency-Key', async () => {
    const { api, clock } = make();
    server.answer((_req, res, _s, i) => (i === 0 ? reply(res, 503) : reply(res, 200)));
    const e = await api(`${server.url}/p`, { method: 'POST', body: 'x' }).catch((x: unknown) => x);
    expect(isHttpStatusError(e)).toBe(true);
    expect((e as { notRetried: string }).notRetried).toMatch(/POST is not idempotent/);
    expect(server.requests).toHaveLength(1);

    server.answer((_req, res, _s, i) => (i === 0 ? reply(res, 503) : reply(res, 200)));
    const p = api(`${server.url}/p`, { method: 'POST', body: 'payload', headers: { 'Idempotency-Key': 'k1' } });
    await server.until(() => server.requests.length >= 1);
    await settle();
    await clock.advance(1);
    expect((await p).status).toBe(200);
    expect(server.requests.map((r) => r.body)).toEqual(['payload', 'payload']);
  });

  it('replays buffered bodies (string, ArrayBuffer, typed array, URLSearchParams, Blob, FormData) byte for byte', async () => {
    const { api } = make();
    const form = new FormData();
    form.set('field', 'value');
    const bodies: [string, NonNullable<RequestInit['body']>][] = [
      ['string', 'plain text'],
      ['ArrayBuffer', new TextEncoder().encode('array buffer').buffer as ArrayBuffer],
      ['Uint8Array', new TextEncoder().encode('typed array')],
      ['URLSearchParams', new URLSearchParams({ a: '1', b: '2' })],
      ['Blob', new Blob(['a blob'])],
      ['FormData', form],
    ];
    for (const [name, body] of bodies) {
      let n = 0;
      server.answer((req, res) => (req.url === '/replay' && n++ === 0 ? reply(res, 503) : reply(res, 200)));
      // The retry's backoff is 0 ms (random 0): it needs no clock advance.
      expect((await api(`${server.url}/replay`, { method: 'PUT', body })).status, name).toBe(200);
      const [first, second] = server.requests.filter((r) => r.path === '/replay');
      // FormData is encoded afresh each time, with a new multipart boundary: the same parts, another separator.
      const normal = (b: string | undefined) => b?.replace(/formdata-undici-\d+/g, 'boundary');
      expect(normal(second?.body), name).toBe(normal(first?.body));
      expect(first!.body.length, name).toBeGreaterThan(0);
    }
  });

  it('never re-sends a streamed body, and says why', async () => {
    const { api } = make();
    server.answer((req) => req.socket.destroy());
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
    const e = await api(`${server.url}/s`, { method: 'PUT', body, duplex: 'half' } as RequestInit).catch((x: unknown) => x);
    expect(isNotRetriedError(e)).toBe(true);
    expect((e as { reason: string }).reason).toMatch(/ReadableStream/);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a reset connection for a GET', async () => {
    const { api, clock } = make();
    let resets = 0;
    server.answer((req, res) => (req.url === '/reset' && resets++ === 0 ? req.socket.destroy() : reply(res, 200, {}, 'again')));
    let outcome: unknown = 'pending';
    const p = api(`${server.url}/reset`).catch((e: unknown) => e);
    void p.then((x) => (outcome = x));
    await server.until(() => resets >= 1 || outcome !== 'pending').catch(() => {
      throw new Error(`no reset seen; outcome ${String(outcome)}; cause ${String((outcome as { cause?: unknown })?.cause)}`);
    });
    await settle();
    await clock.advance(1);
    const res = (await p) as Response;
    if (!(res instanceof Response)) throw new Error(`expected a response, got ${String(res)} (cause ${String((res as { cause?: unknown }).cause)}, requests ${server.requests.length})`);
    expect(await res.text()).toBe('again');
    expect(server.requests.filter((r) => r.path === '/reset')).toHaveLength(2);
  });
});

describe('protectFetch: aborts, timeouts and cleanup', () => {
  it("aborting the request's signal ends it at once, frees its permit, and leaves no timer and no socket beyond fetch's own", async () => {
    const own = await TestServer.start(); // a server of its own, so that no pooled socket of other tests counts
    const clock = new ManualClock();
    const api = protectFetch(fetch, { clock });
    const up = () => api.upstreams.peek(new URL(own.url).origin)!;
    own.answer(() => {}); // hangs
    // What the bare fetch itself keeps after an abort (Node's fetch keeps the aborted request's socket pooled).
    const bare = new AbortController();
    const bareCall = fetch(`${own.url}/bare`, { signal: bare.signal }).catch((e: unknown) => e);
    await own.until(() => own.requests.length === 1);
    bare.abort();
    await bareCall;
    await settle(50);
    const bareSockets = own.openSockets;
    own.answer(() => {});
    const ac = new AbortController();
    const p = api(`${own.url}/hang`, { signal: ac.signal }).catch((e: unknown) => e);
    await own.until(() => own.requests.length === 1);
    expect(up().limiter!.stats().inflight).toBe(1);
    ac.abort(new Error('user gave up'));
    const e = await p;
    expect((e as Error).message).toBe('user gave up');
    expect(up().limiter!.stats().inflight).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
    await settle(50);
    expect(own.openSockets - bareSockets).toBeLessThanOrEqual(1);
    api.dispose();
    await own.close();
  });

  it('times an attempt out on the clock and retries it', async () => {
    const { api, clock } = make({ attemptTimeoutMs: 1000 });
    server.answer((_req, res, _s, i) => (i === 0 ? undefined : reply(res, 200)));
    const p = api(`${server.url}/slow`);
    await server.until(() => server.requests.length === 1);
    await clock.advance(1000);
    await server.until(() => server.requests.length === 2);
    expect((await p).status).toBe(200);
  });
});

describe('protectFetch: the closed loop beyond Retry-After', () => {
  it('shrinks the adaptive limit under 503s (drops), whose retries the budget bounds', async () => {
    const { api, up, clock } = make({ retry: false, breaker: false });
    server.answer((_req, res) => reply(res, 503));
    const before = (await api(`${server.url}/warm`).catch(() => undefined), up().limiter!.stats().limit);
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 30 }, () => api(`${server.url}/busy`).catch(() => undefined)));
      await clock.advance(500); // the limit algorithm closes a window per 100 ms or more of clock time
    }
    const s = up().limiter!.stats();
    expect(s.drops).toBeGreaterThan(30);
    expect(s.limit).toBeLessThan(before);
  });

  it('paces the origin by a RateLimit quota (draft-10) before the server refuses', async () => {
    const { api, clock, up } = make({ retry: false });
    server.answer((_req, res) => reply(res, 200, { ratelimit: '"default";r=2;t=10', 'ratelimit-policy': '"default";q=100;w=60' }));
    await api(`${server.url}/q1`);
    expect(up().pacer!.stats().refillPerSecond).toBeCloseTo(0.2, 9);
    await api(`${server.url}/q2`); // the one token of burst
    const third = api(`${server.url}/q3`);
    await settle();
    expect(server.requests).toHaveLength(2);
    await clock.advance(5000); // 1 / 0.2 per second
    expect((await third).status).toBe(200);
    expect(server.requests).toHaveLength(3);
  });

  it('closes the origin until the reset when a quota says nothing is left, even on a 200', async () => {
    const { api, up } = make({ retry: false });
    server.answer((_req, res) => reply(res, 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' }));
    await api(`${server.url}/last`);
    expect(up().gate!.stats().remainingMs).toBe(30_000);
    const e = await api(`${server.url}/next`).catch((x: unknown) => x);
    expect((e as { code: string }).code).toBe('RATE_LIMITED');
  });

  it('scales the concurrency limit by the server load factor, and back up as it falls', async () => {
    const { api, up } = make({ retry: false });
    let load = '1.6';
    server.answer((_req, res) => reply(res, 200, { 'x-load-factor': load }));
    await api(`${server.url}/l`);
    const s = up().limiter!.stats();
    expect(s.limitScale).toBeCloseTo(0.5, 9);
    expect(s.effectiveLimit).toBe(Math.floor(s.limit * 0.5));
    load = '0.3';
    await api(`${server.url}/l`);
    expect(up().limiter!.stats().limitScale).toBe(1);
  });
});

describe('protectFetch: as the fetch of a library that takes one', () => {
  it('ky with retry 0 gets sluice retries (ky passes a Request object)', async () => {
    const { default: ky } = await import('ky');
    const { api, clock } = make();
    let n = 0;
    server.answer((req, res) => (req.url === '/ky' && n++ === 0 ? reply(res, 502) : reply(res, 200, {}, 'from ky')));
    const client = ky.create({ fetch: api, retry: 0 });
    const p = client.get(`${server.url}/ky`).text();
    await server.until(() => n >= 1, 5000, p);
    await settle();
    await clock.advance(1);
    expect(await p).toBe('from ky');
    expect(n).toBe(2);
  });
});

describe('protectFetch: retries are budgeted, and discarded attempts free their sockets', () => {
  it("the origin's token retry budget bounds the retries of a fleet of failing requests", async () => {
    const { api, up } = make({ breaker: false });
    server.answer((_req, res) => reply(res, 502));
    for (let batch = 0; batch < 15; batch++) await Promise.all(Array.from({ length: 10 }, () => api(`${server.url}/b`).catch(() => undefined)));
    const s = up().retry!.stats();
    // 150 calls of up to 3 attempts would be 450 requests; the default budget (500 tokens, 5 per retry) allows 100.
    expect(s.calls).toBe(150);
    expect(s.retries).toBeLessThanOrEqual(100);
    expect(s.giveUps.budget).toBeGreaterThan(0);
    expect(server.requests.length).toBe(150 + s.retries);
  });

  it('cancels the bodies of retried attempts, so the connection pool does not grow', async () => {
    const own = await TestServer.start();
    const clock = new ManualClock();
    const api = protectFetch(fetch, { clock, random: () => 0, breaker: false });
    own.answer((_req, res) => reply(res, 503, {}, 'x'.repeat(200_000)));
    for (let i = 0; i < 10; i++) await api(`${own.url}/big`).catch(() => undefined);
    expect(own.requests.length).toBe(30);
    // Sequential requests whose large bodies were cancelled or read: one connection (two at most) serves them all.
    expect(own.openSockets).toBeLessThanOrEqual(2);
    api.dispose();
    await own.close();
  });
});

describe('protectFetch: bounded per-key state', () => {
  it('keeps at most maxKeys keys however many distinct keys arrive, disposing the evicted', async () => {
    const { api } = make({ maxKeys: 5, key: (r) => r.url.pathname });
    server.answer((_req, res) => reply(res, 200));
    for (let i = 0; i < 50; i++) await api(`${server.url}/tenant/${i}`);
    const s = api.upstreams.stats();
    expect(s.keys).toBe(5);
    expect(s.created).toBe(50);
    expect(s.evicted.capacity).toBe(45);
    expect(api.upstreams.keys()).toEqual(['/tenant/45', '/tenant/46', '/tenant/47', '/tenant/48', '/tenant/49']);
  });
});

describe('protectFetch: options', () => {
  it('refuses bad options with errors naming them', () => {
    expect(() => protectFetch(fetch, { attemptTimeoutMs: -1 })).toThrow(/attemptTimeoutMs/);
    expect(() => protectFetch(fetch, { retry: { methods: 'GET' as never } })).toThrow(/retry.methods/);
    expect(() => protectFetch(fetch, { loadFactor: { target: 0 } })).toThrow(/loadFactor.target/);
    expect(() => protectFetch(fetch, { breaker: { failureThreshold: -3 } as never })).toThrow(TypeError);
    expect(() => protectFetch(fetch, { retyr: {} } as never)).toThrow(/unknown option "retyr"/);
    expect(() => protectFetch(42 as never)).toThrow(/fetchFn/);
  });

  it('numbers the default name on a shared metrics registry, as every primitive does', async () => {
    const { createMetricsRegistry } = await import('../../src/index.js');
    const metrics = createMetricsRegistry();
    const a = protectFetch(fetch, { metrics, clock: new ManualClock() });
    const b = protectFetch(fetch, { metrics, clock: new ManualClock() });
    expect(a.upstreams.name).toBe('protectFetch');
    expect(b.upstreams.name).toBe('protectFetch#2');
    a.dispose();
    b.dispose();
  });

  it('rejects a bad per-request option naming it', async () => {
    const { api } = make();
    await expect(api(`${server.url}/x`, { sluice: { timeout: 1 } as never })).rejects.toThrow(/timeout/);
  });
});
