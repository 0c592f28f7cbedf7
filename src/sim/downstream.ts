/**
 * The simulated dependency: c parallel workers in front of one FIFO queue, with a service-time distribution,
 * optional server-side cancellation, a thrashing (USL-like) variant, scheduled capacity changes and hard-down
 * intervals.
 */
import type { RandomSource } from '../core/random.js';
import * as v from '../core/validate.js';
import { exponential, type ServiceTime } from './distributions.js';
import type { SimClock } from './scheduler.js';

/** A scheduled change of the downstream's capacity. */
export interface CapacityChange {
  /** When the change applies, virtual ms. */
  atMs: number;
  /** New worker count c (integer ≥ 0). Unchanged when omitted. */
  workers?: number;
  /** New multiplier of every service time (2 = twice as slow). Unchanged when omitted. Default at start: 1. */
  serviceScale?: number;
}

/** An interval during which the downstream fails every call fast (a hard-down dependency). */
export interface DownInterval {
  /** Start, virtual ms (inclusive). */
  fromMs: number;
  /** End, virtual ms (exclusive). */
  toMs: number;
}

/** Options of the simulated downstream. */
export interface DownstreamOptions {
  /** Parallel workers c. Integer ≥ 1. Default 40. */
  workers?: number;
  /** Service-time distribution. Default `exponential(40)` (so C = 1000 rps with 40 workers). */
  service?: ServiceTime;
  /**
   * The `cancel` variant: a queued call whose caller has given up (or whose deadline has passed) is dropped when it
   * reaches the head of the queue instead of being served. Default false (no server-side cancellation).
   */
  cancelExpired?: boolean;
  /**
   * The thrashing (`usl`) variant: service time × (1 + thrashing · max(0, inflight − c)), with inflight counting
   * queued calls too, evaluated when service starts: a linear coherency penalty beyond saturation, after the
   * crosstalk term of Gunther's Universal Scalability Law (N. J. Gunther, "Guerrilla Capacity Planning", Springer,
   * 2007). The thrashing scenarios of docs/overload.md use 0.002. Default 0 (off).
   */
  thrashing?: number;
  /** Most calls that may wait in the server queue; beyond it a call is refused with `OVERLOADED`. Default Infinity. */
  maxQueue?: number;
  /** Delay before an `OVERLOADED` refusal reaches the caller, ms. Default 0. */
  rejectCostMs?: number;
  /** Delay of a failure while the downstream is hard-down, ms. Default 1. */
  failFastMs?: number;
  /** Probability that a served call ends in an error (`FAILED`) instead of a result. Default 0. */
  errorRate?: number;
  /** Scheduled capacity changes. Default none. */
  changes?: readonly CapacityChange[];
  /** Hard-down intervals. Default none. */
  down?: readonly DownInterval[];
}

/** Why the downstream failed a call. */
export type DownstreamErrorKind = 'DOWN' | 'OVERLOADED' | 'FAILED' | 'EXPIRED';

/**
 * An error returned by the simulated downstream (not a local rejection: breakers count it as a failure).
 * @example
 * ```ts
 * if (e instanceof DownstreamError && e.kind === 'DOWN') ...
 * ```
 */
export class DownstreamError extends Error {
  /** What went wrong. */
  readonly kind: DownstreamErrorKind;
  constructor(kind: DownstreamErrorKind) {
    super(`downstream: ${kind.toLowerCase()}`);
    this.kind = kind;
    this.name = 'DownstreamError';
  }
}

// One shared instance per kind: creating an Error captures a stack, which would dominate a long run.
const ERRORS: Record<DownstreamErrorKind, DownstreamError> = {
  DOWN: new DownstreamError('DOWN'),
  OVERLOADED: new DownstreamError('OVERLOADED'),
  FAILED: new DownstreamError('FAILED'),
  EXPIRED: new DownstreamError('EXPIRED'),
};

