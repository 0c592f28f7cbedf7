/**
 * The bookkeeping every primitive shares: counts by outcome and reason, typed events that cost nothing when
 * nobody listens, and the standard metric series registered once with the sink.
 */
import { EventEmitter } from 'eventemitter3';
import { safeEmit } from './safe-call.js';
import { DisposedError, REJECTION_CODES, type RejectionCode } from './errors.js';
import { METRIC, noopMetrics, type Histogram, type Labels, type MetricName, type Metrics, type Unregister } from '../metrics/metrics.js';
import { schemaOf } from '../metrics/schema.js';

/** A metric's help text, from the schema (every name in METRIC has one; a test holds them together). */
function helpOf(name: MetricName): string {
  return schemaOf(name)?.help ?? name;
}

/** Emitted when a call is refused (`reject`) or, in dry-run mode, would have been refused (`wouldReject`). */
export interface RejectEvent {
  /** Policy instance name. */
  readonly policy: string;
  readonly reason: RejectionCode;
  readonly retryAfterMs: number;
  /** Cost of the refused call. */
  readonly cost: number;
}

/** Emitted once when a primitive is disposed. */
export interface DisposeEvent {
  readonly policy: string;
  /** Waiters rejected by the disposal. */
  readonly rejectedWaiters: number;
}

/** Events every limiter emits. Names are stable. */
export interface LimiterEvents {
  /** A call was refused. */
  reject: (event: RejectEvent) => void;
  /** Dry-run only: a call was admitted that enforcement would have refused. */
  wouldReject: (event: RejectEvent) => void;
  /** The primitive was disposed. */
  dispose: (event: DisposeEvent) => void;
}

/** Counters every limiter reports in `stats()`. */
export interface LimiterCounts {
  /** Calls admitted (including those admitted after waiting). */
  admitted: number;
  /** Calls refused, all reasons. */
  rejected: number;
  /** Calls refused, by reason. */
  rejectedBy: Record<RejectionCode, number>;
  /** Waiters that left because their signal aborted (not counted in `rejected`). */
  aborted: number;
  /** Dry-run: calls that would have been refused, by reason. */
  wouldRejectBy: Record<RejectionCode, number>;
}

function zeroByCode(): Record<RejectionCode, number> {
  const r = {} as Record<RejectionCode, number>;
  for (const c of REJECTION_CODES) r[c] = 0;
  return r;
}

/** Live policy names per metrics sink, `kind` + NUL + `name`; one table per process (shared by every copy of sluice). */
const LIVE_NAMES_KEY = Symbol.for('sluice.liveNames');
const liveNames: WeakMap<object, Set<string>> = ((globalThis as { [LIVE_NAMES_KEY]?: WeakMap<object, Set<string>> })[LIVE_NAMES_KEY] ??= new WeakMap());

/** Whether names must be unique on `metrics`: every sink that keeps series (all but the no-op sink). */
function tracked(metrics: unknown): metrics is object {
  return typeof metrics === 'object' && metrics !== null && metrics !== noopMetrics;
}

function isLive(metrics: object, kind: string, name: string): boolean {
  return liveNames.get(metrics)?.has(kind + '\0' + name) === true;
}

/**
 * The name an unnamed primitive of `kind` gets on `metrics`: `kind` itself, or, when a live primitive of that kind
 * already reports to that sink under it, `kind#2`, `kind#3`, ... (the smallest free one). Without a sink (or with
 * the no-op sink), always `kind`: nothing can collide. `base` replaces `kind` as the name to number (a wrapper
 * named after itself whose series are registered by a primitive of another kind).
 * @example
 * ```ts
 * const metrics = createMetricsRegistry();
 * tokenBucket({ capacity: 1, refillPerSecond: 1, metrics }).name; // 'tokenBucket'
 * tokenBucket({ capacity: 1, refillPerSecond: 1, metrics }).name; // 'tokenBucket#2'
 * ```
 */
export function defaultPolicyName(kind: string, metrics: unknown, base: string = kind): string {
  if (!tracked(metrics) || !isLive(metrics, kind, base)) return base;
  let n = 2;
  while (isLive(metrics, kind, `${base}#${n}`)) n++;
  return `${base}#${n}`;
}

/**
 * Shared telemetry of one primitive instance. `events` is the instance's public emitter.
 *
 * Constructing it registers the primitive's series with the sink and claims its name there: a second live
 * primitive of the same kind and name on one sink would overwrite the first one's series, so it is refused. The
 * claim and the series are released by {@link disposed}; a disposed primitive's name can be used again.
 */
export class Telemetry<Events extends EventEmitter.ValidEventTypes> {
  readonly events: EventEmitter<Events> = new EventEmitter<Events>();
  readonly counts: LimiterCounts = { admitted: 0, rejected: 0, rejectedBy: zeroByCode(), aborted: 0, wouldRejectBy: zeroByCode() };
  /** Wait-time histogram, or undefined when the sink does not record (then nobody times waits). */
  readonly queueWait: Histogram | undefined;
  /** Call-duration histograms by outcome; undefined when the sink does not record (then calls are not timed). */
  readonly duration: { readonly success: Histogram; readonly failure: Histogram } | undefined;
  private readonly unregister: Unregister[] = [];
  private readonly labels: Labels;
  private claimed = false;
  /** True when a metrics sink (not the no-op one) receives this policy's series. */
  readonly observed: boolean;

