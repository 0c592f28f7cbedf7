/**
 * Cooldown: a gate that is open until someone closes it until a given time (a server's Retry-After, an operator's
 * pause), and then refuses or holds every call until that time, for all callers at once.
 */
import { NOOP_PERMIT, type Permit } from '../core/permit.js';
import type { Limiter } from '../core/policy.js';
import type { Context, Task } from '../core/context.js';
import { COMMON_KEYS, QueueingLimiter, parseCommon, type CommonOptions, type QueueingStats } from '../core/limiter-base.js';
import type { LimiterEvents } from '../core/telemetry.js';
import * as v from '../core/validate.js';
import { FifoQueue } from '../core/queue.js';
import { Alarm, type Waiter } from '../core/waiters.js';
import { METRIC } from '../metrics/metrics.js';

/** Options of {@link cooldown}. */
export interface CooldownOptions extends CommonOptions {
  /**
   * Longest a call **without a deadline** waits for a closed gate to open, ms; a longer pause refuses it at once with
   * `RATE_LIMITED` and the time left as `retryAfterMs`. ≥ 0 or `Infinity`. Default 0: such calls fail fast.
   */
  maxWaitMs?: number;
  /**
   * Whether a call **with a deadline** waits for the gate to open when it opens before the deadline (it is refused
   * at once with `DEADLINE_EXCEEDED` and the time left when it does not). Default true.
   */
  waitWithinDeadline?: boolean;
  /** Most calls that may wait at once; beyond it, `QUEUE_FULL`. Integer ≥ 0 or `Infinity`. Default 1000. */
  maxQueue?: number;
  /** Longest pause `closeUntil()` accepts, ms from now; a later time is cut to it. > 0. Default 3 600 000 (1 hour). */
  maxPauseMs?: number;
}

/** Snapshot returned by {@link Cooldown.stats}. */
export interface CooldownStats extends QueueingStats {
  /** Clock time the gate opens (≤ now when open). */
  closedUntil: number;
  /** Ms until it opens; 0 when open. */
  remainingMs: number;
  /** Times `closeUntil()` closed the gate or pushed its opening later. */
  closures: number;
}

/** A gate shared by every caller of one dependency. */
export interface Cooldown extends Limiter {
  readonly events: QueueingLimiter<LimiterEvents>['events'];
  /**
   * Closes the gate until clock time `at` (never earlier than a closure already in force: the later time wins), cut to
   * `maxPauseMs` from now. Calls arriving meanwhile fail fast or wait (see the options); waiters are admitted together
   * when it opens. A time in the past does nothing.
   * @throws {RangeError} when `at` is not a finite number.
   */
  closeUntil(at: number): void;
  /** Opens the gate now and admits every waiter. */
  open(): void;
  /** Whether the gate is closed now. */
  readonly closed: boolean;
  stats(): CooldownStats;
}

const KNOWN = v.keys(...COMMON_KEYS, 'maxWaitMs', 'waitWithinDeadline', 'maxQueue', 'maxPauseMs');

class CooldownImpl extends QueueingLimiter<LimiterEvents, FifoQueue<Waiter>> implements Cooldown {
  protected readonly busyReason = 'RATE_LIMITED' as const;
  private until = -Infinity;
  private closures = 0;
  private readonly noDeadlineWaitMs: number;
  private readonly waitWithinDeadline: boolean;
  private readonly maxPauseMs: number;
  private readonly alarm = new Alarm(this.clock, () => this.reschedule());

  constructor(options: CooldownOptions | undefined) {
    const o = v.optionsObject<CooldownOptions>('cooldown', options, KNOWN);
    const noDeadlineWaitMs = v.opt(o.maxWaitMs, 0, (x) => v.nonNegativeOrInfinity('cooldown', 'maxWaitMs', x));
    const waitWithinDeadline = v.opt(o.waitWithinDeadline, true, (x) => v.bool('cooldown', 'waitWithinDeadline', x));
    const maxPauseMs = v.opt(o.maxPauseMs, 3_600_000, (x) => v.positive('cooldown', 'maxPauseMs', x));
    // The base class bounds every wait by maxWaitMs; the per-call rule (deadline or not) is applied in acquireFor.
    super('cooldown', parseCommon('cooldown', o), { maxQueue: o.maxQueue, maxWaitMs: Infinity }, { maxQueue: 1000, maxWaitMs: Infinity }, new FifoQueue<Waiter>());
    this.noDeadlineWaitMs = noDeadlineWaitMs;
    this.waitWithinDeadline = waitWithinDeadline;
    this.maxPauseMs = maxPauseMs;
    this.t.gauge(METRIC.cooldownRemaining, {}, () => this.remaining(this.clock.now()));
  }

