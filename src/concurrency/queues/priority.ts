/**
 * Priority queue: the highest `priority` is admitted first, FIFO within a level; a full queue sheds its
 * lowest-priority, newest waiter for a more important newcomer. Each level is a lane of its own (a FIFO by default,
 * or any discipline, such as per-tenant fair lanes), created when its first waiter arrives and dropped when empty,
 * so state is bounded by the number of waiters.
 */
import { FifoQueue, type QueueDiscipline, type QueueNode, type QueuedCall } from '../../core/queue.js';
import * as v from '../../core/validate.js';

/** Options of {@link priorityQueue}. */
export interface PriorityQueueOptions {
  /**
   * Aging: a waiter that has waited at least this long (ms) is admitted before any fresher waiter, whatever the
   * priorities, oldest such first; this bounds how long a low priority can starve while the dependency makes
   * progress. ≥ 0 or `Infinity`. Default `Infinity`: strict priority (lower levels starve under sustained load from
   * higher ones, and leave at their `maxWaitMs` or deadline, or are shed for more important newcomers).
   */
  agingMs?: number;
  /**
   * Builds the lane of each priority level, e.g. `() => fairQueue()` for per-tenant fair shares within a level
   * (critical work of every tenant goes before anyone's batch work). Called once per level that has waiters; must
   * return a fresh, empty discipline. Default: a FIFO lane. A level's own time-driven shedding (`shed`) is not used.
   */
  lane?: () => QueueDiscipline;
}

const KEYS = v.keys('agingMs', 'lane');

interface Level<W extends QueueNode> {
  readonly priority: number;
  readonly q: QueueDiscipline<W>;
  /** Sum of the costs of its waiters. */
  cost: number;
}

/** @internal the public factory is {@link priorityQueue}. */
export class PriorityQueue<W extends QueueNode> implements QueueDiscipline<W> {
  size = 0;
  private readonly levels = new Map<number, Level<W>>();
  /** Levels that have waiters, highest priority first (the head is served without a map lookup). */
  private readonly order: Level<W>[] = [];
  /** Arrival-order list across levels (oldest first), kept only when aging is on. */
  private oldest: W | undefined = undefined;
  private newest: W | undefined = undefined;

  constructor(
    private readonly agingMs: number,
    private readonly makeLane: (() => QueueDiscipline) | undefined,
  ) {}

  enqueue(w: W, now: number): void {
    let level = this.levels.get(w.priority);
    if (level === undefined) level = this.addLevel(w.priority);
    level.q.enqueue(w, now);
    level.cost += w.cost;
    this.size++;
    if (this.agingMs !== Infinity) {
      w.olderArrival = this.newest;
      w.newerArrival = undefined;
      if (this.newest === undefined) this.oldest = w;
      else this.newest.newerArrival = w;
      this.newest = w;
    }
  }

  peek(now: number): W | undefined {
    if (this.size === 0) return undefined;
    const aged = this.aged(now);
    if (aged !== undefined) return aged;
    return this.order[0]!.q.peek(now);
  }

  dequeue(now: number): W | undefined {
    if (this.size === 0) return undefined;
    const aged = this.aged(now);
    if (aged !== undefined) {
      this.remove(aged);
      return aged;
    }
    const level = this.order[0]!;
    const w = level.q.dequeue(now);
    if (w !== undefined) this.left(level, w);
    return w;
  }

  remove(w: W): boolean {
    const level = this.levels.get(w.priority);
    if (level === undefined || !level.q.remove(w)) return false;
    this.left(level, w);
    return true;
  }

  victim(incoming: QueuedCall, now: number): W | undefined {
    const lowest = this.order.at(-1);
    if (lowest === undefined || lowest.priority >= incoming.priority) return undefined;
    return this.evictableOf(lowest, now);
  }

  evictable(now: number): W | undefined {
    const lowest = this.order.at(-1);
    return lowest === undefined ? undefined : this.evictableOf(lowest, now);
  }

  /** The cost queued at the newcomer's level or above: what strict priority admits before it. */
  costAhead(priority: number): number {
    let sum = 0;
    for (const level of this.order) {
      if (level.priority < priority) break;
      sum += level.cost;
    }
    return sum;
  }

