/** Plain queue nodes for driving disciplines directly, as a limiter's waiters would. */
import type { QueueNode } from '../../../src/core/queue.js';

export interface TestNode extends QueueNode {
  readonly id: number;
}

let next = 0;

export function node(o: { cost?: number; priority?: number; tenant?: string; at?: number; deadline?: number } = {}): TestNode {
  return {
    id: next++,
    cost: o.cost ?? 1,
    priority: o.priority ?? 0,
    tenant: o.tenant,
    enqueuedAt: o.at ?? 0,
    deadline: o.deadline,
    prev: undefined,
    next: undefined,
    lane: undefined,
    olderArrival: undefined,
    newerArrival: undefined,
  };
}
