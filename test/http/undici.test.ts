/**
 * `sluice/undici` with the real undici (request, fetch and an Agent composed with the interceptor) against a real
 * node:http server on 127.0.0.1; policies on a manual clock.
 */
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch as undiciFetch, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { sluiceInterceptor } from '../../src/http/undici.js';
import { isHttpStatusError, isNotRetriedError, type HttpOptions } from '../../src/http/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { TestServer, reply } from '../support/http-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start();
});
afterAll(async () => {
  await server.close();
});
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function make(options: HttpOptions = {}) {
  const clock = new ManualClock();
  const interceptor = sluiceInterceptor({ clock, random: () => 0, ...options });
  const agent = new Agent().compose(interceptor);
  cleanup.push(async () => {
    interceptor.dispose();
    await agent.close();
  });
  return { clock, agent, interceptor, up: () => interceptor.upstreams.peek(new URL(server.url).origin)! };
}
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('sluiceInterceptor', () => {
  it('streams an accepted response through undici.request, and a 404 too', async () => {
    const { agent } = make();
    server.answer((req, res) => reply(res, req.url === '/missing' ? 404 : 200, { 'x-a': '1' }, `hello ${req.url}`));
    const r = await request(`${server.url}/a`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-a']).toBe('1');
    expect(await r.body.text()).toBe('hello /a');
    const m = await request(`${server.url}/missing`, { dispatcher: agent });
    expect(m.statusCode).toBe(404);
    expect(await m.body.text()).toBe('hello /missing');
    expect(server.requests).toHaveLength(2);
  });

  it("retries a 503 no sooner than its Retry-After, and closes the origin for the other callers meanwhile", async () => {
    const { agent, clock, up } = make();
    let n = 0;
    server.answer((req, res) => (req.url === '/r' && n++ === 0 ? reply(res, 503, { 'retry-after': '3' }, 'busy') : reply(res, 200, {}, 'fine')));
    const p = request(`${server.url}/r`, { dispatcher: agent });
    await server.until(() => up()?.retry?.stats().sleeping === 1);
    const other = await request(`${server.url}/other`, { dispatcher: agent }).catch((e: unknown) => e);
    expect((other as { code: string }).code).toBe('RATE_LIMITED');
    expect((other as { retryAfterMs: number }).retryAfterMs).toBe(3000);
    await clock.advance(2999);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    const r = await p;
    expect(await r.body.text()).toBe('fine');
    expect(server.requests.map((x) => x.path)).toEqual(['/r', '/r']);
  });

  it('covers the global-fetch path: undici fetch through the composed agent', async () => {
    const { agent, clock } = make();
    let n = 0;
    server.answer((req, res) => (req.url === '/f' && n++ === 0 ? reply(res, 502) : reply(res, 200, {}, 'via fetch')));
    const p = undiciFetch(`${server.url}/f`, { dispatcher: agent });
    let failed: unknown;
    p.catch((e: unknown) => (failed = e));
    await server.until(() => n >= 1 || failed !== undefined);
    if (failed !== undefined) throw new Error(`the request failed before reaching the server: ${String(failed)} (cause ${String((failed as { cause?: unknown }).cause)})`);
    await settle();
    await clock.advance(1);
    const res = await p;
    expect(await res.text()).toBe('via fetch');
  });

  it("covers Node's own global fetch through setGlobalDispatcher", async () => {
    const { agent, up } = make({ retry: false });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent);
    try {
      server.answer((_req, res) => reply(res, 429, { 'retry-after': '7' }, 'no'));
      const e = await fetch(`${server.url}/global`).catch((x: unknown) => x);
      // The global fetch turns a dispatcher error into TypeError('fetch failed') with the cause kept.
      const cause = (e as { cause?: unknown }).cause;
      expect(isHttpStatusError(cause) ? cause.status : (e as { status?: number }).status).toBe(429);
      expect(up().gate!.stats().remainingMs).toBe(7000);
    } finally {
      setGlobalDispatcher(previous);
    }
  });

  it('rejects a refused response with an HttpStatusError, or replays it with throwOnStatus: false', async () => {
    const a = make({ retry: false });
    server.answer((_req, res) => reply(res, 503, { 'retry-after': '1' }, 'come back'));
    const e = await request(`${server.url}/x`, { dispatcher: a.agent }).catch((x: unknown) => x);
    expect(isHttpStatusError(e)).toBe(true);
    expect(new TextDecoder().decode((e as { body: Uint8Array }).body)).toBe('come back');
    const b = make({ retry: false, throwOnStatus: false });
    const r = await request(`${server.url}/x`, { dispatcher: b.agent });
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(await r.body.text()).toBe('come back');
  });

  it('does not retry a POST; never re-sends a streamed body', async () => {
    const { agent } = make();
    server.answer((_req, res) => reply(res, 503));
    const e = await request(`${server.url}/p`, { dispatcher: agent, method: 'POST', body: 'x' }).catch((x: unknown) => x);
    expect((e as { notRetried: string }).notRetried).toMatch(/POST is not idempotent/);
    server.answer((req) => req.socket.destroy());
    const s = await request(`${server.url}/s`, { dispatcher: agent, method: 'PUT', body: Readable.from(['a', 'b']) }).catch((x: unknown) => x);
    expect(isNotRetriedError(s)).toBe(true);
    expect((s as { reason: string }).reason).toMatch(/stream/);
    expect(server.requests).toHaveLength(1);
  });

  it('an abort ends the request with its reason and frees the permit', async () => {
    const { agent, up, clock } = make();
    server.answer(() => {});
    const ac = new AbortController();
    const p = request(`${server.url}/hang`, { dispatcher: agent, signal: ac.signal }).catch((e: unknown) => e);
    await server.until(() => server.requests.length === 1);
    expect(up().limiter!.stats().inflight).toBe(1);
    ac.abort(new Error('stop'));
    const e = await p;
    expect(e).toBeInstanceOf(Error);
    await server.until(() => up().limiter!.stats().inflight === 0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('times an attempt out on the clock, aborts its request (no signal needed) and retries', async () => {
    const own = await TestServer.start();
    const { agent, clock } = make({ attemptTimeoutMs: 1000 });
    own.answer((_req, res, _s, i) => (i === 0 ? undefined : reply(res, 200, {}, 'second')));
    const p = request(`${own.url}/slow`, { dispatcher: agent });
    await own.until(() => own.requests.length === 1);
    await clock.advance(1000);
    await own.until(() => own.requests.length === 2);
    expect(await (await p).body.text()).toBe('second');
    await own.until(() => own.openSockets <= 1); // the abandoned attempt's socket was closed
    await own.close();
  });

  it('never retries a response that has started streaming to the caller', async () => {
    const { agent } = make();
    server.answer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const r = await request(`${server.url}/midway`, { dispatcher: agent });
    expect(r.statusCode).toBe(200);
    await expect(r.body.text()).rejects.toThrow();
    await new Promise((done) => setTimeout(done, 50));
    expect(server.requests).toHaveLength(1);
  });

  it('takes per-request settings from the dispatch options', async () => {
    const { agent } = make();
    server.answer((_req, res) => reply(res, 503, { 'retry-after': '5' }));
    const e = await request(`${server.url}/d`, { dispatcher: agent, sluice: { timeoutMs: 1000 } } as never).catch((x: unknown) => x);
    expect((e as { reason: string }).reason).toBe('deadline');
    expect((e as { retryAfterMs: number }).retryAfterMs).toBe(5000);
  });

  it('shrinks the adaptive limit under 503s, and keeps distinct keys bounded', async () => {
    const { agent, interceptor, clock, up } = make({ retry: false, breaker: false });
    server.answer((_req, res) => reply(res, 503));
    const before = up() === undefined ? 20 : up().limiter!.stats().limit;
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 30 }, () => request(`${server.url}/busy`, { dispatcher: agent }).catch(() => undefined)));
      await clock.advance(500);
    }
    expect(up().limiter!.stats().drops).toBeGreaterThan(30);
    expect(up().limiter!.stats().limit).toBeLessThan(before);
    const k = make({ maxKeys: 4, key: (r) => r.url.pathname });
    server.answer((_req, res) => reply(res, 200));
    for (let i = 0; i < 40; i++) await (await request(`${server.url}/t/${i}`, { dispatcher: k.agent })).body.text();
    expect(k.interceptor.upstreams.size).toBe(4);
    expect(k.interceptor.upstreams.stats().evicted.capacity).toBe(36);
    void interceptor;
  });
});
