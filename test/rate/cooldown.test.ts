import { describe, expect, it } from 'vitest';
import { cooldown, tokenBucket, adaptiveLimiter } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('cooldown()', () => {
  it('is open until closed; then refuses calls without a deadline with the time left', async () => {
    const clock = new ManualClock();
    const gate = cooldown({ clock });
    await expect(gate.execute(() => 1)).resolves.toBe(1);
    gate.closeUntil(clock.now() + 2000);
    expect(gate.closed).toBe(true);
    const e = await gate.execute(() => 1).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 2000 });
    await clock.advance(2000);
    expect(gate.closed).toBe(false);
    await expect(gate.execute(() => 2)).resolves.toBe(2);
  });

  it('holds calls whose deadline reaches past the opening, refuses the others at once', async () => {
    const clock = new ManualClock();
    const gate = cooldown({ clock });
    gate.closeUntil(1000);
    const patient = gate.execute(() => 'in', { timeoutMs: 5000 });
    const hasty = await gate.execute(() => 'in', { timeoutMs: 500 }).catch((x: unknown) => x);
    expect(hasty).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryAfterMs: 1000 });
    expect(gate.stats().queued).toBe(1);
    await clock.advance(1000);
    await expect(patient).resolves.toBe('in');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('keeps the later of two closures, cuts a pause to maxPauseMs, and opens on demand', async () => {
    const clock = new ManualClock();
    const gate = cooldown({ clock, maxPauseMs: 10_000, maxWaitMs: Infinity });
    gate.closeUntil(5000);
    gate.closeUntil(3000);
    expect(gate.stats().closedUntil).toBe(5000);
    gate.closeUntil(1e12);
    expect(gate.stats().closedUntil).toBe(10_000);
    const waiting = gate.execute(() => 'x');
    gate.open();
    await expect(waiting).resolves.toBe('x');
  });

  it('validates its options', () => {
    expect(() => cooldown({ maxWaitMs: -1 })).toThrow(/maxWaitMs/);
    expect(() => cooldown({ maxPauseMs: 0 })).toThrow(/maxPauseMs/);
    expect(() => cooldown({ wait: true } as never)).toThrow(/unknown option/);
    expect(() => cooldown().closeUntil(NaN)).toThrow(RangeError);
  });
});

describe('tokenBucket.configure({ tokens })', () => {
  it('sets the tokens available now, within the capacity', async () => {
    const clock = new ManualClock();
    const b = tokenBucket({ capacity: 10, refillPerSecond: 1, clock });
    b.configure({ tokens: 2 });
    expect(b.stats().tokens).toBe(2);
    b.configure({ capacity: 1, refillPerSecond: 0.5, tokens: 0 });
    expect(b.tryAcquire().ok).toBe(false);
    expect(() => b.configure({ tokens: 5 })).toThrow(/tokens/);
  });
});

describe('adaptiveLimiter.scaleLimit()', () => {
  it('scales the enforced limit, and restoring it admits the waiters that fit', async () => {
    const clock = new ManualClock();
    const l = adaptiveLimiter({ clock, maxQueue: 10 });
    const limit = l.stats().limit;
    l.scaleLimit(0.1);
    expect(l.stats().effectiveLimit).toBe(Math.max(1, Math.floor(limit * 0.1)));
    const held: (() => void)[] = [];
    const runs = Array.from({ length: 4 }, () => l.execute(() => new Promise<void>((r) => held.push(r))));
    await Promise.resolve();
    expect(l.stats().inflight).toBe(2);
    l.scaleLimit(1);
    await Promise.resolve();
    expect(l.stats().inflight).toBe(4);
    for (const r of held) r();
    await Promise.all(runs);
    expect(() => l.scaleLimit(0)).toThrow(RangeError);
    expect(() => l.scaleLimit(1.5)).toThrow(RangeError);
  });
});
