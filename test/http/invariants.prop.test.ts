/**
 * Whatever a real server does (answers, refuses with or without Retry-After, resets the connection, hangs) and
 * whatever the callers do (idempotent or not, with a deadline or not, aborting midway), every request through
 * protectFetch settles with a response or a typed error, and afterwards nothing is held: no permit in flight, no
 * waiter in the gate or the pacer, no call sleeping in a backoff, no timer armed on the clock.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protectFetch } from '../../src/http/fetch.js';
import { isHttpStatusError, isNotRetriedError } from '../../src/http/index.js';
import { isRejectedError, isTimeoutError } from '../../src/index.js';
import { isRetryExhaustedError } from '../../src/retry/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { TestServer, reply } from '../support/http-server.js';

type Behaviour = 'ok' | 'notFound' | 'tooMany' | 'tooManyAfter' | 'unavailable' | 'error' | 'reset' | 'hang' | 'quota';
const behaviours: Behaviour[] = ['ok', 'notFound', 'tooMany', 'tooManyAfter', 'unavailable', 'error', 'reset', 'hang', 'quota'];

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start();
});
afterAll(async () => {
  await server.close();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('protectFetch invariants against a real server (fast-check)', () => {
  it('every request settles, typed; nothing is left held', async () => {
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT'),
      timeoutMs: fc.option(fc.integer({ min: 200, max: 5000 }), { nil: undefined }),
      abortAfterMs: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
    });
    const seen = new Set<string>();
    let reached = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...behaviours), { minLength: 1, maxLength: 12 }), fc.array(request, { minLength: 1, maxLength: 8 }), async (script, requests) => {
        const clock = new ManualClock();
        const api = protectFetch(fetch, { clock, attemptTimeoutMs: 1000, retry: { maxAttempts: 3 } });
        let i = 0;
        server.answer((req, res) => {
          const b = script[i++ % script.length]!;
          if (b === 'ok') reply(res, 200, {}, 'ok');
          else if (b === 'notFound') reply(res, 404);
          else if (b === 'tooMany') reply(res, 429);
          else if (b === 'tooManyAfter') reply(res, 429, { 'retry-after': '1' });
          else if (b === 'unavailable') reply(res, 503, { 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' });
          else if (b === 'error') reply(res, 500, {}, 'x'.repeat(100));
          else if (b === 'quota') reply(res, 200, { ratelimit: '"q";r=1;t=2' });
          else if (b === 'reset') req.socket.destroy();
          // 'hang': never answers; the attempt timeout (virtual) aborts it
        });
        const outcomes: unknown[] = new Array(requests.length).fill('pending');
        const runs = requests.map((r, k) => {
          const ac = new AbortController();
          if (r.abortAfterMs !== undefined) clock.setTimeout(() => ac.abort(new Error('caller gave up')), r.abortAfterMs);
          return api(`${server.url}/r${k}`, { method: r.method, body: r.method === 'GET' ? undefined : 'payload', signal: ac.signal, sluice: r.timeoutMs === undefined ? undefined : { timeoutMs: r.timeoutMs } }).then(
            async (res: Response) => {
              await res.text();
              outcomes[k] = res.status;
            },
            (e: unknown) => {
              outcomes[k] = e;
            },
          );
        });
        for (let step = 0; step < 400 && outcomes.includes('pending'); step++) {
          await pause(3);
          await clock.advance(250);
        }
        await Promise.all(runs);
        reached += server.requests.length;
        for (const o of outcomes) {
          seen.add(typeof o === 'number' ? `status ${o}` : ((o as { code?: string }).code ?? (o as Error).message));
          if (typeof o === 'number') continue;
          const known =
            isHttpStatusError(o) ||
            isRejectedError(o) ||
            isRetryExhaustedError(o) ||
            isNotRetriedError(o) ||
            isTimeoutError(o) ||
            (o instanceof Error && (o.message === 'caller gave up' || o.message === 'fetch failed'));
          expect(known, `untyped outcome: ${String(o)}`).toBe(true);
        }
        const up = api.upstreams.peek(new URL(server.url).origin);
        if (up !== undefined) {
          expect(up.limiter!.stats().inflight).toBe(0);
          expect(up.gate!.stats().queued).toBe(0);
          expect(up.pacer!.stats().queued).toBe(0);
          expect(up.retry!.stats().sleeping).toBe(0);
        }
        // The test's own abort timers may still be armed; fire them (no-ops now): then no timer may be left.
        await clock.advance(5000);
        expect(clock.pendingTimers()).toBe(0);
        api.dispose();
      }),
      { numRuns: 25 },
    );
    // The runs did exercise the server and end in many different ways (not one trivially passing path).
    expect(reached).toBeGreaterThan(25);
    expect(seen.size).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
