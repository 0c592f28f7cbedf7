/**
 * Queue discipline properties, driven directly with random operation sequences (no limiter, no clock):
 * - priority: dequeue order equals a reference model (sorted by priority, then arrival), the victim rule holds,
 *   sizes match, no empty level is kept; with aging, an aged oldest waiter is always the next one out;
 * - fair: backlogged tenants' service converges to weight-proportional shares in units of cost; tenants asking less
 *   than their max-min fair share get all they ask; lanes stay bounded under floods of distinct keys;
 * - every discipline returns every waiter exactly once (dequeue, remove, shed or drain);
 * - CoDel never sheds and never leaves FIFO while every waiter leaves within its target.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codelQueue, fairQueue, fifoQueue, lifoQueue, priorityQueue, type QueueDiscipline } from '../../../src/concurrency/queues/index.js';
import { node, type TestNode } from './nodes.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 200);
console.log(`disciplines.prop: FC_SEED=${seed} (runs: ${numRuns})`);

type Op = { kind: 'enqueue'; priority: number; tenant: string; cost: number } | { kind: 'dequeue' } | { kind: 'remove'; pick: number } | { kind: 'victim'; priority: number };

const arbOp = (priorities: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), priority: priorities, tenant: fc.constantFrom('a', 'b', 'c', 'd'), cost: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('dequeue' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('victim' as const), priority: priorities }) },
  );

const as = (d: QueueDiscipline) => d as unknown as QueueDiscipline<TestNode>;

describe('priorityQueue (property)', () => {
  it('matches a sorted reference model for any operations, priorities from a small set or any doubles', () => {
    const priorities = fc.oneof(fc.constantFrom(-200, -100, 0, 100, 200), fc.double({ min: -1e6, max: 1e6, noNaN: true }));
    fc.assert(
      fc.property(fc.array(arbOp(priorities), { maxLength: 200 }), (ops) => {
        const d = priorityQueue() as unknown as QueueDiscipline<TestNode> & { levelCount: number };
        const model: TestNode[] = []; // arrival order
        const next = () => [...model].sort((x, y) => y.priority - x.priority || x.id - y.id)[0];
        for (const op of ops) {
          if (op.kind === 'enqueue') {
            const w = node({ priority: op.priority, tenant: op.tenant, cost: op.cost });
            d.enqueue(w, 0);
            model.push(w);
          } else if (op.kind === 'dequeue') {
            const want = next();
            expect(d.peek(0)).toBe(want);
            expect(d.dequeue(0)).toBe(want);
            if (want !== undefined) model.splice(model.indexOf(want), 1);
          } else if (op.kind === 'remove') {
            if (model.length === 0) continue;
            const w = model[op.pick % model.length]!;
            expect(d.remove(w)).toBe(true);
            expect(d.remove(w)).toBe(false);
            model.splice(model.indexOf(w), 1);
          } else {
            const lowest = Math.min(...model.map((w) => w.priority));
            const want = model.length === 0 || lowest >= op.priority ? undefined : model.filter((w) => w.priority === lowest).at(-1);
            expect(d.victim(node({ priority: op.priority }), 0)).toBe(want);
          }
          expect(d.size).toBe(model.length);
          expect(d.levelCount).toBe(new Set(model.map((w) => w.priority)).size);
        }
      }),
      { seed, numRuns },
    );
  });

  it('with aging, whenever the oldest waiter has aged it is the next one out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), arbOp(fc.constantFrom(-200, 0, 200))), { maxLength: 150 }), (agingMs, steps) => {
        const d = as(priorityQueue({ agingMs }));
        const model: TestNode[] = [];
        let now = 0;
        for (const [gap, op] of steps) {
          now += gap;
          if (op.kind === 'enqueue') {
            const w = node({ priority: op.priority, at: now });
            d.enqueue(w, now);
            model.push(w);
          } else if (op.kind === 'dequeue' && model.length > 0) {
            const oldest = model[0]!;
            const want = now - oldest.enqueuedAt >= agingMs ? oldest : [...model].sort((x, y) => y.priority - x.priority || x.id - y.id)[0];
            expect(d.dequeue(now)).toBe(want);
            model.splice(model.indexOf(want!), 1);
          }
        }
      }),
      { seed, numRuns },
    );
  });
});

describe('fairQueue (property)', () => {
  it('backlogged tenants converge to weight-proportional shares of cost served', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ weight: fc.double({ min: 0.1, max: 10, noNaN: true }), cost: fc.integer({ min: 1, max: 5 }) }), { minLength: 2, maxLength: 8 }),
        (tenants) => {
          const weights = Object.fromEntries(tenants.map((t, i) => [`t${i}`, t.weight]));
          const d = as(fairQueue({ weights }));
          const served = tenants.map(() => 0);
          // Keep every tenant backlogged: refill its lane whenever it runs low.
          const queued = tenants.map(() => 0);
          const top = () => tenants.forEach((t, i) => {
            while (queued[i]! < 3) {
              d.enqueue(node({ tenant: `t${i}`, cost: t.cost }), 0);
              queued[i]!++;
            }
          });
          top();
          const totalWeight = tenants.reduce((s, t) => s + t.weight, 0);
          const rounds = 4000;
          for (let k = 0; k < rounds; k++) {
            const w = d.dequeue(0)!;
            const i = Number(w.tenant!.slice(1));
            served[i]! += w.cost;
            queued[i]!--;
            top();
          }
          const total = served.reduce((s, x) => s + x, 0);
          // DRR's quantum (weight × the largest cost, scaled so the smallest weight's still covers it): a tenant's
          // service lags or leads its ideal by at most about two quanta plus one call (a round in progress, and the
          // deficit carried over), whatever the number of admissions.
          const maxCost = Math.max(...tenants.map((t) => t.cost));
          const scale = 1 / Math.min(1, ...tenants.map((t) => t.weight));
          tenants.forEach((t, i) => {
            const ideal = (t.weight / totalWeight) * total;
            const quantum = t.weight * scale * maxCost;
            expect(Math.abs(served[i]! - ideal)).toBeLessThanOrEqual(2 * quantum + maxCost + 0.01 * total);
          });
        },
      ),
      { seed, numRuns: Math.min(numRuns, 60) },
    );
  });

  it('tenants asking less than their max-min fair share get all they ask', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 2, maxLength: 6 }), fc.integer({ min: 1, max: 1_000_000 }), (rates, rngSeed) => {
        // One admission per step; tenant i enqueues with probability rates[i] per step (a Bernoulli arrival stream).
        let s = rngSeed;
        const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const d = as(fairQueue());
        const arrived = rates.map(() => 0);
        const served = rates.map(() => 0);
        const steps = 5000;
        for (let k = 0; k < steps; k++) {
          rates.forEach((r, i) => {
            if (rand() < r) {
              d.enqueue(node({ tenant: `t${i}` }), 0);
              arrived[i]!++;
            }
          });
          const w = d.dequeue(0);
          if (w !== undefined) served[Number(w.tenant!.slice(1))]!++;
        }
        // Max-min fair shares of one admission per step, of the demand that actually arrived (a Bernoulli stream's
        // count strays from its rate by a few percent over 5000 steps, and a work-conserving queue hands what one
        // tenant did not ask for to the others).
        const fair = maxMinFair(arrived.map((a) => a / steps), 1);
        rates.forEach((r, i) => {
          if (r < fair[i]! * 0.9) expect(served[i]! / arrived[i]!).toBeGreaterThan(0.97);
          expect(served[i]! / steps).toBeLessThanOrEqual(fair[i]! + 0.03);
        });
      }),
      { seed, numRuns: Math.min(numRuns, 60) },
    );
  });

  it('keeps at most maxTenants + 1 lanes under a flood of distinct tenant keys, and none empty', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.oneof(fc.nat({ max: 5000 }), fc.constant(-1)), { maxLength: 3000 }), (maxTenants, keys) => {
        const d = fairQueue({ maxTenants }) as unknown as QueueDiscipline<TestNode> & { tenants: number };
        let size = 0;
        for (const k of keys) {
          if (k < 0) {
            if (d.dequeue(0) !== undefined) size--;
          } else {
            d.enqueue(node({ tenant: `k${k}` }), 0);
            size++;
          }
          expect(d.tenants).toBeLessThanOrEqual(Math.min(size, maxTenants + 1));
          expect(d.size).toBe(size);
        }
      }),
      { seed, numRuns: Math.min(numRuns, 50) },
    );
  });
});

describe('every discipline (property)', () => {
  const all: Record<string, () => QueueDiscipline> = {
    fifo: fifoQueue,
    lifo: lifoQueue,
    priority: priorityQueue,
    'priority+aging': () => priorityQueue({ agingMs: 20 }),
    'priority(fair lanes)': () => priorityQueue({ lane: () => fairQueue({ maxTenants: 2 }) }),
    codel: () => codelQueue({ targetMs: 2, intervalMs: 10 }),
    fair: () => fairQueue({ maxTenants: 2 }),
  };
  for (const [name, make] of Object.entries(all)) {
    it(`${name}: returns every waiter exactly once (dequeue, remove, shed, drain), with size in step`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), arbOp(fc.constantFrom(-200, 0, 200))), { maxLength: 200 }), (steps) => {
          const d = as(make());
          const inside = new Set<TestNode>();
          const out = new Set<TestNode>();
          const leave = (w: TestNode | undefined) => {
            if (w === undefined) return;
            expect(inside.has(w)).toBe(true);
            expect(out.has(w)).toBe(false);
            inside.delete(w);
            out.add(w);
          };
          let now = 0;
          for (const [gap, op] of steps) {
            now += gap;
            for (let w = d.shed?.(now); w !== undefined; w = d.shed?.(now)) leave(w);
            if (op.kind === 'enqueue') {
              const w = node({ priority: op.priority, tenant: op.tenant, cost: op.cost, at: now });
              d.enqueue(w, now);
              inside.add(w);
            } else if (op.kind === 'dequeue') {
              const p = d.peek(now);
              const w = d.dequeue(now);
              expect(w).toBe(p);
              leave(w);
            } else if (op.kind === 'remove' && inside.size > 0) {
              const w = [...inside][op.pick % inside.size]!;
              expect(d.remove(w)).toBe(true);
              leave(w);
            } else if (op.kind === 'victim') {
              const v = d.victim(node({ priority: op.priority, tenant: 'z' }), now);
              if (v !== undefined) expect(inside.has(v)).toBe(true);
            }
            expect(d.size).toBe(inside.size);
          }
          for (const w of d.drain()) leave(w);
          expect(inside.size).toBe(0);
          expect(d.size).toBe(0);
        }),
        { seed, numRuns },
      );
    });
  }
});

describe('codelQueue (property)', () => {
  it('never sheds and never leaves FIFO while every waiter leaves within its target', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }), (steps) => {
        const targetMs = 5;
        const d = codelQueue({ targetMs, intervalMs: 100 }) as unknown as QueueDiscipline<TestNode> & { overloaded: boolean };
        const fifo: TestNode[] = [];
        let now = 0;
        for (const [gap, arrivals] of steps) {
          // Before time moves on, serve everyone who would otherwise wait past the target (the queue drains in time).
          while (fifo.length > 0 && now + gap - fifo[0]!.enqueuedAt > targetMs) {
            const t = Math.max(now, fifo[0]!.enqueuedAt);
            expect(d.shed!(t)).toBeUndefined();
            expect(d.dequeue(t)).toBe(fifo.shift());
          }
          now += gap;
          expect(d.shed!(now)).toBeUndefined();
          expect(d.overloaded).toBe(false);
          for (let i = 0; i < arrivals; i++) {
            const w = node({ at: now });
            d.enqueue(w, now);
            fifo.push(w);
          }
        }
      }),
      { seed, numRuns },
    );
  });
});

/** Max-min fair shares of `capacity` for the given demands (progressive filling). */
function maxMinFair(demands: number[], capacity: number): number[] {
  const share = demands.map(() => 0);
  let left = capacity;
  let open = demands.map((_, i) => i);
  while (open.length > 0 && left > 1e-12) {
    const each = left / open.length;
    const done = open.filter((i) => demands[i]! - share[i]! <= each);
    if (done.length === 0) {
      for (const i of open) share[i]! += each;
      break;
    }
    for (const i of done) {
      left -= demands[i]! - share[i]!;
      share[i] = demands[i]!;
    }
    open = open.filter((i) => !done.includes(i));
  }
  return share;
}
