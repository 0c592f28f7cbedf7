/**
 * The bulkhead with its queue disciplines: who is admitted next, who is shed and with what error, cost, the
 * measured service rate behind retry hints and up-front refusals, CoDel's timer, per-class and per-tenant gauges,
 * user disciplines and the checks on the `queue` option.
 */
import { describe, expect, it } from 'vitest';
import { bulkhead, type Bulkhead } from '../../src/concurrency/bulkhead.js';
import { codelQueue, fairQueue, fifoQueue, priorityQueue, type QueueDiscipline, type QueuedCall } from '../../src/concurrency/queues/index.js';
import { MAX_TENANT_LABELS, OTHER_TENANTS } from '../../src/concurrency/queue-gauges.js';
import { ShedError, isRejectedError } from '../../src/core/errors.js';
import type { Permit } from '../../src/core/permit.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

/** Takes every unit of `b`'s limit; returns the permits. */
function fill(b: Bulkhead, units: number): Permit[] {
  const permits: Permit[] = [];
  for (let i = 0; i < units; i++) {
    const r = b.tryAcquire();
    if (!r.ok) throw new Error('expected a free unit');
    permits.push(r.permit);
  }
  return permits;
}

/** Records the order in which queued acquires are admitted, and how the others ended. */
function tracker() {
  const order: string[] = [];
  const errors = new Map<string, unknown>();
  const track = (label: string, p: Promise<Permit>, hold = false): void => {
    p.then(
      (permit) => {
        order.push(label);
        if (!hold) permit.release();
      },
      (e: unknown) => errors.set(label, e),
    );
  };
  return { order, errors, track };
}

