import { describe, expect, it } from 'vitest';
import { adaptiveThrottle, throttleProbability } from '../../src/breaker/index.js';
import { ConcurrencyLimitedError, isRejectedError } from '../../src/core/errors.js';
import { ManualClock, seededRandom } from '../../src/testing/index.js';
import { policyContract } from '../contract/policy.contract.js';

const fail = (): Promise<never> => Promise.reject(new Error('503'));
const ok = async (): Promise<string> => 'ok';

describe('throttleProbability (SRE book formula)', () => {
  it('is max(0, (requests − K·accepts) / (requests + 1)), capped', () => {
    expect(throttleProbability(0, 0, 2, 0.9)).toBe(0);
    expect(throttleProbability(100, 100, 2, 0.9)).toBe(0);
    expect(throttleProbability(100, 50, 2, 0.9)).toBe(0);
    expect(throttleProbability(100, 25, 2, 0.9)).toBeCloseTo(50 / 101, 12);
    expect(throttleProbability(100, 0, 2, 0.9)).toBe(0.9);
    expect(throttleProbability(100, 0, 2, 1)).toBeCloseTo(100 / 101, 12);
    expect(throttleProbability(100, 80, 1.1, 1)).toBeCloseTo(12 / 101, 12);
  });
});

describe('adaptiveThrottle', () => {
  it('validates its options', () => {
    expect(() => adaptiveThrottle({ k: 0.5 })).toThrow(/"k"/);
    expect(() => adaptiveThrottle({ maxRejectionProbability: 2 })).toThrow(/maxRejectionProbability/);
    expect(() => adaptiveThrottle({ windowMs: 0 })).toThrow(/windowMs/);
    expect(() => adaptiveThrottle({ isFailure: 'no' as never })).toThrow(/isFailure/);
    expect(() => adaptiveThrottle({ minRequests: -1 })).toThrow(/minRequests/);
    expect(() => adaptiveThrottle({ K: 2 } as never)).toThrow(/unknown option "K"/);
  });

  it('lets everything through while the dependency accepts, and sheds about the excess over K × accepts when it refuses', async () => {
    const clock = new ManualClock();
    const t = adaptiveThrottle({ clock, random: seededRandom(7), maxRejectionProbability: 1, windowMs: 1000 });
    for (let i = 0; i < 200; i++) await t.execute(ok);
    expect(t.stats()).toMatchObject({ requests: 200, accepts: 200, rejectionProbability: 0, rejected: 0 });
    // Now the dependency accepts at most one call per 4 ms (a burst of 4) of the one per ms offered: the steady state sends about
    // K × accepts and refuses the rest locally.
    let tokens = 4;
    let lastAt = clock.now();
    let throttled = 0;
    let sent = 0;
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      await clock.advance(1);
      await t
        .execute(() => {
          if (i >= 2000) sent++;
          tokens = Math.min(4, tokens + 0.25 * (clock.now() - lastAt));
          lastAt = clock.now();
          if (tokens < 1) return fail();
          tokens--;
          if (i >= 2000) accepted++;
          return ok();
        })
        .catch((e: unknown) => {
          if (isRejectedError(e) && e.code === 'THROTTLED') throttled++;
        });
    }
    expect(throttled).toBeGreaterThan(0);
    // Once p settles (the last 2 s): what is sent ≈ K × what is accepted; the dependency works at its capacity.
    expect(sent / accepted).toBeGreaterThan(1.8);
    expect(sent / accepted).toBeLessThan(2.3);
    expect(accepted).toBeGreaterThan(0.95 * (2000 / 4));
    expect(t.stats().rejectedBy.THROTTLED).toBe(throttled);
  });

  it('refuses at most maxRejectionProbability of calls to a dead dependency, with a retry hint, and recovers as the window slides', async () => {
    const clock = new ManualClock();
    const t = adaptiveThrottle({ clock, random: seededRandom(3), windowMs: 2000, buckets: 4 });
    const errors: unknown[] = [];
    for (let i = 0; i < 2000; i++) {
      await clock.advance(1);
      await t.execute(fail).catch((e: unknown) => errors.push(e));
    }
    const throttled = errors.filter((e) => isRejectedError(e) && e.code === 'THROTTLED');
    expect(throttled.length / 2000).toBeGreaterThan(0.8);
    expect(throttled.length / 2000).toBeLessThanOrEqual(0.9);
    expect(throttled[0]).toMatchObject({ code: 'THROTTLED', retryAfterMs: 500 });
    expect(t.stats().rejectionProbability).toBe(0.9);
    // Healed: successes refill the window, and every local refusal still counts as a request not accepted, so the
    // probability falls as p ← 2p − 1 per window (K = 2) and reaches 0 within a few windows.
    const healedAt = clock.now();
    while (t.stats().rejectionProbability > 0 && clock.now() - healedAt < 20_000) {
      await clock.advance(1);
      await t.execute(ok).catch(() => {});
    }
    expect(t.stats().rejectionProbability).toBe(0);
    expect(clock.now() - healedAt).toBeLessThanOrEqual(4 * 2000);
  });

  it('leaves caller aborts and inner sluice rejections out of the window; isFailure decides otherwise', async () => {
    const clock = new ManualClock();
    const t = adaptiveThrottle({ clock });
    const ac = new AbortController();
    const p = t.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: ac.signal });
    ac.abort(new Error('bored'));
    await expect(p).rejects.toThrow('bored');
    await expect(t.execute(() => Promise.reject(new ConcurrencyLimitedError('inner', 0)))).rejects.toThrow();
    expect(t.stats()).toMatchObject({ requests: 0, accepts: 0 });
    // Below minRequests nothing is refused, whatever the window holds.
    const quiet = adaptiveThrottle({ clock, minRequests: 5 });
    for (let i = 0; i < 4; i++) await quiet.execute(fail).catch(() => {});
    expect(quiet.stats()).toMatchObject({ requests: 4, accepts: 0, rejectionProbability: 0 });
    await quiet.execute(fail).catch(() => {});
    expect(quiet.stats().rejectionProbability).toBeCloseTo(5 / 6, 12);
    const picky = adaptiveThrottle({ clock, isFailure: (e) => (e as Error).message === '503' });
    await picky.execute(() => Promise.reject(new Error('404'))).catch(() => {});
    await picky.execute(fail).catch(() => {});
    expect(picky.stats()).toMatchObject({ requests: 2, accepts: 1 });
  });

  it('refuses with DISPOSED after dispose()', async () => {
    const t = adaptiveThrottle();
    t.dispose();
    await expect(t.execute(ok)).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(t.stats()).toMatchObject({ disposed: true, rejectedBy: { DISPOSED: 1 } });
  });
});

policyContract('adaptiveThrottle', (clock) => adaptiveThrottle({ clock }));
