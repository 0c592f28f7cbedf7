/**
 * The one metrics interface every primitive reports through.
 *
 * Counters and gauges are *observable*: a primitive registers a read function once, at construction, and the sink
 * calls it when it collects. The hot path therefore pays nothing for them. Latency goes through histograms, which
 * record per call only when a sink hands one out (the no-op sink hands out none, so unobserved primitives skip the
 * timing entirely).
 */

/** Label set of a metric series, e.g. `{ policy: 'api', reason: 'RATE_LIMITED' }`. */
export type Labels = Readonly<Record<string, string>>;

/** Identity and documentation of one metric series. */
export interface MetricDescriptor {
  /** Stable snake_case name with unit suffix, from {@link METRIC}. */
  readonly name: string;
  /** One-line description. */
  readonly help: string;
  readonly labels: Labels;
}

/** A latency (or other value) distribution. Values are milliseconds unless the name says otherwise. */
export interface Histogram {
  record(value: number): void;
  /**
   * Optional: ends this registration (a primitive's `dispose()` calls it once, like the {@link Unregister} of its
   * counters and gauges). A sink that hands out one histogram for several registrations of a series should drop the
   * series when the last one unregisters.
   */
  unregister?(): void;
}

/** Undoes a registration (called by `dispose()`). */
export type Unregister = () => void;

/**
 * A metrics sink. Implement it to bridge to another system, or use {@link createMetricsRegistry}.
 * @example
 * ```ts
 * const metrics = createMetricsRegistry();
 * const bucket = tokenBucket({ capacity: 10, refillPerSecond: 5, metrics });
 * metrics.snapshot(); // every series of every primitive registered with it
 * ```
 */
export interface Metrics {
  /** A monotonically increasing count, read from `read()` at collection time. */
  counter(descriptor: MetricDescriptor, read: () => number): Unregister;
  /** A value that goes up and down, read from `read()` at collection time. */
  gauge(descriptor: MetricDescriptor, read: () => number): Unregister;
  /** A histogram to record into, or `undefined` when this sink does not record distributions. */
  histogram(descriptor: MetricDescriptor): Histogram | undefined;
}

const noop: Unregister = () => {};

/** The default sink: records nothing, costs nothing. */
export const noopMetrics: Metrics = Object.freeze({
  counter: () => noop,
  gauge: () => noop,
  histogram: () => undefined,
});

/**
 * Every metric name sluice reports, in one list. Every primitive uses these, with a `policy` label (its name) and a
 * `kind` label (`tokenBucket`, `leakyBucket`, `bulkhead`, `circuitBreaker`, `retry`, `timeout`, `fallback`), plus
 * the labels listed per name. Names are stable within a major version.
 */
export const METRIC = Object.freeze({
  /** Calls admitted (started). Counter. */
  admitted: 'sluice_admitted_total',
  /** Calls refused locally; label `reason` = RejectionCode. Counter. */
  rejected: 'sluice_rejected_total',
  /** Dry-run: calls that would have been refused; label `reason`. Counter. */
  wouldReject: 'sluice_would_reject_total',
  /** Waiters that left the queue because their signal aborted. Counter. */
  aborted: 'sluice_aborted_total',
  /** Calls waiting in the primitive's queue. Gauge. */
  queued: 'sluice_queue_length',
  /** Calls waiting per priority class; label `priority` = critical, high, default, low or sheddable. Gauge (bulkhead). */
  queuedByPriority: 'sluice_queue_length_by_priority',
  /** Calls waiting per tenant; label `tenant`: the first 32 tenants seen, the rest summed under `(other)`. Gauge (bulkhead). */
  queuedByTenant: 'sluice_queue_length_by_tenant',
  /** Queued calls shed; label `trigger` = `displaced` (a newcomer took its place) or `queue-delay` (CoDel). Counter. */
  shed: 'sluice_shed_total',
  /** Calls currently holding a permit. Gauge. */
  inflight: 'sluice_inflight',
  /** Current concurrency limit. Gauge. */
  limit: 'sluice_limit',
  /** Tokens available now (token bucket). Gauge. */
  tokens: 'sluice_tokens',
  /** Cooldown gate: ms until it opens (0 when open). Gauge. */
  cooldownRemaining: 'sluice_cooldown_remaining_ms',
  /** Keyed policy: keys with live state. Gauge. */
  keys: 'sluice_keys',
  /** Keyed policy: keys whose state was evicted (idle or least recently used). Counter. */
  keyEvictions: 'sluice_key_evictions_total',
  /** Time admitted calls spent waiting, ms. Histogram. */
  queueWait: 'sluice_queue_wait_ms',
  /** Duration of calls run through `execute()`, ms; label `outcome` = success | failure. Histogram. */
  duration: 'sluice_call_duration_ms',
  /** Circuit breaker: 1 for the current state, 0 for the others; label `state`. Gauge. */
  circuitState: 'sluice_circuit_state',
  /** Circuit breaker: openings. Counter. */
  circuitOpens: 'sluice_circuit_opens_total',
  /** Circuit breaker: state transitions; labels `from`, `to` (a series appears with its first transition). Counter. */
  circuitTransitions: 'sluice_circuit_transitions_total',
  /** Circuit breaker: outcomes of calls run through it; label `outcome` = success | failure | ignored. Counter. */
  circuitCalls: 'sluice_circuit_calls_total',
  /** Retry: attempts, first attempts included. Counter. */
  retryAttempts: 'sluice_retry_attempts_total',
  /** Retry: retries (attempts after the first that started). Counter. */
  retries: 'sluice_retries_total',
  /** Retry: calls that stopped retrying; label `reason` = GiveUpReason. Counter. */
  retryGiveUps: 'sluice_retry_give_ups_total',
  /** Retry: calls run as a single attempt inside another retry. Counter. */
  retryNested: 'sluice_retry_nested_total',
  /** Retry: calls waiting in a backoff. Gauge. */
  retrySleeping: 'sluice_retry_sleeping',
  /** Retry: retries the policy's budget could grant now, back to back (0 when exhausted). Gauge. */
  retryBudgetAvailable: 'sluice_retry_budget_available',
  /** Timeout: calls rejected because they ran past their deadline. Counter. */
  timeouts: 'sluice_timeouts_total',
  /** Adaptive throttle: the probability a call is refused locally now. Gauge. */
  throttleProbability: 'sluice_throttle_rejection_probability',
  /** Fallback: failures replaced by a fallback; label `on` = error | result. Counter. */
  fallbacks: 'sluice_fallbacks_total',
  /** Shared-store limiters (`sluice/redis`): round trips to the store; label `outcome` = ok | error | timeout | circuit_open. Counter. */
  storeCalls: 'sluice_store_calls_total',
  /** Shared-store limiters: calls decided by the failure mode while the store was unreachable; label `mode` = open | closed | local. Counter. */
  storeFallbacks: 'sluice_store_fallbacks_total',
  /** Shared-store limiters: refusals answered from the local cache of blocked subjects, without a round trip. Counter. */
  storeCachedRefusals: 'sluice_store_cached_refusals_total',
  /** Shared-store limiters: round-trip time of store calls that answered, ms. Histogram. */
  storeDuration: 'sluice_store_duration_ms',
  /** Shared concurrency limit: leases found expired when renewed (the process held the call past the lease). Counter. */
  storeLeasesLost: 'sluice_store_leases_lost_total',
});

/** A metric name from {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];
