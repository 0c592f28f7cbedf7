/**
 * Fair queue: per-tenant deficit round robin (M. Shreedhar and G. Varghese, "Efficient Fair Queuing using Deficit
 * Round Robin", SIGCOMM 1995). Each tenant with waiting calls has a lane; lanes are visited in turn, each visit adds
 * the lane's quantum (its weight × the largest cost seen) to its deficit, and the lane's head is served while the
 * deficit covers its cost. Backlogged tenants therefore share admissions in proportion to their weights, in units of
 * cost, and a tenant asking less than its share gets all it asks: max-min fairness.
 */
import { DeadlineHeap, type DeadlineEntry } from '../../core/deadline-heap.js';
import { Lane, type QueueDiscipline, type QueueNode, type QueuedCall } from '../../core/queue.js';
import * as v from '../../core/validate.js';

/** Options of {@link fairQueue}. */
export interface FairQueueOptions {
  /** Weight per tenant (finite, > 0): a backlogged tenant's share is proportional to it. Default 1 for each tenant not listed. */
  weights?: Readonly<Record<string, number>>;
  /** Weight of tenants not in `weights`, of calls without a tenant, and of the overflow lane. Finite, > 0. Default 1. */
  defaultWeight?: number;
  /**
   * Most tenant lanes at once. Calls of further tenants share one overflow lane (weight `defaultWeight`) until a
   * lane frees. A lane exists only while its tenant has waiting calls, so memory is bounded by
   * min(waiters, maxTenants + 1) lanes whatever tenant keys callers send. Integer ≥ 1. Default 1024.
   */
  maxTenants?: number;
}

const KEYS = v.keys('weights', 'defaultWeight', 'maxTenants');
/** The key of the overflow lane (not a valid tenant name, which is a non-empty string). */
const OVERFLOW = Symbol('overflow');
type Key = string | undefined | typeof OVERFLOW;

/** One tenant's lane: its waiters, its place in the round robin and in the heaviest-backlog heap. */
class TenantLane<W extends QueueNode> extends Lane<W> implements DeadlineEntry {
  deficit = 0;
  ringPrev: TenantLane<W> = this;
  ringNext: TenantLane<W> = this;
  inRing = false;
  /** Heap key: minus the backlog per unit of weight, so the min-heap's head is the heaviest lane. */
  due = 0;
  seq = 0;
  heapIndex = -1;
  /** Its backlog changed since its heap key was last set (see `FairQueue.stale`). */
  stale = false;
  constructor(
    readonly key: Key,
    readonly weight: number,
  ) {
    super();
  }
}

/** @internal the public factory is {@link fairQueue}. */
export class FairQueue<W extends QueueNode> implements QueueDiscipline<W> {
  size = 0;
  private readonly lanes = new Map<string | undefined, TenantLane<W>>();
  private overflow: TenantLane<W> | undefined = undefined;
  /** The lane the round robin is at; undefined when nobody waits. */
  private current: TenantLane<W> | undefined = undefined;
  /** Largest cost seen: every quantum is at least this (× weight / smallest weight), so a visit serves at least one. */
  private maxCost = 1;
  private readonly heaviest = new DeadlineHeap<TenantLane<W>>();
  /**
   * Lanes whose backlog changed since their heap key was set. The heap is needed only to pick a victim (a full queue),
   * so keys are brought up to date then, not on every enqueue and dequeue: measured, the eager update was an eighth of
   * the time of a queued call. Flushed when it outgrows twice the lanes, so it stays O(lanes) when no victim is asked.
   */
  private readonly stale: TenantLane<W>[] = [];

  constructor(
    private readonly weights: Readonly<Record<string, number>>,
    private readonly defaultWeight: number,
    private readonly maxTenants: number,
    /** 1 / the smallest weight (at most 1): scales quanta so the smallest is still ≥ the largest cost. */
    private readonly scale: number,
  ) {}

  enqueue(w: W): void {
    if (w.cost > this.maxCost) this.maxCost = w.cost;
    const lane = this.laneFor(w.tenant, true)!;
    lane.push(w);
    this.size++;
    if (!lane.inRing) this.join(lane);
    this.rekey(lane);
  }

