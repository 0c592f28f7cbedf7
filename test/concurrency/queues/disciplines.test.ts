import { describe, expect, it } from 'vitest';
import { codelQueue, fairQueue, lifoQueue, priorityQueue, type QueueDiscipline } from '../../../src/concurrency/queues/index.js';
import { node, type TestNode } from './nodes.js';

const q = <T extends QueueDiscipline>(d: T) => d as unknown as QueueDiscipline<TestNode>;
const drainOrder = (d: QueueDiscipline<TestNode>, now = 0): number[] => {
  const out: number[] = [];
  for (let w = d.peek(now); w !== undefined; w = d.peek(now)) {
    expect(d.dequeue(now)).toBe(w); // peek then dequeue agree
    out.push(w.id);
  }
  return out;
};

describe('lifoQueue', () => {
  it('admits the newest first; when full its victim and evictable waiter is the oldest', () => {
    const d = q(lifoQueue());
    const [a, b, c] = [node(), node(), node()];
    for (const w of [a, b, c]) d.enqueue(w!, 0);
    expect(d.victim(node(), 0)).toBe(a);
    expect(d.evictable!(0)).toBe(a);
    expect(d.costAhead!(0)).toBe(0);
    expect(d.remove(b!)).toBe(true);
    expect(d.remove(b!)).toBe(false);
    expect(drainOrder(d)).toEqual([c!.id, a!.id]);
    expect(d.size).toBe(0);
  });
});

describe('priorityQueue', () => {
  it('admits the highest priority first and is FIFO within a level', () => {
    const d = q(priorityQueue());
    const ws = [node({ priority: -100 }), node({ priority: 200 }), node(), node({ priority: 200 }), node({ priority: 150 }), node({ priority: -100 })];
    for (const w of ws) d.enqueue(w, 0);
    expect(drainOrder(d)).toEqual([1, 3, 4, 2, 0, 5].map((i) => ws[i]!.id));
  });

  it('sheds the lowest-priority newest waiter only for a strictly more important newcomer', () => {
    const d = q(priorityQueue());
    const low1 = node({ priority: -200 });
    const low2 = node({ priority: -200 });
    const mid = node();
    for (const w of [low1, low2, mid]) d.enqueue(w, 0);
    expect(d.victim(node({ priority: -200 }), 0)).toBeUndefined();
    expect(d.victim(node({ priority: -300 }), 0)).toBeUndefined();
    expect(d.victim(node({ priority: -199 }), 0)).toBe(low2);
    expect(d.evictable!(0)).toBe(low2);
    expect(d.costAhead!(0)).toBe(1);
    expect(d.costAhead!(-200)).toBe(3);
  });

  it('drops a level when its last waiter leaves, however it leaves', () => {
    const d = priorityQueue() as unknown as { levelCount: number } & QueueDiscipline<TestNode>;
    const a = node({ priority: 1 });
    const b = node({ priority: 2 });
    d.enqueue(a, 0);
    d.enqueue(b, 0);
    expect(d.levelCount).toBe(2);
    d.remove(a);
    expect(d.levelCount).toBe(1);
    d.dequeue(0);
    expect([d.levelCount, d.size]).toEqual([0, 0]);
  });

  it('is strict without aging: a low waiter starves while higher ones keep arriving', () => {
    const d = q(priorityQueue());
    const low = node({ priority: -200, at: 0 });
    d.enqueue(low, 0);
    for (let t = 1; t <= 100; t++) {
      d.enqueue(node({ priority: 200, at: t }), t);
      expect(d.dequeue(t)).not.toBe(low);
    }
  });

  it('with agingMs, a waiter that has waited that long goes before fresher ones of any priority, oldest first, never before', () => {
    const d = q(priorityQueue({ agingMs: 50 }));
    const low = node({ priority: -200, at: 0 });
    const low2 = node({ priority: -200, at: 5 });
    d.enqueue(low, 0);
    d.enqueue(low2, 5);
    for (let t = 10; t < 50; t += 10) {
      d.enqueue(node({ priority: 200, at: t }), t);
      expect(d.dequeue(t)?.priority).toBe(200); // not aged yet
    }
    d.enqueue(node({ priority: 200, at: 50 }), 50);
    expect(d.dequeue(50)).toBe(low);
    expect(d.dequeue(54)?.priority).toBe(200); // low2 has waited 49 ms
    d.enqueue(node({ priority: 200, at: 55 }), 55);
    expect(d.dequeue(55)).toBe(low2);
  });

  it('nests other disciplines as levels (LIFO levels here), finding each waiter by its priority', () => {
    const d = q(priorityQueue({ lane: () => lifoQueue() }));
    const ws = [node({ priority: 1 }), node({ priority: 1 }), node({ priority: 2 }), node({ priority: 2 })];
    for (const w of ws) d.enqueue(w, 0);
    expect(d.victim(node({ priority: 2 }), 0)).toBe(ws[0]); // the lowest level's evictable: LIFO's oldest
    expect(d.remove(ws[1]!)).toBe(true);
    expect(drainOrder(d)).toEqual([ws[3]!.id, ws[2]!.id, ws[0]!.id]);
  });

  it('with fair levels, tenants share a level in turn and critical goes first', () => {
    const d = q(priorityQueue({ lane: () => fairQueue() }));
    const ws = [
      node({ tenant: 'a' }), node({ tenant: 'a' }), node({ tenant: 'a' }), node({ tenant: 'b' }),
      node({ tenant: 'b', priority: 200 }),
    ];
    for (const w of ws) d.enqueue(w, 0);
    expect(drainOrder(d)).toEqual([ws[4]!.id, ws[0]!.id, ws[3]!.id, ws[1]!.id, ws[2]!.id]);
  });

  it('refuses bad options and a lane factory that does not build a fresh discipline', () => {
    expect(() => priorityQueue({ agingMs: -1 })).toThrow(RangeError);
    expect(() => priorityQueue({ aging: 5 } as never)).toThrow(/did you mean "agingMs"/);
    expect(() => priorityQueue({ lane: 3 as never })).toThrow(TypeError);
    const d = q(priorityQueue({ lane: () => ({}) as never }));
    expect(() => d.enqueue(node(), 0)).toThrow(/option "lane" must return a fresh, empty queue discipline/);
  });
});