  get closed(): boolean {
    return this.until > this.clock.now();
  }

  private remaining(now: number): number {
    return this.until > now ? this.until - now : 0;
  }

  protected take(_cost: number, now: number): Permit | undefined {
    return now >= this.until ? NOOP_PERMIT : undefined;
  }

  protected estimateWaitMs(_cost: number, now: number): number {
    return this.remaining(now);
  }

  protected override acquireFor<T>(ctx: Context, task: Task<T> | undefined): Promise<T | Permit> {
    if (!this.isDisposed && !ctx.signal.aborted) {
      const now = this.clock.now();
      const wait = this.remaining(now);
      if (wait > 0) {
        if (ctx.deadline === undefined ? wait > this.noDeadlineWaitMs : !this.waitWithinDeadline) return this.refuse('RATE_LIMITED', ctx.cost, now, wait, ctx, task);
      }
    }
    return super.acquireFor(ctx, task as Task<T>);
  }

  closeUntil(at: number): void {
    const t = v.between(this.name, 'closeUntil(at)', at, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (this.isDisposed) return;
    const now = this.clock.now();
    const until = Math.min(t, now + this.maxPauseMs);
    if (until <= now || until <= this.until) return;
    this.until = until;
    this.closures++;
    this.reschedule(now);
  }

  open(): void {
    this.until = -Infinity;
    if (!this.isDisposed) this.reschedule();
  }

  protected override onDispose(): void {
    this.alarm.clear();
  }

  protected reschedule(now = this.clock.now()): void {
    if (now >= this.until) {
      for (let head = this.queue.head; head !== undefined; head = this.queue.head) this.grant(head, NOOP_PERMIT, now);
      this.alarm.clear();
    } else if (this.waiting > 0) this.alarm.set(this.until);
    else this.alarm.clear();
  }

  stats(): CooldownStats {
    const now = this.clock.now();
    return { ...this.baseStats(), maxWaitMs: this.noDeadlineWaitMs, closedUntil: this.until, remainingMs: this.remaining(now), closures: this.closures };
  }
}

/**
 * Creates a cooldown gate: open until {@link Cooldown.closeUntil} closes it, and then closed for every caller until
 * that time. It is how one caller's news ("the server said wait 30 s") protects all the others: put it in the
 * pipeline every caller of a dependency shares, and close it when the dependency pushes back. `sluice/fetch` does
 * this with each origin's `Retry-After`.
 *
 * **While closed:** a call with a deadline waits for the opening when it comes before the deadline, and is refused at
 * once with `DEADLINE_EXCEEDED` when it does not; a call without a deadline waits up to `maxWaitMs` (default 0:
 * refused at once with `RATE_LIMITED`). Every refusal carries the time left as `retryAfterMs`, so a retry policy
 * outside waits exactly that long. Waiters are admitted together when the gate opens (put a token bucket inside to
 * pace them); an aborted waiter leaves at once with `signal.reason`. An open gate admits at the cost of one clock
 * read and arms no timer; a closed one arms one timer, only while someone waits.
 *
 * @throws {TypeError | RangeError} on an invalid or unknown option (the message names it).
 * @example
 * ```ts
 * const gate = cooldown();
 * const res = await gate.execute(() => fetch(url), { timeoutMs: 5_000 });
 * if (res.status === 429) gate.closeUntil(gate.clock.now() + 30_000);
 * ```
 */
export function cooldown(options?: CooldownOptions): Cooldown {
  return new CooldownImpl(options);
}
