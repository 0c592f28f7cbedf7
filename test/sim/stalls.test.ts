import { describe, expect, it } from 'vitest';
import { SimClock, deterministic, simulate } from '../../src/sim/index.js';

describe('SimClock stalls', () => {
  it('holds back the caller’s events during a stall and runs them at its end, in order; remote events run on time', async () => {
    const c = new SimClock();
    c.stall(100, 50);
    const log: string[] = [];
    c.schedule(90, () => log.push(`a@${c.now()}`));
    c.schedule(120, () => log.push(`b@${c.now()}`));
    c.setTimeout(() => log.push(`timer@${c.now()}`), 110);
    c.scheduleRemote(130, () => log.push(`remote@${c.now()}`));
    c.schedule(160, () => log.push(`c@${c.now()}`));
    await c.run(1000);
    expect(log).toEqual(['a@90', 'remote@130', 'b@150', 'timer@150', 'c@160']);
  });

  it('validates stalls', () => {
    const c = new SimClock();
    expect(() => c.stall(Number.NaN, 1)).toThrow(RangeError);
    expect(() => c.stall(0, -1)).toThrow(RangeError);
  });

  it('scheduleInOrder keeps the total order (time, then scheduling) with heap events, and cancels', async () => {
    const c = new SimClock();
    const log: string[] = [];
    c.scheduleInOrder(50, () => log.push('lane50'));
    c.schedule(50, () => log.push('heap50'));
    const h = c.scheduleInOrder(60, () => log.push('cancelled'));
    c.scheduleInOrder(55, () => log.push('late55')); // before the lane's last: goes to the heap
    c.schedule(10, () => log.push('heap10'));
    c.clearTimeout(h);
    await c.run(100);
    expect(log).toEqual(['heap10', 'lane50', 'heap50', 'late55']);
    expect(c.pendingTimers()).toBe(0);
  });
});

describe('simulate({ stalls })', () => {
  it('a stall delays the answers of calls in flight (the downstream keeps working) and queues arrivals into a burst', async () => {
    const base = { seed: 1, durationMs: 2000, deadlineMs: 10_000, downstream: { workers: 100, service: deterministic(20) }, load: { perSecond: 200 } } as const;
    const calm = await simulate(base);
    const stalled = await simulate({ ...base, stalls: [{ atMs: 1000, durationMs: 300 }] });
    // The same requests arrive and are all served; during the stall nothing completes, then the backlog at once.
    expect(stalled.summary.arrivals).toBe(calm.summary.arrivals);
    expect(stalled.summary.successes).toBe(calm.summary.successes);
    expect(calm.summary.latency.max).toBeLessThan(25);
    expect(stalled.summary.latency.max).toBeGreaterThan(250);
    const during = stalled.window(1000, 1250);
    expect(during.successes).toBe(0);
  });

  it('validates the option', async () => {
    await expect(simulate({ durationMs: 10, load: { perSecond: 1 }, stalls: {} as never })).rejects.toThrow(/stalls/);
    await expect(simulate({ durationMs: 10, load: { perSecond: 1 }, stalls: [{ atMs: 0, durationMs: -1 }] })).rejects.toThrow(/durationMs/);
    await expect(simulate({ durationMs: 10, load: { perSecond: 1 }, stalls: [{ atMs: 0, length: 1 } as never] })).rejects.toThrow(/length/);
  });
});