describe('fairQueue', () => {
  it('serves backlogged tenants in turn', () => {
    const d = q(fairQueue());
    const a = [0, 1, 2].map(() => node({ tenant: 'a' }));
    const b = [0, 1].map(() => node({ tenant: 'b' }));
    for (const w of [...a, ...b]) d.enqueue(w, 0);
    expect(drainOrder(d)).toEqual([a[0], b[0], a[1], b[1], a[2]].map((w) => w!.id));
  });

  it('shares in proportion to weights and counts cost', () => {
    const d = q(fairQueue({ weights: { gold: 2 } }));
    for (let i = 0; i < 60; i++) d.enqueue(node({ tenant: 'gold' }), 0);
    for (let i = 0; i < 60; i++) d.enqueue(node({ tenant: 'plain' }), 0);
    for (let i = 0; i < 30; i++) d.enqueue(node({ tenant: 'heavy', cost: 2 }), 0);
    const served = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const w = d.dequeue(0)!;
      served.set(w.tenant!, (served.get(w.tenant!) ?? 0) + w.cost);
    }
    // Units served: gold 2 : plain 1 : heavy 1 (heavy's calls cost 2, so it gets half as many calls).
    expect(served.get('gold')! / served.get('plain')!).toBeCloseTo(2, 0);
    expect(Math.abs(served.get('heavy')! - served.get('plain')!)).toBeLessThanOrEqual(2);
  });

  it('keeps no credit for an idle tenant, and remove() charges nobody', () => {
    const d = q(fairQueue());
    const a1 = node({ tenant: 'a' });
    d.enqueue(a1, 0);
    expect(d.remove(a1)).toBe(true);
    expect(d.remove(a1)).toBe(false);
    const ws = [node({ tenant: 'b' }), node({ tenant: 'a' }), node({ tenant: 'b' })];
    for (const w of ws) d.enqueue(w, 0);
    expect(drainOrder(d)).toEqual([ws[0]!.id, ws[1]!.id, ws[2]!.id]);
  });

  it('bounds tenant lanes at maxTenants: further tenants share one overflow lane', () => {
    const d = fairQueue({ maxTenants: 3 }) as unknown as { tenants: number; sizeOf(t: string): number } & QueueDiscipline<TestNode>;
    for (let i = 0; i < 100; i++) d.enqueue(node({ tenant: `t${i}` }), 0);
    expect(d.tenants).toBe(4);
    expect(d.sizeOf('t0')).toBe(1);
    expect(d.sizeOf('t50')).toBe(0); // in the overflow lane
    expect(d.size).toBe(100);
    expect(drainOrder(d)).toHaveLength(100);
    expect(d.tenants).toBe(0);
  });

  it('when full, sheds the heaviest tenant\'s newest waiter for a lighter tenant, never the reverse', () => {
    const d = q(fairQueue());
    const flood = [0, 1, 2, 3].map(() => node({ tenant: 'flood' }));
    for (const w of flood) d.enqueue(w, 0);
    d.enqueue(node({ tenant: 'light' }), 0);
    expect(d.victim(node({ tenant: 'light' }), 0)).toBe(flood[3]);
    expect(d.victim(node({ tenant: 'new' }), 0)).toBe(flood[3]);
    expect(d.victim(node({ tenant: 'flood' }), 0)).toBeUndefined();
    expect(d.evictable!(0)).toBe(flood[3]);
  });

  it('validates its options', () => {
    expect(() => fairQueue({ maxTenants: 0 })).toThrow(RangeError);
    expect(() => fairQueue({ weights: { a: 0 } })).toThrow(/weights.a/);
    expect(() => fairQueue({ weights: { a: 1e-9 } })).toThrow(/ratio/);
    expect(() => fairQueue({ weight: {} } as never)).toThrow(/did you mean "weights"/);
  });
});

