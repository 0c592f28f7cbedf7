/**
 * Every metric sluice emits, described once: its kind, its unit, the labels it may carry beyond `policy` and `kind`,
 * and its help text. Primitives register their series through it (core/telemetry.ts takes the help text from here),
 * and exporters translate these descriptors into their own naming and units.
 */
import { METRIC, type MetricName } from './metrics.js';

/** How a series behaves: a monotonically increasing count, a value that goes up and down, or a distribution. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** The description of one metric (all its series). */
export interface MetricSchema {
  /** The name the in-memory registry reports it under (from {@link METRIC}). */
  readonly name: MetricName;
  readonly kind: MetricKind;
  /**
   * The unit of the values as recorded, in UCUM: `ms` (durations, which exporters convert to seconds), `1` (a ratio
   * or a 0/1 state), or a count of things in braces (`{call}`).
   */
  readonly unit: string;
  /** Labels its series carry besides `policy` and `kind`, each from a bounded set of values. */
  readonly labels: readonly string[];
  /** One-line description. */
  readonly help: string;
}

type Key = keyof typeof METRIC;

const S = (key: Key, kind: MetricKind, unit: string, labels: readonly string[], help: string): MetricSchema =>
  Object.freeze({ name: METRIC[key], kind, unit, labels: Object.freeze([...labels]), help });

/** Every metric, by its {@link METRIC} key. */
export const METRIC_SCHEMA: Readonly<Record<Key, MetricSchema>> = Object.freeze({
  admitted: S('admitted', 'counter', '{call}', [], 'Calls admitted'),
  rejected: S('rejected', 'counter', '{call}', ['reason'], 'Calls refused locally, by rejection code'),
  wouldReject: S('wouldReject', 'counter', '{call}', ['reason'], 'Dry run: calls that would have been refused, by rejection code'),
  aborted: S('aborted', 'counter', '{call}', [], 'Waiters that left the queue because their signal aborted'),
  queued: S('queued', 'gauge', '{call}', [], 'Callers waiting'),
  queuedByPriority: S('queuedByPriority', 'gauge', '{call}', ['priority'], 'Callers waiting, per priority class'),
  queuedByTenant: S('queuedByTenant', 'gauge', '{call}', ['tenant'], 'Callers waiting, per tenant (the first 32 tenants seen, the rest under "(other)")'),
  shed: S('shed', 'counter', '{call}', ['trigger'], 'Queued calls shed'),
  inflight: S('inflight', 'gauge', '{call}', [], 'Calls running now (units of cost, for a concurrency limiter)'),
  limit: S('limit', 'gauge', '{call}', [], 'Concurrency limit in force'),
  tokens: S('tokens', 'gauge', '{token}', [], 'Tokens available'),
  cooldownRemaining: S('cooldownRemaining', 'gauge', 'ms', [], 'Time until the cooldown gate opens (0 when open)'),
  keys: S('keys', 'gauge', '{key}', [], 'Keys with live state'),
  keyEvictions: S('keyEvictions', 'counter', '{key}', ['reason'], 'Keys evicted, by reason'),
  queueWait: S('queueWait', 'histogram', 'ms', [], 'Time admitted calls waited'),
  duration: S('duration', 'histogram', 'ms', ['outcome'], 'Duration of calls run through execute()'),
  circuitState: S('circuitState', 'gauge', '1', ['state'], 'Circuit state (1 for the current state, 0 for the others)'),
  circuitOpens: S('circuitOpens', 'counter', '{opening}', [], 'Circuit openings'),
  circuitCalls: S('circuitCalls', 'counter', '{call}', ['outcome'], 'Outcomes of calls through the breaker'),
  retryAttempts: S('retryAttempts', 'counter', '{attempt}', [], 'Attempts started, first attempts included'),
  retries: S('retries', 'counter', '{retry}', [], 'Retries started'),
  retryGiveUps: S('retryGiveUps', 'counter', '{call}', ['reason'], 'Calls that stopped retrying, by reason'),
  retryNested: S('retryNested', 'counter', '{call}', [], 'Calls run as a single attempt inside another retry'),
  retrySleeping: S('retrySleeping', 'gauge', '{call}', [], 'Calls waiting in a backoff'),
  retryBudgetAvailable: S('retryBudgetAvailable', 'gauge', '{retry}', [], 'Retries the budget could grant now'),
  timeouts: S('timeouts', 'counter', '{call}', [], 'Calls rejected because they ran past their deadline'),
  throttleProbability: S('throttleProbability', 'gauge', '1', [], 'Probability that a call is refused locally'),
  fallbacks: S('fallbacks', 'counter', '{call}', ['on'], 'Failures replaced by a fallback'),
});

const byName: ReadonlyMap<string, MetricSchema> = new Map(Object.values(METRIC_SCHEMA).map((s) => [s.name, s]));

/**
 * The schema of a metric by its registry name, or undefined for a name sluice does not emit.
 * @example
 * ```ts
 * schemaOf('sluice_queue_wait_ms'); // { kind: 'histogram', unit: 'ms', labels: [], help: 'Time admitted calls waited', ... }
 * ```
 */
export function schemaOf(name: string): MetricSchema | undefined {
  return byName.get(name);
}