describe('bulkhead queue disciplines', () => {
  it("queue: 'priority' admits the highest priority first, FIFO within a level", async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 1, maxQueue: 10, queue: 'priority', clock });
    const [held] = fill(b, 1);
    const { order, track } = tracker();
    track('low-1', b.acquire({ priority: 'low' }));
    track('crit-1', b.acquire({ priority: 'critical' }));
    track('default-1', b.acquire());
    track('crit-2', b.acquire({ priority: 200 }));
    track('low-2', b.acquire({ priority: -100 }));
    held!.release();
    await flushMicrotasks();
    expect(order).toEqual(['crit-1', 'crit-2', 'default-1', 'low-1', 'low-2']);
  });

  it('a full priority queue sheds its lowest-priority, newest waiter for a more important newcomer (SHED, naming who displaced it)', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ name: 'db', limit: 1, maxQueue: 3, queue: 'priority', clock });
    const [held] = fill(b, 1);
    const { order, errors, track } = tracker();
    track('shed-1', b.acquire({ priority: 'sheddable' }));
    track('shed-2', b.acquire({ priority: 'sheddable' }));
    track('default', b.acquire());
    // Full. An equal-priority newcomer is refused; a more important one displaces shed-2 (the newest of the lowest).
    await expect(b.acquire({ priority: 'sheddable' })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    track('critical', b.acquire({ priority: 'critical', tenant: 'checkout' }));
    await flushMicrotasks();
    const e = errors.get('shed-2');
    expect(e).toBeInstanceOf(ShedError);
    expect(isRejectedError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'SHED', policy: 'db', trigger: 'displaced', displacedBy: { priority: 200, tenant: 'checkout' } });
    expect((e as Error).message).toBe('db: shed: displaced from a full queue by a call of priority 200 from tenant "checkout"');
    expect(b.stats()).toMatchObject({ queued: 3, shedBy: { displaced: 1, 'queue-delay': 0 }, rejectedBy: { SHED: 1, QUEUE_FULL: 1 } });
    held!.release();
    await flushMicrotasks();
    expect(order).toEqual(['critical', 'default', 'shed-1']);
  });

  it("queue: 'lifo' admits the newest first and, when full, sheds the oldest for the newcomer", async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 1, maxQueue: 2, queue: 'lifo', clock });
    const [held] = fill(b, 1);
    const { order, errors, track } = tracker();
    track('a', b.acquire());
    track('b', b.acquire());
    track('c', b.acquire()); // full: a (the oldest) is shed
    await flushMicrotasks();
    expect(errors.get('a')).toMatchObject({ code: 'SHED', trigger: 'displaced' });
    held!.release();
    await flushMicrotasks();
    expect(order).toEqual(['c', 'b']);
  });

  it('a fair queue shares the limit between a flooding tenant and a light one (DRR through the bulkhead)', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 1, maxQueue: 1000, queue: 'fair', clock });
    const served: string[] = [];
    // The flood queues 50 calls, the light tenant 5; each call runs 1 ms.
    const run = (tenant: string) => b.execute(async () => {
      served.push(tenant);
      await new Promise<void>((r) => clock.setTimeout(r, 1));
    }, { tenant });
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) all.push(run('flood'));
    for (let i = 0; i < 5; i++) all.push(run('light'));
    await clock.runAll();
    await Promise.all(all);
    // The light tenant's 5 calls are all served among the first 11 (alternating with the flood), not after 50.
    const lastLight = served.lastIndexOf('light');
    expect(lastLight).toBeLessThanOrEqual(11);
    expect(served.filter((t) => t === 'light')).toHaveLength(5);
  });

  it("queue: 'codel' sheds waiters that queued longer than the interval under a standing queue, on the bulkhead's one timer", async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 1, maxQueue: 1000, queue: codelQueue({ targetMs: 5, intervalMs: 100 }), clock });
    const shed: unknown[] = [];
    const done: number[] = [];
    // Each call runs 20 ms; one arrives every 10 ms: a standing queue grows, well past the 5 ms target.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      calls.push(
        b
          .execute(() => new Promise<void>((r) => clock.setTimeout(r, 20)))
          .then(() => done.push(i), (e: unknown) => shed.push(e)),
      );
      await clock.advance(10);
    }
    await clock.runAll();
    await Promise.all(calls);
    expect(shed.length).toBeGreaterThan(0);
    for (const e of shed) expect(e).toMatchObject({ code: 'SHED', trigger: 'queue-delay' });
    expect(b.stats().shedBy['queue-delay']).toBe(shed.length);
    expect(done.length + shed.length).toBe(100);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('CoDel never sheds while the queue drains within its target', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 2, maxQueue: 1000, queue: 'codel', clock });
    // Bursts of 3 calls of 2 ms every 50 ms: one waits at most 2 ms (< 5 ms target).
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 3; i++) calls.push(b.execute(() => new Promise<void>((r) => clock.setTimeout(r, 2))));
      await clock.advance(50);
    }
    await clock.runAll();
    await Promise.all(calls);
    expect(b.stats()).toMatchObject({ admitted: 120, rejected: 0, shedBy: { displaced: 0, 'queue-delay': 0 } });
  });
});

