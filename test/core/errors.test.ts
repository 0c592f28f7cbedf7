import { describe, expect, it } from 'vitest';
import {
  ConcurrencyLimitedError,
  DeadlineExceededError,
  DisposedError,
  MaxWaitExceededError,
  QueueFullError,
  REJECTION_CODES,
  RateLimitedError,
  RejectedError,
  SluiceError,
  TimeoutError,
  isRejectedError,
  isSluiceError,
  isTimeoutError,
  rejectionError,
  type RejectionCode,
} from '../../src/core/errors.js';

describe('RejectedError', () => {
  const subclasses: [RejectionCode, new (policy: string, retryAfterMs: number) => RejectedError][] = [
    ['RATE_LIMITED', RateLimitedError],
    ['QUEUE_FULL', QueueFullError],
    ['MAX_WAIT_EXCEEDED', MaxWaitExceededError],
    ['DEADLINE_EXCEEDED', DeadlineExceededError],
    ['CONCURRENCY_LIMITED', ConcurrencyLimitedError],
  ];

  it.each(subclasses)('%s: the subclass carries code, policy, retryAfterMs and its own name', (code, Kind) => {
    const e = new Kind('api', 1500);
    expect(e).toBeInstanceOf(RejectedError);
    expect(e).toBeInstanceOf(SluiceError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code, policy: 'api', retryAfterMs: 1500, name: Kind.name });
  });

  it('the default message names the policy, the cause and a rounded-up retry hint', () => {
    expect(new RateLimitedError('api', 1200.2).message).toBe('api: rate limited; retry after 1201 ms');
    expect(new QueueFullError('db', 0).message).toBe('db: queue full');
    expect(new MaxWaitExceededError('db', Infinity).message).toBe('db: max wait exceeded');
    expect(new RateLimitedError('api', 5, 'custom').message).toBe('custom');
  });

  it('DisposedError has code DISPOSED, retryAfterMs 0 and says so', () => {
    const e = new DisposedError('pool');
    expect(e).toMatchObject({ code: 'DISPOSED', policy: 'pool', retryAfterMs: 0, message: 'pool: disposed', name: 'DisposedError' });
  });

  it('rejectionError builds the subclass for every code, and the base class for codes without one', () => {
    for (const [code, Kind] of subclasses) expect(rejectionError(code, 'p', 7)).toBeInstanceOf(Kind);
    expect(rejectionError('DISPOSED', 'p', 7)).toBeInstanceOf(DisposedError);
    for (const code of REJECTION_CODES) {
      const e = rejectionError(code, 'p', 7);
      expect(e.code).toBe(code);
      expect(isRejectedError(e)).toBe(true);
    }
    const shed = rejectionError('SHED', 'p', 7);
    expect(shed.constructor).toBe(RejectedError);
    expect(shed.retryAfterMs).toBe(7);
  });

  it('REJECTION_CODES is frozen and lists each code once', () => {
    expect(Object.isFrozen(REJECTION_CODES)).toBe(true);
    expect(new Set(REJECTION_CODES).size).toBe(REJECTION_CODES.length);
    expect(REJECTION_CODES).toContain('RATE_LIMITED');
    expect(REJECTION_CODES).toContain('DISPOSED');
  });
});

describe('isRejectedError', () => {
  it('matches a plain object from another copy of sluice by code, policy and retryAfterMs', () => {
    // What a duplicate ESM/CJS copy throws: not our class, same shape.
    const foreign = Object.assign(new Error('api: rate limited'), { code: 'RATE_LIMITED', policy: 'api', retryAfterMs: 250 });
    expect(foreign instanceof RejectedError).toBe(false);
    expect(isRejectedError(foreign)).toBe(true);
    expect(isRejectedError({ code: 'QUEUE_FULL', policy: 'x', retryAfterMs: 0 })).toBe(true);
  });

  it('rejects unknown codes, missing fields and non-objects', () => {
    expect(isRejectedError({ code: 'SLOW_DOWN', policy: 'x', retryAfterMs: 0 })).toBe(false);
    expect(isRejectedError({ code: 'rate_limited', policy: 'x', retryAfterMs: 0 })).toBe(false);
    expect(isRejectedError({ code: 'RATE_LIMITED', retryAfterMs: 0 })).toBe(false);
    expect(isRejectedError({ code: 'RATE_LIMITED', policy: 'x' })).toBe(false);
    expect(isRejectedError({ code: 'RATE_LIMITED', policy: 'x', retryAfterMs: '10' })).toBe(false);
    expect(isRejectedError({ code: 'RATE_LIMITED', policy: 3, retryAfterMs: 0 })).toBe(false);
    for (const x of [null, undefined, 'RATE_LIMITED', 42, new Error('RATE_LIMITED')]) expect(isRejectedError(x)).toBe(false);
  });
});

describe('TimeoutError', () => {
  it('is a sluice error but not a rejection: the dependency was too slow', () => {
    const e = new TimeoutError('call', 1999.6);
    expect(e).toMatchObject({ code: 'TIMEOUT', policy: 'call', timeoutMs: 1999.6, name: 'TimeoutError', message: 'call: timed out after 2000 ms' });
    expect(isRejectedError(e)).toBe(false);
    expect(isTimeoutError(e)).toBe(true);
    expect(isSluiceError(e)).toBe(true);
  });

  it('isTimeoutError matches another copy by code and policy only', () => {
    expect(isTimeoutError({ code: 'TIMEOUT', policy: 'x' })).toBe(true);
    expect(isTimeoutError({ code: 'TIMEOUT' })).toBe(false);
    expect(isTimeoutError(new RateLimitedError('x', 1))).toBe(false);
    expect(isTimeoutError(undefined)).toBe(false);
  });
});

describe('isSluiceError', () => {
  it('is true for rejections and timeouts, false for anything else', () => {
    expect(isSluiceError(new QueueFullError('q', 1))).toBe(true);
    expect(isSluiceError(new TimeoutError('t', 1))).toBe(true);
    expect(isSluiceError(new Error('x'))).toBe(false);
    expect(isSluiceError({ code: 'ECONNRESET', policy: 'x' })).toBe(false);
  });

  it('SluiceError keeps a cause', () => {
    const cause = new Error('root');
    const e = new SluiceError('TIMEOUT', 'p', 'wrapped', { cause });
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('SluiceError');
  });
});
