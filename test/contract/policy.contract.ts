/**
 * The contract every Policy must pass, whatever it does: pass results and errors through, honour abort before
 * start, hand `fn` a context, reject malformed input (and unknown option names) clearly, never throw synchronously
 * whatever `fn` returns, leave no timer behind, and dispose with the semantics of `Policy.dispose`.
 */
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/policy.js';
import { isRejectedError } from '../../src/core/errors.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

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

    it('dispose() refuses later calls with DISPOSED without calling fn, leaves no timer, is idempotent', async () => {
      const clock = new ManualClock();
      const policy = make(clock);
      await expect(policy.execute(() => 'before')).resolves.toBe('before');
      policy.dispose();
      let called = 0;
      const e = await policy.execute(() => ++called).catch((x: unknown) => x);
      expect(isRejectedError(e) && e.code).toBe('DISPOSED');
      expect(called).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
      policy.dispose();
      policy[Symbol.dispose]();
    });

    it('[Symbol.dispose] disposes, for `using`', async () => {
      const policy = make(new ManualClock());
      policy[Symbol.dispose]();
      await expect(policy.execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
    });

    it('dispose() while a call runs: the call still settles and no timer is left', async () => {
      const clock = new ManualClock();
      const policy = make(clock);
      let finish: (v: string) => void = () => {};
      const running = policy.execute(() => new Promise<string>((r) => (finish = r))).then(
        (v) => `ok:${v}`,
        (e: unknown) => `err:${(e as { code?: string }).code ?? String(e)}`,
      );
      await flushMicrotasks();
      policy.dispose();
      finish('late');
      await clock.advance(60_000);
      // Either the policy let it run to the end, or it rejected what waited on it with a DisposedError.
      expect(['ok:late', 'err:DISPOSED']).toContain(await running);
      expect(clock.pendingTimers()).toBe(0);
    });

    it('regression: an unknown per-call option is a TypeError naming it and the closest known one', async () => {
      const policy = make(new ManualClock());
      let called = 0;
      const e = await policy.execute(() => ++called, { timeout: 1000 } as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/"timeout".*did you mean "timeoutMs"/);
      expect(called).toBe(0);
    });

    it('never throws synchronously, whatever fn returns (a then getter that throws, a revoked Proxy)', async () => {
      const policy = make(new ManualClock());
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const getter = Object.defineProperty({}, 'then', { get: () => { throw new Error('then getter'); } });
      for (const hostile of [getter, proxy]) {
        let out: Promise<unknown> | undefined;
        expect(() => (out = policy.execute(() => hostile as never))).not.toThrow();
        await expect(out).rejects.toBeDefined();
      }
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
