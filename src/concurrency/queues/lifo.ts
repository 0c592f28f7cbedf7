/**
 * Last in, first out: the newest waiter is admitted first. Under sustained overload the newest callers are the ones
 * still waiting for an answer, while the oldest have likely given up, so serving them first keeps goodput where FIFO
 * would serve only stale requests (B. Maurer, "Fail at Scale", ACM Queue 2015). It starves old waiters by design:
 * pair it with `maxWaitMs` or deadlines.
 */
import { Lane, type QueueDiscipline, type QueueNode } from '../../core/queue.js';

/** @internal the public factory is {@link lifoQueue}. */
export class LifoQueue<W extends QueueNode> extends Lane<W> implements QueueDiscipline<W> {
  get size(): number {
    return this.length;
  }

  enqueue(w: W): void {
    this.push(w);
  }

  peek(): W | undefined {
    return this.tail;
  }

  dequeue(): W | undefined {
    return this.pop();
  }

  /** Full: the oldest waiter, the one least likely to be served in time, makes room for the newcomer. */
  victim(): W | undefined {
    return this.head;
  }

  evictable(): W | undefined {
    return this.head;
  }

  /** A newcomer goes first: nobody is ahead of it. */
  costAhead(): number {
    return 0;
  }
}

/**
 * A last-in, first-out queue discipline: the newest waiter is admitted first, and a full queue sheds its oldest
 * waiter (`SHED`) to queue the newcomer. O(1) per operation. Old waiters starve under sustained overload, so bound
 * the wait with `maxWaitMs` or deadlines.
 * @example
 * ```ts
 * const pool = bulkhead({ limit: 10, maxQueue: 100, maxWaitMs: 1000, queue: lifoQueue() }); // same as queue: 'lifo'
 * ```
 */
export function lifoQueue(): QueueDiscipline {
  return new LifoQueue<QueueNode>() as unknown as QueueDiscipline;
}