  /**
   * @throws {TypeError} naming option "name" when a live primitive of the same `kind` and name already reports to
   * `metrics`.
   */
  constructor(
    readonly kind: string,
    readonly policy: string,
    private readonly metrics: Metrics = noopMetrics,
  ) {
    this.labels = { policy, kind };
    this.observed = tracked(metrics);
    this.claim();
    try {
      const c = this.counts;
      this.counter(METRIC.admitted, {}, () => c.admitted);
      this.counter(METRIC.aborted, {}, () => c.aborted);
      for (const code of REJECTION_CODES) {
        this.counter(METRIC.rejected, { reason: code }, () => c.rejectedBy[code]);
        this.counter(METRIC.wouldReject, { reason: code }, () => c.wouldRejectBy[code]);
      }
      this.queueWait = this.histogram(METRIC.queueWait);
      const success = this.histogram(METRIC.duration, { outcome: 'success' });
      const failure = this.histogram(METRIC.duration, { outcome: 'failure' });
      this.duration = success !== undefined && failure !== undefined ? { success, failure } : undefined;
    } catch (e) {
      this.release(); // a sink that throws leaves nothing registered
      throw e;
    }
  }

  private claim(): void {
    const sink = this.metrics;
    if (!tracked(sink)) return;
    if (isLive(sink, this.kind, this.policy)) {
      throw new TypeError(
        `${this.kind}: option "name" must be unique among the live ${this.kind} policies of one metrics registry: ` +
          `${JSON.stringify(this.policy)} is taken, and a second one would overwrite its series (give it another name, or dispose() the first)`,
      );
    }
    let names = liveNames.get(sink);
    if (names === undefined) liveNames.set(sink, (names = new Set()));
    names.add(this.kind + '\0' + this.policy);
    this.claimed = true;
  }

  /** Drops every registration and the name claim. Idempotent. */
  private release(): void {
    for (const u of this.unregister.splice(0)) u();
    if (this.claimed) {
      this.claimed = false;
      liveNames.get(this.metrics)?.delete(this.kind + '\0' + this.policy);
    }
  }

  /**
   * Records how long `call` takes (from `startMs` on `clock`) into the duration histograms. Only call it when
   * {@link duration} is defined; it adds one promise reaction.
   */
  timed<T>(call: Promise<T>, clock: { now(): number }, startMs: number): Promise<T> {
    const d = this.duration!;
    return call.then(
      (value) => {
        d.success.record(clock.now() - startMs);
        return value;
      },
      (error: unknown) => {
        d.failure.record(clock.now() - startMs);
        throw error;
      },
    );
  }

  /** Registers a counter series of `name` (its help text from the schema) with the policy's labels and `labels`. */
  counter(name: MetricName, labels: Labels, read: () => number): void {
    this.unregister.push(this.metrics.counter({ name, help: helpOf(name), labels: { ...this.labels, ...labels } }, read));
  }

  /** Registers a gauge series, as {@link counter}. */
  gauge(name: MetricName, labels: Labels, read: () => number): void {
    this.unregister.push(this.metrics.gauge({ name, help: helpOf(name), labels: { ...this.labels, ...labels } }, read));
  }

  /** A histogram from the sink (undefined when it records none), unregistered by {@link disposed}. */
  histogram(name: MetricName, labels: Labels = {}): Histogram | undefined {
    const h = this.metrics.histogram({ name, help: helpOf(name), labels: { ...this.labels, ...labels } });
    if (h !== undefined && typeof h.unregister === 'function') this.unregister.push(() => h.unregister!());
    return h;
  }

  private get untyped(): EventEmitter {
    return this.events as unknown as EventEmitter;
  }

  /**
   * Emits `event` with `payload`. A listener that throws never reaches the policy or its caller: its error is
   * re-raised asynchronously (`reportError` in safe-call.ts), so one faulty listener cannot break a policy's
   * bookkeeping, make `execute()` throw, or stop a shared timer from serving other callers.
   */
  emit(event: EventEmitter.EventNames<Events> & string, payload: unknown): void {
    safeEmit(this.untyped, event, payload);
  }

  /** Whether anyone listens to `event` (check before building an event object). */
  listening(event: EventEmitter.EventNames<Events>): boolean {
    return this.events.listenerCount(event) > 0;
  }

  /** Counts a refusal and emits `reject` if anyone listens. */
  rejected(reason: RejectionCode, retryAfterMs: number, cost: number): void {
    this.counts.rejected++;
    this.counts.rejectedBy[reason]++;
    if (this.untyped.listenerCount('reject') > 0) {
      safeEmit(this.untyped, 'reject', { policy: this.policy, reason, retryAfterMs, cost } satisfies RejectEvent);
    }
  }

  /**
   * The refusal of a call made after `dispose()`: counted under `DISPOSED` (and emitted), returned as the rejected
   * promise the call ends with.
   */
  refuseDisposed(cost: number): Promise<never> {
    this.rejected('DISPOSED', 0, cost);
    return Promise.reject(new DisposedError(this.policy));
  }

  /** Counts a dry-run would-be refusal and emits `wouldReject` if anyone listens. */
  wouldReject(reason: RejectionCode, retryAfterMs: number, cost: number): void {
    this.counts.wouldRejectBy[reason]++;
    if (this.untyped.listenerCount('wouldReject') > 0) {
      safeEmit(this.untyped, 'wouldReject', { policy: this.policy, reason, retryAfterMs, cost } satisfies RejectEvent);
    }
  }

  /** Emits `dispose`, drops every metric registration (histograms included) and frees the name on the sink. */
  disposed(rejectedWaiters: number): void {
    this.release();
    safeEmit(this.untyped, 'dispose', { policy: this.policy, rejectedWaiters } satisfies DisposeEvent);
  }

  /** A copy of the counters for `stats()`. */
  snapshotCounts(): LimiterCounts {
    const c = this.counts;
    return { admitted: c.admitted, rejected: c.rejected, rejectedBy: { ...c.rejectedBy }, aborted: c.aborted, wouldRejectBy: { ...c.wouldRejectBy } };
  }
}