describe('bulkhead cost, service rate and deadlines', () => {
  it('a waiter whose cost does not fit yet is not overtaken by cheaper ones behind it', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 3, maxQueue: 10, clock });
    const held = fill(b, 3);
    const { order, track } = tracker();
    track('big', b.acquire({ cost: 3 }), true);
    track('small', b.acquire({ cost: 1 }), true);
    held[0]!.release();
    held[1]!.release();
    await flushMicrotasks();
    expect(order).toEqual([]); // 2 free: big needs 3, small waits behind it
    held[2]!.release();
    await flushMicrotasks();
    expect(order).toEqual(['big']);
    expect(b.stats().inflight).toBe(3);
  });

  it('lowering the limit below a waiter\'s cost refuses it when it reaches the head (CONCURRENCY_LIMITED, no retry hint)', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 4, maxQueue: 10, clock });
    const held = fill(b, 4);
    const big = b.acquire({ cost: 4 });
    const small = b.acquire({ cost: 1 });
    b.configure({ limit: 2 });
    for (const p of held) p.release();
    await expect(big).rejects.toMatchObject({ code: 'CONCURRENCY_LIMITED', retryAfterMs: Infinity });
    const s = await small;
    expect(b.stats().inflight).toBe(1);
    s.release();
  });

  it('retryAfterMs is the wait estimated from the measured service rate (0 before anything was measured)', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 2, clock });
    // Nothing measured yet: no hint rather than a wrong one.
    fill(b, 2).forEach((p) => p.release());
    const first = fill(b, 2);
    expect(b.tryAcquire()).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED', retryAfterMs: 0 });
    // Saturated: completions every 10 ms (two units, 20 ms each, staggered), refilled at once.
    let permits = first;
    for (let i = 0; i < 30; i++) {
      await clock.advance(10);
      permits[0]!.release();
      permits = [permits[1]!, ...fill(b, 1)];
    }
    expect(b.stats().msPerUnit).toBeCloseTo(10, 5);
    const r = b.tryAcquire();
    expect(r).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
    if (!r.ok) expect(r.retryAfterMs).toBeCloseTo(10, 5); // one unit to free: one completion away
    for (const p of permits) p.release();
  });

  it('refuses at once a call whose deadline cannot be met by the estimated wait behind those queued, and one whose wait would exceed maxWaitMs', async () => {
    const clock = new ManualClock();
    const b = bulkhead({ limit: 1, maxQueue: 100, maxWaitMs: 1000, clock });
    // Measure: one completion every 10 ms while saturated.
    let permit = fill(b, 1)[0]!;
    for (let i = 0; i < 30; i++) {
      await clock.advance(10);
      permit.release();
      permit = fill(b, 1)[0]!;
    }
    const queued = Array.from({ length: 5 }, () => b.acquire());
    // 5 units ahead + its own = about 60 ms: a deadline 30 ms away cannot be met.
    const t0 = clock.now();
    await expect(b.acquire({ deadline: t0 + 30 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await expect(b.acquire({ deadline: t0 + 30 })).rejects.toSatisfy((e: { retryAfterMs: number }) => Math.abs(e.retryAfterMs - 60) < 1e-6);
    const ok = b.acquire({ deadline: t0 + 500 });
    expect(b.stats().queued).toBe(6);
    const tight = bulkhead({ limit: 1, maxQueue: 100, maxWaitMs: 5, clock });
    let p2 = fill(tight, 1)[0]!;
    for (let i = 0; i < 30; i++) {
      await clock.advance(10);
      p2.release();
      p2 = fill(tight, 1)[0]!;
    }
    // Nobody queued ahead: the next release may come at any instant, so the call waits (and leaves at its maxWaitMs)
    // rather than be refused on an average; with one queued ahead (about 20 ms > 5 ms) the next is refused at once.
    const first = tight.acquire();
    const firstLeaves = expect(first).rejects.toMatchObject({ code: 'MAX_WAIT_EXCEEDED' });
    expect(tight.stats().queued).toBe(1);
    const t1 = clock.now();
    await expect(tight.acquire()).rejects.toMatchObject({ code: 'MAX_WAIT_EXCEEDED' });
    expect(clock.now()).toBe(t1);
    expect(tight.stats().queued).toBe(1);
    await clock.advance(5);
    await firstLeaves;
    b.dispose();
    tight.dispose();
    await Promise.allSettled([...queued, ok]);
  });
});

describe('bulkhead queue metrics', () => {
  it('reports queue length per priority class and per tenant, with tenant labels bounded', async () => {
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    const b = bulkhead({ name: 'api', limit: 1, maxQueue: 1000, queue: 'fair', clock, metrics });
    fill(b, 1);
    const waiting: Promise<unknown>[] = [];
    waiting.push(b.acquire({ priority: 'critical', tenant: 't0' }));
    for (let i = 0; i < MAX_TENANT_LABELS + 10; i++) waiting.push(b.acquire({ tenant: `t${i}` }));
    const series = metrics.snapshot().filter((m) => m.name === 'sluice_queue_length_by_tenant');
    expect(series.length).toBe(MAX_TENANT_LABELS + 1);
    const value = (name: string, label: string, v: string) => (metrics.snapshot().find((m) => m.name === name && m.labels[label] === v) as { value?: number } | undefined)?.value;
    expect(value('sluice_queue_length_by_tenant', 'tenant', 't0')).toBe(2);
    expect(value('sluice_queue_length_by_tenant', 'tenant', OTHER_TENANTS)).toBe(10);
    expect(value('sluice_queue_length_by_priority', 'priority', 'critical')).toBe(1);
    expect(value('sluice_queue_length_by_priority', 'priority', 'default')).toBe(MAX_TENANT_LABELS + 10);
    expect(value('sluice_shed_total', 'trigger', 'displaced')).toBe(0);
    b.dispose();
    await Promise.allSettled(waiting);
    expect(value('sluice_queue_length_by_tenant', 'tenant', 't0')).toBeUndefined(); // unregistered with the policy
  });
});

describe('bulkhead queue option', () => {
  it('takes a discipline object, including a user-written one', async () => {
    class CheapestFirst<W extends QueuedCall> implements QueueDiscipline<W> {
      private items: W[] = [];
      get size() {
        return this.items.length;
      }
      enqueue(w: W) {
        this.items.push(w);
        this.items.sort((a, b) => a.cost - b.cost);
      }
      peek() {
        return this.items[0];
      }
      dequeue() {
        return this.items.shift();
      }
      remove(w: W) {
        const i = this.items.indexOf(w);
        if (i >= 0) this.items.splice(i, 1);
        return i >= 0;
      }
      victim() {
        return undefined;
      }
      drain() {
        const all = this.items;
        this.items = [];
        return all;
      }
    }
    const clock = new ManualClock();
    const b = bulkhead({ limit: 3, maxQueue: 10, queue: new CheapestFirst(), clock });
    const held = fill(b, 3);
    const { order, track } = tracker();
    track('three', b.acquire({ cost: 3 }));
    track('one', b.acquire({ cost: 1 }));
    track('two', b.acquire({ cost: 2 }));
    for (const p of held) p.release();
    await flushMicrotasks();
    expect(order).toEqual(['one', 'two', 'three']);
    expect(b.stats().discipline).toBe('CheapestFirst');
  });

  it('refuses an unknown name, an object that is not a discipline, a non-empty one, and one already serving another limiter', () => {
    expect(() => bulkhead({ limit: 1, queue: 'random' as never })).toThrow(/option "queue" must be one of "fifo", "lifo", "priority", "codel", "fair"/);
    expect(() => bulkhead({ limit: 1, queue: 3 as never })).toThrow(TypeError);
    expect(() => bulkhead({ limit: 1, queue: { size: 0 } as never })).toThrow(/missing method enqueue\(\)/);
    const shared = fifoQueue();
    bulkhead({ limit: 1, queue: shared });
    expect(() => bulkhead({ limit: 1, queue: shared })).toThrow(/already serves another limiter/);
    const used = priorityQueue();
    used.enqueue({ cost: 1, priority: 0, tenant: undefined, enqueuedAt: 0, deadline: undefined }, 0);
    expect(() => bulkhead({ limit: 1, queue: used })).toThrow(/must be an empty discipline/);
    expect(() => bulkhead({ limit: 1, queue: fairQueue({ maxTenants: 0 }) })).toThrow(RangeError);
  });

  it('dispose() rejects every waiter of every discipline and leaves no timer', async () => {
    for (const queue of ['fifo', 'lifo', 'priority', 'codel', 'fair'] as const) {
      const clock = new ManualClock();
      const b = bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 1000, queue, clock });
      fill(b, 1);
      const waiting = [b.acquire({ tenant: 'a' }), b.acquire({ tenant: 'b', priority: 'high' }), b.acquire()];
      b.dispose();
      for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'DISPOSED' });
      expect(clock.pendingTimers()).toBe(0);
      expect(b.stats()).toMatchObject({ queued: 0, rejectedBy: { DISPOSED: 3 } });
    }
  });

  it('dry-run admits every call with every discipline and counts what enforcement would refuse', async () => {
    for (const queue of ['fifo', 'lifo', 'priority', 'codel', 'fair'] as const) {
      const b = bulkhead({ limit: 1, maxQueue: 1, queue, dryRun: true, clock: new ManualClock() });
      const permits = await Promise.all([b.acquire(), b.acquire({ priority: 'critical' }), b.acquire({ tenant: 'x' })]);
      expect(b.stats()).toMatchObject({ inflight: 3, queued: 0, rejected: 0, wouldRejectBy: { QUEUE_FULL: 1 } });
      for (const p of permits) p.release();
    }
  });
});
