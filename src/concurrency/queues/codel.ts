/**
 * CoDel with adaptive LIFO: FIFO while the queue drains; once a standing queue forms, newest first and sloughing of
 * waiters that queued too long. The overload test is CoDel's (K. Nichols and V. Jacobson, "Controlling Queue
 * Delay", ACM Queue 2012; RFC 8289): the minimum queueing delay over an interval above a target means the queue is
 * not draining. The response is Facebook's (B. Maurer, "Fail at Scale", ACM Queue 2015) and folly's Codel: serve
 * the newest first, whose callers still wait, and reject the old instead of CoDel's √count drop law.
 */
import { Lane, type QueueDiscipline, type QueueNode } from '../../core/queue.js';
import * as v from '../../core/validate.js';

/** Options of {@link codelQueue}. */
export interface CodelQueueOptions {
  /** Acceptable standing queueing delay, ms. Finite, > 0. Default 5. */
  targetMs?: number;
  /** Window over which the minimum delay is taken, ms. Finite, > 0. Default 100. */
  intervalMs?: number;
  /** While overloaded, waiters that have queued at least this long (ms) are shed. Finite, > 0. Default `intervalMs`. */
  maxDelayMs?: number;
}

const KEYS = v.keys('targetMs', 'intervalMs', 'maxDelayMs');

/** @internal the public factory is {@link codelQueue}. */
export class CodelQueue<W extends QueueNode> extends Lane<W> implements QueueDiscipline<W> {
  /** True while the queue is judged overloaded (a standing queue): newest first, and sloughing. */
  overloaded = false;
  private intervalEnd = -Infinity;
  private minDelay = Infinity;

  constructor(
    private readonly targetMs: number,
    private readonly intervalMs: number,
    private readonly maxDelayMs: number,
  ) {
    super();
  }

  get size(): number {
    return this.length;
  }

  enqueue(w: W, now: number): void {
    if (this.length === 0 && now >= this.intervalEnd) this.startInterval(now);
    this.push(w);
  }

  peek(now: number): W | undefined {
    this.roll(now);
    return this.overloaded ? this.tail : this.head;
  }

  dequeue(now: number): W | undefined {
    const w = this.peek(now);
    if (w === undefined) return undefined;
    this.remove(w);
    const d = now - w.enqueuedAt;
    if (d < this.minDelay) this.minDelay = d;
    return w;
  }

  override remove(w: W): boolean {
    if (!super.remove(w)) return false;
    if (this.length === 0) this.overloaded = false; // drained: back to FIFO
    return true;
  }

  shed(now: number): W | undefined {
    this.roll(now);
    const h = this.head;
    if (!this.overloaded || h === undefined || now - h.enqueuedAt < this.maxDelayMs) return undefined;
    this.remove(h);
    return h;
  }

  nextShedAt(): number {
    const h = this.head;
    if (h === undefined) return Infinity;
    // Overloaded: when the oldest reaches maxDelayMs. Otherwise: when the interval ends and may find a standing queue.
    return this.overloaded ? h.enqueuedAt + this.maxDelayMs : this.intervalEnd;
  }

  /** Full: while overloaded the oldest waiter (it would be shed soon); otherwise the newcomer is refused. */
  victim(): W | undefined {
    return this.overloaded ? this.head : undefined;
  }

  evictable(): W | undefined {
    return this.overloaded ? this.head : this.tail;
  }

  costAhead(): number {
    return this.overloaded ? 0 : this.cost;
  }

  /** At an interval's end: overloaded when even the smallest delay of the interval exceeded the target. */
  private roll(now: number): void {
    if (now < this.intervalEnd) return;
    let m = this.minDelay;
    const h = this.head;
    // A waiter still queued has waited at least this long: if nobody left faster, that is the interval's minimum.
    if (h !== undefined && now - h.enqueuedAt < m) m = now - h.enqueuedAt;
    this.overloaded = this.length !== 0 && m > this.targetMs;
    this.startInterval(now);
  }

  private startInterval(now: number): void {
    this.intervalEnd = now + this.intervalMs;
    this.minDelay = Infinity;
  }
}

/**
 * A controlled-delay queue discipline with adaptive LIFO. FIFO while the queue drains; when the minimum queueing
 * delay over `intervalMs` exceeds `targetMs` (a standing queue), it admits the newest first and sheds (`SHED`,
 * `trigger: 'queue-delay'`) waiters that have queued `maxDelayMs` or longer, until the queue drains. A queue that
 * drains within its target never sheds. **When full**, an overloaded queue sheds its oldest waiter for the newcomer;
 * otherwise the newcomer is refused (`QUEUE_FULL`). O(1) per operation; the limiter's one timer wakes it at interval
 * ends and shedding times.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const pool = bulkhead({ limit: 40, maxQueue: 1000, queue: codelQueue({ targetMs: 5, intervalMs: 100 }) });
 * ```
 */
export function codelQueue(options: CodelQueueOptions = {}): QueueDiscipline {
  const o = v.optionsObject<CodelQueueOptions>('codelQueue', options, KEYS);
  const targetMs = v.opt(o.targetMs, 5, (x) => v.positive('codelQueue', 'targetMs', x));
  const intervalMs = v.opt(o.intervalMs, 100, (x) => v.positive('codelQueue', 'intervalMs', x));
  const maxDelayMs = v.opt(o.maxDelayMs, intervalMs, (x) => v.positive('codelQueue', 'maxDelayMs', x));
  return new CodelQueue<QueueNode>(targetMs, intervalMs, maxDelayMs) as unknown as QueueDiscipline;
}
