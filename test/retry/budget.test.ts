import { describe, expect, it } from 'vitest';
import { ratioBudget, tokenBudget, type BudgetClock } from '../../src/retry/budget.js';

/** A clock fixed at `t` ms. */
const at = (t: number): BudgetClock => ({ now: () => t });
import { TimeoutError } from '../../src/core/errors.js';

/** Retries granted back to back at `now`, stopping at the first refusal (at most `max`). */
function drain(budget: { tryRetry(clock: BudgetClock, cause: unknown): number }, now: number, max = 10_000): number {
  let n = 0;
  while (n < max && budget.tryRetry(at(now), new Error('x')) > 0) n++;
  return n;
}

describe('ratioBudget', () => {
  it('starts with an allowance of minPerSecond x windowMs retries and then refuses', () => {
    const b = ratioBudget({ ratio: 0.1, minPerSecond: 3, windowMs: 2_000 });
    expect(drain(b, 0)).toBe(6);
    expect(b.tryRetry(at(0), new Error('x'))).toBe(0);
    const s = b.stats(at(0));
    expect(s.retriesGranted).toBe(6);
    expect(s.retriesRefused).toBe(2);
  });

  it('refills the floor at minPerSecond up to its reserve', () => {
    const b = ratioBudget({ ratio: 0, minPerSecond: 2, windowMs: 1_000 });
    expect(drain(b, 0)).toBe(2);
    expect(drain(b, 500)).toBe(1);
    expect(drain(b, 100_000)).toBe(2); // capped at the reserve, not 200 s worth
  });

  it('grants ratio x requests on top of the floor', () => {
    const b = ratioBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 10; i++) b.recordRequest(at(0));
    expect(drain(b, 0)).toBe(2);
    for (let i = 0; i < 4; i++) b.recordRequest(at(1));
    expect(drain(b, 1)).toBe(0);
    b.recordRequest(at(1));
    expect(drain(b, 1)).toBe(1);
  });

  it('lets deposits expire after windowMs (but not before 0.9 windowMs)', () => {
    const b = ratioBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1_000 });
    for (let i = 0; i < 10; i++) b.recordRequest(at(0));
    expect(b.stats(at(899)).deposits).toBeCloseTo(5);
    expect(b.stats(at(1_000)).deposits).toBe(0);
    expect(drain(b, 1_000)).toBe(0);
  });

  it('expires every deposit after a long idle spell', () => {
    const b = ratioBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000 });
    for (let i = 0; i < 10; i++) b.recordRequest(at(i * 100));
    expect(b.stats(at(950)).deposits).toBeCloseTo(10);
    expect(b.stats(at(1e9)).deposits).toBe(0);
  });

  it('spends the oldest deposits first, so fresh deposits survive', () => {
    const b = ratioBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000 });
    b.recordRequest(at(0));
    b.recordRequest(at(950));
    expect(b.tryRetry(at(960), null)).toBe(1);
    expect(b.stats(at(1_050)).deposits).toBeCloseTo(1); // the t=0 deposit was the one spent
  });

  it('counts a whole retry funded by ten deposits of 0.1 despite float rounding', () => {
    const b = ratioBudget({ ratio: 0.1, minPerSecond: 0 });
    for (let i = 0; i < 10; i++) b.recordRequest(at(0));
    expect(drain(b, 0)).toBe(1);
  });

  it('treats a time earlier than one already seen as that time', () => {
    const b = ratioBudget({ ratio: 0, minPerSecond: 1, windowMs: 1_000 });
    expect(drain(b, 5_000)).toBe(1);
    expect(drain(b, 0)).toBe(0);
    expect(drain(b, 6_000)).toBe(1);
  });

  it('reports its configuration and state', () => {
    const b = ratioBudget();
    b.recordRequest(at(0));
    const s = b.stats(at(0));
    expect(s).toMatchObject({ kind: 'ratio', ratio: 0.1, minPerSecond: 10, windowMs: 10_000, requests: 1, reserve: 100 });
    expect(s.available).toBeCloseTo(100.1);
  });

  it('validates its options naming each', () => {
    expect(() => ratioBudget({ ratio: -0.1 })).toThrow(/ratioBudget: option "ratio"/);
    expect(() => ratioBudget({ minPerSecond: NaN })).toThrow(/option "minPerSecond"/);
    expect(() => ratioBudget({ windowMs: 0 })).toThrow(/option "windowMs"/);
    expect(() => ratioBudget({ windowMs: '10s' as never })).toThrow(TypeError);
    expect(() => ratioBudget(7 as never)).toThrow(TypeError);
  });
});