  peek(): W | undefined {
    let lane = this.current;
    if (lane === undefined) return undefined;
    // Terminates within one round: every quantum covers the largest cost.
    while (lane.deficit < lane.head!.cost) {
      lane = lane.ringNext;
      lane.deficit += this.quantum(lane);
      this.current = lane;
    }
    return lane.head;
  }

  dequeue(): W | undefined {
    const w = this.peek();
    if (w === undefined) return undefined;
    const lane = w.lane as unknown as TenantLane<W>;
    lane.deficit -= w.cost;
    lane.remove(w);
    this.left(lane);
    return w;
  }

  remove(w: W): boolean {
    const lane = w.lane as unknown as TenantLane<W> | undefined;
    if (lane === undefined || !(lane instanceof TenantLane) || !lane.remove(w)) return false;
    this.left(lane);
    return true;
  }

  /** Full: the heaviest tenant's newest waiter makes room for a newcomer whose lane would still be lighter. */
  victim(incoming: QueuedCall): W | undefined {
    const heavy = this.heaviestLane();
    if (heavy === undefined) return undefined;
    const target = this.laneFor(incoming.tenant, false);
    if (target === heavy) return undefined;
    const weight = target === undefined ? this.weightOf(this.keyFor(incoming.tenant)) : target.weight;
    const after = ((target === undefined ? 0 : target.cost) + incoming.cost) / weight;
    return heavy.cost / heavy.weight > after ? heavy.tail : undefined;
  }

  evictable(): W | undefined {
    return this.heaviestLane()?.tail;
  }

  drain(): W[] {
    const all: W[] = [];
    for (const lane of [...this.lanes.values(), ...(this.overflow === undefined ? [] : [this.overflow])]) {
      for (const w of lane.drain()) all.push(w);
      lane.inRing = false;
      lane.stale = false;
      this.heaviest.remove(lane);
    }
    this.stale.length = 0;
    this.lanes.clear();
    this.overflow = undefined;
    this.current = undefined;
    this.size = 0;
    return all;
  }

  /** Tenant lanes with waiters now (the overflow lane included). */
  get tenants(): number {
    return this.lanes.size + (this.overflow === undefined ? 0 : 1);
  }

  /** Calls of `tenant` waiting in a lane of their own (0 when it has none, or when they wait in the overflow lane). */
  sizeOf(tenant: string | undefined): number {
    return this.lanes.get(tenant)?.length ?? 0;
  }

  private quantum(lane: TenantLane<W>): number {
    return lane.weight * this.scale * this.maxCost;
  }

  private weightOf(key: Key): number {
    if (typeof key !== 'string') return this.defaultWeight;
    return Object.prototype.hasOwnProperty.call(this.weights, key) ? this.weights[key]! : this.defaultWeight;
  }

  /** The key a tenant's calls queue under: its own, or the overflow's when every lane is taken. */
  private keyFor(tenant: string | undefined): Key {
    return this.lanes.has(tenant) || this.lanes.size < this.maxTenants ? tenant : OVERFLOW;
  }

  private laneFor(tenant: string | undefined, create: boolean): TenantLane<W> | undefined {
    const own = this.lanes.get(tenant);
    if (own !== undefined) return own;
    if (this.lanes.size >= this.maxTenants) {
      if (this.overflow === undefined && create) this.overflow = new TenantLane<W>(OVERFLOW, this.defaultWeight);
      return this.overflow;
    }
    if (!create) return undefined;
    const lane = new TenantLane<W>(tenant, this.weightOf(tenant));
    this.lanes.set(tenant, lane);
    return lane;
  }

  /** A lane got its first waiter: it joins the round at the end (just before the current lane). */
  private join(lane: TenantLane<W>): void {
    lane.inRing = true;
    lane.deficit = 0;
    const cur = this.current;
    if (cur === undefined) {
      lane.ringPrev = lane.ringNext = lane;
      lane.deficit = this.quantum(lane);
      this.current = lane;
      return;
    }
    lane.ringNext = cur;
    lane.ringPrev = cur.ringPrev;
    cur.ringPrev.ringNext = lane;
    cur.ringPrev = lane;
  }