  drain(): W[] {
    const all: W[] = [];
    for (const level of this.order) for (const w of level.q.drain()) all.push(w);
    for (const w of all) w.olderArrival = w.newerArrival = undefined;
    this.levels.clear();
    this.order.length = 0;
    this.oldest = this.newest = undefined;
    this.size = 0;
    return all;
  }

  /** Priority levels with waiters now. */
  get levelCount(): number {
    return this.order.length;
  }

  private evictableOf(level: Level<W>, now: number): W | undefined {
    const q = level.q;
    return q.evictable === undefined ? undefined : q.evictable(now);
  }

  /** The oldest waiter if it has aged, else undefined. */
  private aged(now: number): W | undefined {
    const o = this.oldest;
    return o !== undefined && now - o.enqueuedAt >= this.agingMs ? o : undefined;
  }

  private addLevel(priority: number): Level<W> {
    let q: QueueDiscipline<W>;
    if (this.makeLane === undefined) q = new FifoQueue<W>();
    else {
      const made = this.makeLane() as unknown;
      const d = made as Record<string, unknown> | null;
      if (typeof d !== 'object' || d === null || typeof d.enqueue !== 'function' || typeof d.dequeue !== 'function' || typeof d.peek !== 'function' || typeof d.remove !== 'function' || typeof d.drain !== 'function' || d.size !== 0) {
        throw new TypeError(`priorityQueue: option "lane" must return a fresh, empty queue discipline, got ${v.describeValue(made)}`);
      }
      q = made as QueueDiscipline<W>;
    }
    const level: Level<W> = { priority, q, cost: 0 };
    this.levels.set(priority, level);
    // Highest first: find the first slot whose priority is lower.
    const order = this.order;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid]!.priority > priority) lo = mid + 1;
      else hi = mid;
    }
    order.splice(lo, 0, level);
    return level;
  }

  /** Bookkeeping after `w` left `level` (served or removed). */
  private left(level: Level<W>, w: W): void {
    this.size--;
    level.cost -= w.cost;
    if (level.q.size === 0) {
      this.levels.delete(level.priority);
      const i = this.order.indexOf(level);
      if (i >= 0) this.order.splice(i, 1);
    }
    if (this.agingMs !== Infinity) {
      const older = w.olderArrival as W | undefined;
      const newer = w.newerArrival as W | undefined;
      if (older === undefined) this.oldest = newer;
      else older.newerArrival = newer;
      if (newer === undefined) this.newest = older;
      else newer.olderArrival = older;
      w.olderArrival = w.newerArrival = undefined;
    }
  }
}

/**
 * A priority queue discipline. Admission: the highest numeric `priority` first (named classes: `critical` 200,
 * `high` 100, `default` 0, `low` -100, `sheddable` -200), FIFO within a level. **When full**, a newcomer of higher
 * priority than the lowest waiting level sheds that level's newest waiter (`SHED`, naming the newcomer's priority);
 * a newcomer of equal or lower priority is refused (`QUEUE_FULL`). Strict by default; `agingMs` bounds starvation.
 * Cost: O(1) per operation on an existing level, O(log k + k) to open one of k levels.
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const pool = bulkhead({ limit: 20, maxQueue: 200, queue: priorityQueue({ agingMs: 5000, lane: () => fairQueue() }) });
 * await pool.execute(work, { priority: 'critical', tenant: 'acme' });
 * ```
 */
export function priorityQueue(options: PriorityQueueOptions = {}): QueueDiscipline {
  const o = v.optionsObject<PriorityQueueOptions>('priorityQueue', options, KEYS);
  const agingMs = v.opt(o.agingMs, Infinity, (x) => v.nonNegativeOrInfinity('priorityQueue', 'agingMs', x));
  const lane = v.opt<(() => QueueDiscipline) | undefined>(o.lane, undefined, (x) => v.func<() => QueueDiscipline>('priorityQueue', 'lane', x));
  return new PriorityQueue<QueueNode>(agingMs, lane) as unknown as QueueDiscipline;
}