/** @internal one call in the downstream. */
export interface Job {
  /** Caller's deadline for this call (absolute), or Infinity. */
  deadline: number;
  /** Set when the caller gave up before the call completed: its service time is wasted work. */
  abandoned: boolean;
  /** Set once the caller's promise settled (result, error or abandon). */
  settled: boolean;
  serviceMs: number;
  startedAt: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** @internal what the downstream reports to the measurement layer. */
export interface DownstreamObserver {
  onSubmit(now: number): void;
  onComplete(now: number, serviceMs: number, wasted: boolean): void;
  onDrop(now: number): void;
}

/** Counters of the simulated downstream. */
export interface DownstreamStats {
  /** Workers now. */
  workers: number;
  /** Service-time multiplier now. */
  serviceScale: number;
  /** Calls in service now. */
  busy: number;
  /** Calls waiting in the server queue now. */
  queued: number;
  /** Calls received (attempts sent to the downstream). */
  submitted: number;
  /** Calls that finished service. */
  completed: number;
  /** Queued calls dropped by the `cancel` variant. */
  dropped: number;
  /** Calls failed while hard-down, refused as overloaded, or failed by `errorRate`. */
  failed: number;
  /** Total service time spent, ms. */
  busyMs: number;
  /** Service time spent on calls whose caller had given up or whose result came too late, ms. */
  wastedMs: number;
}

const DOWNSTREAM_KEYS = v.keys('workers', 'service', 'cancelExpired', 'thrashing', 'maxQueue', 'rejectCostMs', 'failFastMs', 'errorRate', 'changes', 'down');
const CHANGE_KEYS = v.keys('atMs', 'workers', 'serviceScale');
const DOWN_KEYS = v.keys('fromMs', 'toMs');

/** @internal the downstream model; driven by {@link SimClock} events. */
export class Downstream {
  readonly service: ServiceTime;
  private workers: number;
  private scale = 1;
  private readonly cancelExpired: boolean;
  private readonly thrashing: number;
  private readonly maxQueue: number;
  private readonly rejectCostMs: number;
  private readonly failFastMs: number;
  private readonly errorRate: number;
  private readonly down: readonly DownInterval[];
  private busy = 0;
  private q: (Job | undefined)[] = [];
  private qHead = 0;
  private readonly s: DownstreamStats;

  constructor(
    options: DownstreamOptions,
    private readonly clock: SimClock,
    private readonly random: RandomSource,
    private readonly observer: DownstreamObserver,
  ) {
    const o = v.optionsObject<DownstreamOptions>('downstream', options, DOWNSTREAM_KEYS);
    this.workers = v.opt(o.workers, 40, (x) => v.integer('downstream', 'workers', x, 1));
    this.service = v.opt(o.service, exponential(40), (x) => v.shaped<ServiceTime>('downstream', 'service', x, ['sample']));
    this.cancelExpired = v.opt(o.cancelExpired, false, (x) => v.bool('downstream', 'cancelExpired', x));
    this.thrashing = v.opt(o.thrashing, 0, (x) => v.nonNegative('downstream', 'thrashing', x));
    this.maxQueue = v.opt(o.maxQueue, Infinity, (x) => v.integer('downstream', 'maxQueue', x, 0, true));
    this.rejectCostMs = v.opt(o.rejectCostMs, 0, (x) => v.nonNegative('downstream', 'rejectCostMs', x));
    this.failFastMs = v.opt(o.failFastMs, 1, (x) => v.nonNegative('downstream', 'failFastMs', x));
    this.errorRate = v.opt(o.errorRate, 0, (x) => v.between('downstream', 'errorRate', x, 0, 1));
    this.down = (o.down ?? []).map((d, i) => {
      v.optionsObject(`downstream: down[${i}]`, d, DOWN_KEYS);
      const from = v.nonNegative('downstream', `down[${i}].fromMs`, d.fromMs);
      const to = v.nonNegative('downstream', `down[${i}].toMs`, d.toMs);
      if (to < from) throw new RangeError(`downstream: option "down[${i}]" ends (${to}) before it starts (${from})`);
      return { fromMs: from, toMs: to };
    });
    this.s = { workers: this.workers, serviceScale: 1, busy: 0, queued: 0, submitted: 0, completed: 0, dropped: 0, failed: 0, busyMs: 0, wastedMs: 0 };
    for (const [i, c] of (o.changes ?? []).entries()) {
      v.optionsObject(`downstream: changes[${i}]`, c, CHANGE_KEYS);
      const at = v.nonNegative('downstream', `changes[${i}].atMs`, c.atMs);
      const workers = c.workers === undefined ? undefined : v.integer('downstream', `changes[${i}].workers`, c.workers, 0);
      const scale = c.serviceScale === undefined ? undefined : v.positive('downstream', `changes[${i}].serviceScale`, c.serviceScale);
      // Capacity changes start promise work (calls begin service and later resolve), so they are not `sync`.
      clock.scheduleRemote(at, () => this.reconfigure(workers, scale), 'capacity');
    }
  }

