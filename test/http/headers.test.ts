import { describe, expect, it } from 'vitest';
import { MAX_HINT_MS, parseHttpDate, parseLoadFactor, parseQuota, parseResetValue, parseRetryAfter, parseRetryAfterHeaders } from '../../src/http/index.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');
const headers = (h: Record<string, string>) => (n: string) => h[n] ?? null;

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('reads delta-seconds, integers only', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    for (const bad of ['1.5', '-1', '1e3', '+5', '0x10', '', '12 s', 'soon']) expect(parseRetryAfter(bad, NOW), bad).toBeUndefined();
  });

  it('reads the three HTTP-date forms relative to the wall clock; a past date means now', () => {
    expect(parseRetryAfter('Thu, 03 Dec 2026 10:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 03-Dec-26 10:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu Dec  3 10:00:05 2026', NOW)).toBe(5_000);
    expect(parseRetryAfter('Wed, 02 Dec 2026 10:00:00 GMT', NOW)).toBe(0);
  });

  it('refuses impossible and non-HTTP dates', () => {
    for (const bad of ['Fri, 03 Dec 2026 10:00:30 GMT', 'Thu, 31 Nov 2026 10:00:00 GMT', 'Thu, 03 Dec 2026 24:00:00 GMT', '2026-12-03T10:00:30Z', 'Thu, 03 Dec 2026 10:00:30 PST']) {
      expect(parseRetryAfter(bad, NOW), bad).toBeUndefined();
    }
  });

  it('caps absurd values', () => {
    expect(parseRetryAfter('99999999999999999999', NOW)).toBe(MAX_HINT_MS);
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', NOW)).toBe(MAX_HINT_MS);
  });

  it('reads the two-digit RFC 850 year within 50 years of now', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(Date.parse('1994-11-06T08:49:37Z'));
    expect(parseHttpDate('Monday, 06-Nov-34 08:49:37 GMT', NOW)).toBe(Date.parse('2034-11-06T08:49:37Z'));
  });

  it('prefers retry-after-ms when valid', () => {
    expect(parseRetryAfterHeaders(headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), NOW)).toBe(1500);
    expect(parseRetryAfterHeaders(headers({ 'retry-after-ms': 'x', 'retry-after': '9' }), NOW)).toBe(9000);
  });
});

describe('parseQuota', () => {
  it('reads draft-10 RateLimit with RateLimit-Policy, taking the tightest of several policies', () => {
    const q = parseQuota(headers({ ratelimit: '"burst";r=50;t=30, "daily";r=0;t=3600', 'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400' }), NOW);
    expect(q).toMatchObject({ remaining: 0, resetMs: 3_600_000, limit: 1000, windowMs: 86_400_000, policy: 'daily', dialect: 'draft-10' });
    const one = parseQuota(headers({ ratelimit: '"default";r=50;t=30', 'ratelimit-policy': '"default";q=100;w=60' }), NOW);
    expect(one).toMatchObject({ remaining: 50, resetMs: 30_000, limit: 100, windowMs: 60_000, policy: 'default' });
  });

  it('reads draft-7, draft-6 and X-RateLimit forms', () => {
    expect(parseQuota(headers({ ratelimit: 'limit=100, remaining=50, reset=30', 'ratelimit-policy': '100;w=60' }), NOW)).toMatchObject({ remaining: 50, resetMs: 30_000, limit: 100, windowMs: 60_000, dialect: 'draft-7' });
    expect(parseQuota(headers({ 'ratelimit-limit': '100', 'ratelimit-remaining': '7', 'ratelimit-reset': '12' }), NOW)).toMatchObject({ remaining: 7, resetMs: 12_000, limit: 100, dialect: 'draft-6' });
    expect(parseQuota(headers({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '20' }), NOW)).toMatchObject({ remaining: 3, resetMs: 20_000, dialect: 'x-ratelimit' });
  });

  it('reads an X-RateLimit-Reset above 10^9 as a Unix time', () => {
    expect(parseResetValue(String(NOW / 1000 + 42), NOW)).toBe(42_000);
    expect(parseResetValue(String(NOW + 1500), NOW)).toBe(1500);
    expect(parseResetValue('45', NOW)).toBe(45_000);
    expect(parseResetValue(String(NOW / 1000 - 10), NOW)).toBe(0);
  });

  it('ignores malformed fields (the draft: malformed fields MUST be ignored)', () => {
    expect(parseQuota(headers({ ratelimit: '"default";t=30' }), NOW)).toBeUndefined(); // r is required
    expect(parseQuota(headers({ ratelimit: '"default";r=-1' }), NOW)).toBeUndefined();
    expect(parseQuota(headers({ ratelimit: '"unterminated;r=1' }), NOW)).toBeUndefined();
    expect(parseQuota(headers({}), NOW)).toBeUndefined();
  });

  it('reads the load factor, capped', () => {
    expect(parseLoadFactor('0.9')).toBe(0.9);
    expect(parseLoadFactor('1e9')).toBeUndefined();
    expect(parseLoadFactor('123456')).toBe(100);
    expect(parseLoadFactor('-1')).toBeUndefined();
  });
});
