import { describe, expect, it } from 'vitest';
import { HttpStatusError, rejectionResponse } from '../../src/http/index.js';
import { RateLimitedError, ShedError, TimeoutError } from '../../src/index.js';
import { RetryExhaustedError } from '../../src/retry/errors.js';

const refused = (classification: 'pushback' | 'failure', retryAfterMs?: number) =>
  new HttpStatusError('api', { status: classification === 'pushback' ? 429 : 500, statusText: '', headers: {}, method: 'GET', url: 'http://x/', classification, retryAfterMs, body: undefined, bodyTruncated: false });

describe('rejectionResponse', () => {
  it('answers a local refusal with 503 and Retry-After in whole seconds, rounded up, at least 1', () => {
    expect(rejectionResponse(new RateLimitedError('bucket', 1200))).toMatchObject({ status: 503, headers: { 'retry-after': '2' } });
    expect(rejectionResponse(new RateLimitedError('bucket', 1))?.headers['retry-after']).toBe('1');
    expect(JSON.parse(rejectionResponse(new ShedError('q', 250, 'queue-delay'))!.body)).toEqual({ error: 'SHED', retryAfterMs: 250 });
  });

  it("passes an upstream's pushback on, and a retry that gave up on the server's delay", () => {
    expect(rejectionResponse(refused('pushback', 30_000))?.headers['retry-after']).toBe('30');
    const gaveUp = new RetryExhaustedError('retry', 'deadline', 1, refused('pushback', 5000), refused('pushback', 5000), 5000);
    expect(rejectionResponse(gaveUp)).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
  });

  it('leaves other errors alone, and omits Retry-After for a hint that is never', () => {
    expect(rejectionResponse(new Error('bug'))).toBeUndefined();
    expect(rejectionResponse(new TimeoutError('t', 100))).toBeUndefined();
    expect(rejectionResponse(refused('failure'))).toBeUndefined();
    expect(rejectionResponse(new RateLimitedError('bucket', Infinity))?.headers['retry-after']).toBeUndefined();
    expect(rejectionResponse(new RateLimitedError('bucket', 10), { status: 429 })?.status).toBe(429);
  });
});
