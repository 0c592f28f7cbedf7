/**
 * Short versions of the noisy-neighbour (S7) and priority-class (S8a, S8b) overload scenarios on the simulator
 * (c = 40 workers, exponential 40 ms service, C = 1000 rps, 1 s deadline), asserting the fairness and priority
 * targets with the real queue disciplines, next to the FIFO bulkhead they must beat. The full runs are in
 * docs/overload.md (`npm run bench:overload -- --scenario S7,S8,S9`).
 */
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../src/concurrency/bulkhead.js';
import type { QueueName } from '../../src/concurrency/queues/index.js';
import { exponential, simulate } from '../../src/sim/index.js';

const C = 1000;
const sim = (seed: number, durationMs: number) => ({ seed, durationMs, warmupMs: 5000, deadlineMs: 1000, downstream: { workers: 40, service: exponential(40) } });
const pool = (queue: QueueName) => ({ clock }: { clock: import('../../src/core/clock.js').Clock }) => bulkhead({ limit: 40, maxQueue: 200, maxWaitMs: 500, queue, clock });

async function noisyNeighbour(queue: QueueName) {
  // Tenant A at 0.4 C; tenant B at 3 C (already ramped): A's fair share is all it asks, B gets the rest.
  const r = await simulate({ ...sim(7, 25_000), load: [{ tenant: 'A', perSecond: 400 }, { tenant: 'B', perSecond: 3000 }], policy: pool(queue) });
  const a = r.tenants.A!;
  return { aShare: a.shareOfDemand, aP99: a.latency.p99, jain: r.jain, total: r.summary.goodputPerSecond / C };
}

async function priorities(queue: QueueName, critical: number, sheddable: number) {
  const r = await simulate({
    ...sim(8, 25_000),
    load: [
      { name: 'critical', priority: 200, perSecond: critical },
      { name: 'sheddable', priority: -200, perSecond: sheddable },
    ],
    policy: pool(queue),
  });
  const crit = r.classes['200']!;
  return { critShare: crit.shareOfDemand, critGoodput: crit.goodputPerSecond / C, critP99: crit.latency.p99, total: r.summary.goodputPerSecond / C };
}

describe('queue disciplines under overload (simulator)', () => {
  it("S7: a fair queue gives the victim tenant ≥ 95 % of its demand (FIFO: about 30 %), Jain ≥ 0.95, total ≥ 97 % C, A's p99 ≤ 230 ms", async () => {
    const fair = await noisyNeighbour('fair');
    const fifo = await noisyNeighbour('fifo');
    expect(fair.aShare).toBeGreaterThanOrEqual(0.95);
    expect(fair.jain).toBeGreaterThanOrEqual(0.95);
    expect(fair.total).toBeGreaterThanOrEqual(0.97);
    expect(fair.aP99).toBeLessThanOrEqual(230);
    expect(fifo.aShare).toBeLessThan(0.5); // the baseline the fair queue beats
  });

  it('S8a: a priority queue serves ≥ 99 % of critical demand at p99 ≤ 203 ms (FIFO: about 33 %)', async () => {
    const prio = await priorities('priority', 300, 2700);
    const fifo = await priorities('fifo', 300, 2700);
    expect(prio.critShare).toBeGreaterThanOrEqual(0.99);
    expect(prio.critP99).toBeLessThanOrEqual(203);
    expect(prio.total).toBeGreaterThanOrEqual(0.97);
    expect(fifo.critShare).toBeLessThan(0.5);
  });

  it('S8b: when critical alone exceeds capacity, it gets ≥ 97 % of C and sheddable nearly nothing', async () => {
    const prio = await priorities('priority', 1200, 1000);
    expect(prio.critGoodput).toBeGreaterThanOrEqual(0.97);
  });
});