describe('codelQueue', () => {
  it('is FIFO while waiters leave within the target', () => {
    const d = q(codelQueue());
    const ws = [0, 1, 2].map((i) => node({ at: i }));
    ws.forEach((w, i) => d.enqueue(w, i));
    expect(drainOrder(d, 3)).toEqual(ws.map((w) => w.id));
    expect(d.shed!(1000)).toBeUndefined();
  });

  it('goes LIFO and sheds waiters older than maxDelayMs once the interval minimum exceeds the target, and back to FIFO when drained', () => {
    const d = codelQueue({ targetMs: 5, intervalMs: 100 }) as unknown as { overloaded: boolean } & QueueDiscipline<TestNode>;
    const old = node({ at: 0 });
    d.enqueue(old, 0);
    expect(d.nextShedAt!(0)).toBe(100); // the interval's end
    for (let t = 10; t <= 90; t += 10) d.enqueue(node({ at: t }), t);
    expect(d.shed!(99)).toBeUndefined();
    // At the interval's end nobody has left and the oldest has waited 100 ms: a standing queue.
    const newest = d.peek(100);
    expect(d.overloaded).toBe(true);
    expect(newest?.enqueuedAt).toBe(90);
    expect(d.victim(node(), 100)).toBe(old);
    expect(d.shed!(100)).toBe(old); // waited 100 ms = maxDelayMs
    expect(d.shed!(100)).toBeUndefined();
    expect(d.nextShedAt!(100)).toBe(110);
    while (d.size > 0) d.dequeue(101);
    expect(d.overloaded).toBe(false);
    const a = node({ at: 200 });
    const b = node({ at: 200 });
    d.enqueue(a, 200);
    d.enqueue(b, 200);
    expect(d.peek(200)).toBe(a);
  });

  it('validates its options', () => {
    expect(() => codelQueue({ targetMs: 0 })).toThrow(RangeError);
    expect(() => codelQueue({ intervalMs: Infinity })).toThrow(RangeError);
    expect(() => codelQueue({ target: 5 } as never)).toThrow(/did you mean "targetMs"/);
  });
});