  /** Capacity in calls per second now: c / (E[S] · scale). */
  capacityPerSecond(): number {
    return (this.workers * 1000) / (this.service.meanMs * this.scale);
  }

  /** True while a hard-down interval covers `now`. */
  isDown(now: number): boolean {
    for (const d of this.down) if (now >= d.fromMs && now < d.toMs) return true;
    return false;
  }

  stats(): DownstreamStats {
    return { ...this.s, workers: this.workers, serviceScale: this.scale, busy: this.busy, queued: this.q.length - this.qHead };
  }

  /** Number of calls in the downstream (in service plus queued). */
  get inflight(): number {
    return this.busy + this.q.length - this.qHead;
  }

  /** Calls in service. */
  get inService(): number {
    return this.busy;
  }

  /** Calls waiting. */
  get queueLength(): number {
    return this.q.length - this.qHead;
  }

  /** Accepts a call: fails it fast when down, refuses it when the queue is full, else serves or queues it. */
  submit(job: Job): void {
    const now = this.clock.now();
    this.s.submitted++;
    this.observer.onSubmit(now);
    if (this.down.length > 0 && this.isDown(now)) {
      this.s.failed++;
      this.clock.schedule(now + this.failFastMs, () => this.fail(job, ERRORS.DOWN), 'down');
      return;
    }
    if (this.busy < this.workers) {
      this.start(job, now);
      return;
    }
    if (this.q.length - this.qHead >= this.maxQueue) {
      this.s.failed++;
      this.clock.schedule(now + this.rejectCostMs, () => this.fail(job, ERRORS.OVERLOADED), 'overloaded');
      return;
    }
    this.q.push(job);
  }

  private fail(job: Job, e: DownstreamError): void {
    if (job.settled) return;
    job.settled = true;
    job.reject(e);
  }

  private start(job: Job, now: number): void {
    this.busy++;
    let s = this.service.sample(this.random) * this.scale;
    if (this.thrashing > 0) {
      const over = this.inflight - this.workers;
      if (over > 0) s *= 1 + this.thrashing * over;
    }
    job.serviceMs = s;
    job.startedAt = now;
    this.clock.scheduleRemote(now + s, () => this.complete(job), 'done');
  }

  private complete(job: Job): void {
    const now = this.clock.now();
    this.busy--;
    const s = job.serviceMs;
    this.s.completed++;
    this.s.busyMs += s;
    const wasted = job.abandoned || job.settled || now > job.deadline;
    if (wasted) this.s.wastedMs += s;
    this.observer.onComplete(now, s, wasted);
    if (!job.settled) {
      job.settled = true;
      const failed = this.errorRate > 0 && this.random() < this.errorRate;
      if (failed) this.s.failed++;
      const answer = failed ? () => job.reject(ERRORS.FAILED) : job.resolve;
      // The answer reaches the caller's process as an event of its own, which a stall there holds back.
      if (this.clock.stalled) this.clock.schedule(now, answer, 'answer');
      else answer();
    }
    this.fill(now);
  }

  private fill(now: number): void {
    while (this.busy < this.workers && this.qHead < this.q.length) {
      const job = this.q[this.qHead]!;
      this.q[this.qHead++] = undefined;
      if (this.cancelExpired && (job.abandoned || now >= job.deadline)) {
        this.s.dropped++;
        this.observer.onDrop(now);
        this.fail(job, ERRORS.EXPIRED);
        continue;
      }
      this.start(job, now);
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.q.length) {
      this.q = this.q.slice(this.qHead);
      this.qHead = 0;
    }
  }

  private reconfigure(workers: number | undefined, scale: number | undefined): void {
    if (workers !== undefined) this.workers = workers;
    if (scale !== undefined) this.scale = scale;
    this.fill(this.clock.now());
  }
}