  /** Bookkeeping after a waiter left `lane`: an emptied lane leaves the round, the heap and the map, with no credit. */
  private left(lane: TenantLane<W>): void {
    this.size--;
    if (lane.length !== 0) {
      this.rekey(lane);
      return;
    }
    lane.inRing = false;
    lane.deficit = 0;
    this.heaviest.remove(lane);
    if (lane.key === OVERFLOW) this.overflow = undefined;
    else this.lanes.delete(lane.key);
    const next = lane.ringNext;
    if (next === lane) {
      this.current = undefined;
    } else {
      lane.ringPrev.ringNext = next;
      next.ringPrev = lane.ringPrev;
      if (this.current === lane) {
        this.current = next;
        next.deficit += this.quantum(next);
      }
    }
    lane.ringPrev = lane.ringNext = lane;
  }

  /** Marks `lane`'s heap key out of date (its backlog changed). */
  private rekey(lane: TenantLane<W>): void {
    if (lane.stale) return;
    lane.stale = true;
    this.stale.push(lane);
    if (this.stale.length > 2 * (this.lanes.size + 1)) this.refresh();
  }

  /** Brings every stale lane's heap key up to date; lanes emptied meanwhile already left the heap. */
  private refresh(): void {
    for (const lane of this.stale) {
      lane.stale = false;
      if (lane.length === 0) continue;
      this.heaviest.remove(lane);
      lane.due = -lane.cost / lane.weight;
      this.heaviest.push(lane);
    }
    this.stale.length = 0;
  }

  /** The lane with the largest backlog per unit of weight, or undefined when nobody waits. */
  private heaviestLane(): TenantLane<W> | undefined {
    if (this.stale.length !== 0) this.refresh();
    return this.heaviest.peek();
  }
}

/**
 * A per-tenant fair queue discipline (deficit round robin by the call's `tenant`, `cost` counted). Backlogged
 * tenants share admissions in proportion to `weights`; a tenant asking less than its share gets all it asks. **When
 * full**, a newcomer whose lane would stay lighter than the heaviest lane sheds that lane's newest waiter (`SHED`);
 * otherwise it is refused (`QUEUE_FULL`): a flood cannot displace a light tenant. Calls without a tenant share one
 * lane. O(1) to serve and to queue; O(log k) per lane whose backlog changed, paid when a full queue picks a victim (k tenant lanes).
 * @throws {TypeError | RangeError} on an invalid or unknown option.
 * @example
 * ```ts
 * const pool = bulkhead({ limit: 40, maxQueue: 400, queue: fairQueue({ weights: { enterprise: 4 }, maxTenants: 500 }) });
 * await pool.execute(work, { tenant: customerId });
 * ```
 */
export function fairQueue(options: FairQueueOptions = {}): QueueDiscipline {
  const o = v.optionsObject<FairQueueOptions>('fairQueue', options, KEYS);
  const defaultWeight = v.opt(o.defaultWeight, 1, (x) => v.positive('fairQueue', 'defaultWeight', x));
  const maxTenants = v.opt(o.maxTenants, 1024, (x) => v.integer('fairQueue', 'maxTenants', x, 1));
  const weights: Record<string, number> = {};
  if (o.weights !== undefined) {
    const w = v.optionsObject<Record<string, number>>('fairQueue', o.weights);
    for (const [k, x] of Object.entries(w)) weights[k] = v.positive('fairQueue', `weights.${k}`, x);
  }
  const smallest = Math.min(1, defaultWeight, ...Object.values(weights));
  const largest = Math.max(defaultWeight, ...Object.values(weights));
  if (largest / smallest > 1e6) throw new RangeError(`fairQueue: option "weights" must stay within a ratio of 1e6 of each other (and of defaultWeight), got ${largest / smallest}`);
  return new FairQueue<QueueNode>(weights, defaultWeight, maxTenants, 1 / smallest) as unknown as QueueDiscipline;
}