describe('tokenBudget', () => {
  it('follows the AWS standard quota: 500 tokens, 5 per retry, so 100 retries from full', () => {
    const b = tokenBudget();
    expect(drain(b, 0)).toBe(100);
    expect(b.stats(at(0))).toMatchObject({ kind: 'token', tokens: 0, capacity: 500, retryCost: 5, timeoutCost: 10 });
  });

  it('charges timeoutCost for a timeout', () => {
    const b = tokenBudget({ capacity: 30 });
    expect(b.tryRetry(at(0), new TimeoutError('t', 100))).toBe(10);
    expect(b.tryRetry(at(0), new Error('x'))).toBe(5);
    expect(b.stats(at(0)).tokens).toBe(15);
  });

  it('uses a custom timeout classifier', () => {
    const b = tokenBudget({ capacity: 30, isTimeout: (c) => c === 'slow' });
    expect(b.tryRetry(at(0), 'slow')).toBe(10);
    expect(b.tryRetry(at(0), new TimeoutError('t', 100))).toBe(5);
  });

  it('refunds successRefund for a first-attempt success and the retry cost after a retried success, up to capacity', () => {
    const b = tokenBudget({ capacity: 20, initialTokens: 0 });
    b.recordSuccess(at(0), 0);
    expect(b.stats(at(0)).tokens).toBe(1);
    b.recordSuccess(at(0), 10);
    expect(b.stats(at(0)).tokens).toBe(11);
    for (let i = 0; i < 50; i++) b.recordSuccess(at(0), 0);
    expect(b.stats(at(0)).tokens).toBe(20);
  });

  it('refunds only successRefund when refundRetryCost is off (Brooker adaptive retry)', () => {
    const b = tokenBudget({ capacity: 10, initialTokens: 0, retryCost: 1, timeoutCost: 1, successRefund: 0.1, refundRetryCost: false });
    b.recordSuccess(at(0), 1);
    expect(b.stats(at(0)).tokens).toBeCloseTo(0.1);
    expect(b.tryRetry(at(0), null)).toBe(0);
    for (let i = 0; i < 10; i++) b.recordSuccess(at(0), 0);
    expect(b.tryRetry(at(0), null)).toBe(1);
  });

  it('refuses when fewer tokens remain than the retry costs', () => {
    const b = tokenBudget({ capacity: 9 });
    expect(b.tryRetry(at(0), new TimeoutError('t', 1))).toBe(0);
    expect(b.tryRetry(at(0), null)).toBe(5);
    expect(b.tryRetry(at(0), null)).toBe(0);
    expect(b.stats(at(0))).toMatchObject({ retriesGranted: 1, retriesRefused: 2, tokens: 4 });
  });

  it('counts requests', () => {
    const b = tokenBudget();
    b.recordRequest(at(0));
    b.recordRequest(at(1));
    expect(b.stats(at(1)).requests).toBe(2);
  });

  it('validates its options naming each', () => {
    expect(() => tokenBudget({ capacity: 0 })).toThrow(/tokenBudget: option "capacity"/);
    expect(() => tokenBudget({ capacity: 10, initialTokens: 11 })).toThrow(/option "initialTokens"/);
    expect(() => tokenBudget({ retryCost: 0 })).toThrow(/option "retryCost"/);
    expect(() => tokenBudget({ timeoutCost: -1 })).toThrow(/option "timeoutCost"/);
    expect(() => tokenBudget({ successRefund: -1 })).toThrow(/option "successRefund"/);
    expect(() => tokenBudget({ refundRetryCost: 1 as never })).toThrow(TypeError);
    expect(() => tokenBudget({ isTimeout: 'yes' as never })).toThrow(/option "isTimeout"/);
  });
});

describe('refundRetry (a retry granted but never started)', () => {
  it('a token budget gets the cost back, never above capacity, and the grant is undone', () => {
    const b = tokenBudget({ capacity: 20, initialTokens: 12 });
    expect(b.tryRetry(at(0), new Error('x'))).toBe(5);
    b.refundRetry(at(0), 5);
    expect(b.stats(at(0))).toMatchObject({ tokens: 12, retriesGranted: 0 });
    const full = tokenBudget({ capacity: 10 });
    full.tryRetry(at(0), new Error('x'));
    full.recordSuccess(at(0), 0);
    full.refundRetry(at(0), 5);
    expect(full.stats(at(0)).tokens).toBe(10);
    b.refundRetry(at(0), 0); // nothing was withdrawn
    expect(b.stats(at(0))).toMatchObject({ tokens: 12, retriesGranted: 0 });
  });

  it('a ratio budget gets the retry back (reserve first, then the oldest live slice), so the same retry can be granted again', () => {
    const b = ratioBudget({ ratio: 0.5, minPerSecond: 1, windowMs: 1_000 }); // reserve 1
    b.recordRequest(at(0));
    b.recordRequest(at(0)); // one retry deposited
    expect(drain(b, 0)).toBe(2);
    b.refundRetry(at(0), 1);
    b.refundRetry(at(0), 1);
    expect(b.stats(at(0))).toMatchObject({ retriesGranted: 0, available: 2, reserve: 1 });
    expect(drain(b, 0)).toBe(2);
    // With no reserve at all, the refund goes into the window and expires with it.
    const noFloor = ratioBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000 });
    noFloor.recordRequest(at(0));
    expect(drain(noFloor, 0)).toBe(1);
    noFloor.refundRetry(at(0), 1);
    expect(noFloor.stats(at(0))).toMatchObject({ retriesGranted: 0, available: 1 });
    expect(noFloor.stats(at(1_000)).available).toBe(0);
  });
});
