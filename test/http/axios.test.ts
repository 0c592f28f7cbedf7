/**
 * `sluice/axios` with the real axios (its node http adapter) against a real node:http server on 127.0.0.1; policies on
 * a manual clock.
 */
import { Readable } from 'node:stream';
import axios, { AxiosError } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axiosAdapter, protectAxios } from '../../src/http/axios.js';
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
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function make(options: HttpOptions = {}) {
  const clock = new ManualClock();
  const adapter = axiosAdapter(axios.getAdapter('http'), { clock, random: () => 0, ...options });
  cleanup.push(() => adapter.dispose());
  const api = axios.create({ adapter, baseURL: server.url });
  return { clock, api, adapter, up: () => adapter.upstreams.peek(new URL(server.url).origin)! };
}
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe('axiosAdapter', () => {
  it('keeps axios semantics for passed-on statuses: 200 resolves, 404 rejects with AxiosError, neither is retried', async () => {
    const { api } = make();
    server.answer((req, res) => reply(res, req.url === '/missing' ? 404 : 200, {}, 'data'));
    expect((await api.get('/a')).data).toBe('data');
    const e = await api.get('/missing').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AxiosError);
    expect((e as AxiosError).response?.status).toBe(404);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 429 no sooner than its Retry-After, and the origin is closed for the others meanwhile', async () => {
    const { api, clock, up } = make();
    let n = 0;
    server.answer((req, res) => (req.url === '/r' && n++ === 0 ? reply(res, 429, { 'retry-after': '2' }) : reply(res, 200, {}, 'fine')));
    const p = api.get('/r');
    await server.until(() => up()?.retry?.stats().sleeping === 1);
    const other = await api.get('/other').catch((x: unknown) => x);
    expect((other as { code: string }).code).toBe('RATE_LIMITED');
    await clock.advance(1999);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    expect((await p).data).toBe('fine');
  });

  it('rejects a refused response with an HttpStatusError, or ends as axios would with throwOnStatus: false', async () => {
    const a = make({ retry: false });
    server.answer((_req, res) => reply(res, 503, {}, 'busy'));
    const e = await a.api.get('/x').catch((x: unknown) => x);
    expect(isHttpStatusError(e)).toBe(true);
    expect(new TextDecoder().decode((e as { body: Uint8Array }).body)).toBe('busy');
    const b = make({ retry: false, throwOnStatus: false });
    const e2 = await b.api.get('/x').catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(AxiosError);
    expect((e2 as AxiosError).response?.status).toBe(503);
    const ok = await b.api.get('/x', { validateStatus: () => true });
    expect(ok.status).toBe(503);
  });

  it('does not retry a POST, retries a reset GET, never re-sends a streamed body', async () => {
    const { api, clock } = make();
    server.answer((_req, res) => reply(res, 503));
    const e = await api.post('/p', 'x').catch((x: unknown) => x);
    expect((e as { notRetried: string }).notRetried).toMatch(/POST is not idempotent/);
    let resets = 0;
    server.answer((req, res) => (req.url === '/reset' && resets++ === 0 ? req.socket.destroy() : reply(res, 200, {}, 'again')));
    const p = api.get('/reset');
    await server.until(() => resets >= 1);
    await settle();
    await clock.advance(1);
    expect((await p).data).toBe('again');
    server.answer((req) => req.socket.destroy());
    const s = await api.put('/s', Readable.from(['a'])).catch((x: unknown) => x);
    expect(isNotRetriedError(s)).toBe(true);
  });

  it("aborting the request's signal ends it as axios ends aborts (CanceledError) and frees the permit", async () => {
    const { api, up } = make();
    server.answer(() => {});
    const ac = new AbortController();
    const p = api.get('/hang', { signal: ac.signal }).catch((x: unknown) => x);
    await server.until(() => server.requests.length === 1);
    ac.abort(new Error('stop'));
    expect(axios.isCancel(await p)).toBe(true);
    expect(up().limiter!.stats().inflight).toBe(0);
  });

  it('protectAxios installs the adapter on an instance', async () => {
    const api = protectAxios(axios.create({ baseURL: server.url }), axios.getAdapter, { clock: new ManualClock() });
    cleanup.push(() => api.sluice.dispose());
    server.answer((_req, res) => reply(res, 200, {}, 'via instance'));
    expect((await api.get('/i')).data).toBe('via instance');
    expect(api.sluice.upstreams.size).toBe(1);
  });

  it('shrinks the adaptive limit under 503s, and keeps distinct keys bounded', async () => {
    const { api, clock, up } = make({ retry: false, breaker: false });
    server.answer((_req, res) => reply(res, 503));
    await api.get('/warm').catch(() => undefined);
    const before = up().limiter!.stats().limit;
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 30 }, () => api.get('/busy').catch(() => undefined)));
      await clock.advance(500);
    }
    expect(up().limiter!.stats().drops).toBeGreaterThan(30);
    expect(up().limiter!.stats().limit).toBeLessThan(before);
    const k = make({ maxKeys: 4, key: (r) => r.url.pathname });
    server.answer((_req, res) => reply(res, 200));
    for (let i = 0; i < 40; i++) await k.api.get(`/t/${i}`);
    expect(k.adapter.upstreams.size).toBe(4);
    expect(k.adapter.upstreams.stats().evicted.capacity).toBe(36);
  });
});
