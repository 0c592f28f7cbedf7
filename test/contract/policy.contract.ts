/**
 * The contract every Policy must pass, whatever it does: pass results and errors through, honour abort before
 * start, hand `fn` a context, reject malformed input clearly, and leave no timer behind.
 */
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/policy.js';
import { ManualClock } from '../../src/testing/index.js';

export type PolicyFactory = (clock: ManualClock) => Policy;

export function policyContract(name: string, make: PolicyFactory): void {
  describe(`${name} — Policy contract`, () => {
    it('passes the result of fn through', async () => {
      const policy = make(new ManualClock());
      await expect(policy.execute(() => 42)).resolves.toBe(42);
      await expect(policy.execute(async () => 'x')).resolves.toBe('x');
    });

    it('passes the error of fn through unchanged', async () => {
      const policy = make(new ManualClock());
      const boom = new Error('boom');
      await expect(policy.execute(() => { throw boom; })).rejects.toBe(boom);
      await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    });

    it('abort before start never calls fn and rejects with signal.reason', async () => {
      const policy = make(new ManualClock());
      const ac = new AbortController();
      const reason = new Error('gone');
      ac.abort(reason);
      let called = 0;
      await expect(policy.execute(() => ++called, { signal: ac.signal })).rejects.toBe(reason);
      expect(called).toBe(0);
    });

    it('gives fn a context with signal, attempt, deadline, priority, tenant and cost', async () => {
      const clock = new ManualClock(100);
      const policy = make(clock);
      const ctx = await policy.execute((c) => c, { deadline: 10_000, priority: 3, tenant: 't1', cost: 1 });
      expect(ctx.signal).toBeDefined();
      expect(ctx.signal.aborted).toBe(false);
      expect(ctx.attempt).toBeGreaterThanOrEqual(1);
      expect(ctx.deadline).toBeLessThanOrEqual(10_000);
      expect(ctx.priority).toBe(3);
      expect(ctx.tenant).toBe('t1');
      expect(ctx.cost).toBe(1);
    });

    it('timeoutMs becomes a deadline on the policy clock', async () => {
      const clock = new ManualClock(500);
      const policy = make(clock);
      const ctx = await policy.execute((c) => c, { timeoutMs: 250 });
      expect(ctx.deadline).toBeLessThanOrEqual(750);
    });

    it('rejects a non-function and malformed options with a TypeError/RangeError', async () => {
      const policy = make(new ManualClock());
      await expect(policy.execute(undefined as unknown as () => number)).rejects.toBeInstanceOf(TypeError);
      await expect(policy.execute(() => 1, { timeoutMs: -5 })).rejects.toBeInstanceOf(RangeError);
      await expect(policy.execute(() => 1, 'fast' as never)).rejects.toBeInstanceOf(TypeError);
    });

    it('leaves no timer armed after calls settle', async () => {
      const clock = new ManualClock();
      const policy = make(clock);
      await policy.execute(() => 1);
      await policy.execute(() => 2, { timeoutMs: 1000 });
      await policy.execute(() => Promise.reject(new Error('x'))).catch(() => {});
      expect(clock.pendingTimers()).toBe(0);
    });
  });
}
