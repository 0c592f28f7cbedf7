import { describe, expect, it } from 'vitest';
import { bulkhead, isRejectedError, pipeline, timeout } from '../../src/index.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

describe('timeout dispose()', () => {
  it('rejects every running call with a DisposedError, aborts its signal with it, clears the timer, refuses later calls', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1000, clock });
    const signals: AbortSignal[] = [];
    const running = [0, 1].map(() =>
      t.execute(({ signal }) => {
        signals.push(signal);
        return new Promise(() => {});
      }).catch((e: unknown) => e),
    );
    await flushMicrotasks();
    expect(clock.pendingTimers()).toBe(1);
    t.dispose();
    const outcomes = await Promise.all(running);
    expect(outcomes.map((e) => isRejectedError(e) && e.code)).toEqual(['DISPOSED', 'DISPOSED']);
    expect(signals.map((s) => s.aborted && outcomes.includes(s.reason))).toEqual([true, true]);
    expect(clock.pendingTimers()).toBe(0);
    expect(t.stats()).toMatchObject({ pending: 0, disposed: true });
    let called = 0;
    await expect(t.execute(() => ++called)).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(called).toBe(0);
    expect(t.stats().rejected).toBe(1);
  });

  it('dispose(reason) rejects running calls with that reason, also on the fused path (the outer bulkhead releases)', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 1, clock });
    const t = timeout({ timeoutMs: 1000, clock });
    const p = pipeline(pool, t);
    const running = p.execute(() => new Promise(() => {}));
    await flushMicrotasks();
    expect(pool.stats().inflight).toBe(1);
    const reason = new Error('shutting down');
    t.dispose(reason);
    await expect(running).rejects.toBe(reason);
    expect(pool.stats().inflight).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('emits dispose with the number of running calls it rejected', async () => {
    const clock = new ManualClock();
    const t = timeout({ timeoutMs: 1000, clock });
    const heard: unknown[] = [];
    t.events.on('dispose', (e) => heard.push(e));
    const running = t.execute(() => new Promise(() => {})).catch(() => {});
    await flushMicrotasks();
    t.dispose();
    t.dispose();
    await running;
    expect(heard).toEqual([{ policy: t.name, rejectedWaiters: 1 }]);
  });
});

describe('unknown option names', () => {
  it('regression: timeout({ timeoutMS }) is a TypeError naming the key and suggesting "timeoutMs"', () => {
    expect(() => timeout({ timeoutMS: 10 } as never)).toThrow(/timeout: unknown option "timeoutMS" \(did you mean "timeoutMs"\?\)/);
    expect(() => timeout({ timeoutMs: 10, clok: new ManualClock() } as never)).toThrow(/did you mean "clock"/);
  });

});
