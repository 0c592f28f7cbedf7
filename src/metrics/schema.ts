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
  /**
   * The OpenTelemetry name (dotted, no `_total`, no unit in the name), as exporters publish it; the Prometheus name
   * follows from it and {@link MetricSchema.exportUnit} by the OpenTelemetry-to-Prometheus rules
   * ({@link prometheusName}).
   */
  readonly otelName: string;
  /** The unit exporters publish it in (UCUM): `s` for what is recorded in `ms`, otherwise {@link unit}. */
  readonly exportUnit: string;
  /** The factor from the recorded unit to the exported one (0.001 for `ms` to `s`, else 1). */
  readonly exportScale: number;
}

type Key = keyof typeof METRIC;

const S = (key: Key, kind: MetricKind, unit: string, labels: readonly string[], help: string, otelName: string): MetricSchema =>
  Object.freeze({
    name: METRIC[key],
    kind,
    unit,
    labels: Object.freeze([...labels]),
    help,
    otelName,
    exportUnit: unit === 'ms' ? 's' : unit,
    exportScale: unit === 'ms' ? 0.001 : 1,
  });

/** Every metric, by its {@link METRIC} key. */
export const METRIC_SCHEMA: Readonly<Record<Key, MetricSchema>> = Object.freeze({
  admitted: S('admitted', 'counter', '{call}', [], 'Calls admitted', 'sluice.admitted'),
  rejected: S('rejected', 'counter', '{call}', ['reason'], 'Calls refused locally, by rejection code', 'sluice.rejected'),
  wouldReject: S('wouldReject', 'counter', '{call}', ['reason'], 'Dry run: calls that would have been refused, by rejection code', 'sluice.would_reject'),
  aborted: S('aborted', 'counter', '{call}', [], 'Waiters that left the queue because their signal aborted', 'sluice.aborted'),
  queued: S('queued', 'gauge', '{call}', [], 'Callers waiting', 'sluice.queue.length'),
  queuedByPriority: S('queuedByPriority', 'gauge', '{call}', ['priority'], 'Callers waiting, per priority class', 'sluice.queue.length_by_priority'),
  queuedByTenant: S('queuedByTenant', 'gauge', '{call}', ['tenant'], 'Callers waiting, per tenant (the first 32 tenants seen, the rest under "(other)")', 'sluice.queue.length_by_tenant'),
  shed: S('shed', 'counter', '{call}', ['trigger'], 'Queued calls shed', 'sluice.shed'),
  inflight: S('inflight', 'gauge', '{call}', [], 'Calls running now (units of cost, for a concurrency limiter)', 'sluice.inflight'),
  limit: S('limit', 'gauge', '{call}', [], 'Concurrency limit in force', 'sluice.limit'),
  tokens: S('tokens', 'gauge', '{token}', [], 'Tokens available', 'sluice.tokens'),
  cooldownRemaining: S('cooldownRemaining', 'gauge', 'ms', [], 'Time until the cooldown gate opens (0 when open)', 'sluice.cooldown.remaining'),
  keys: S('keys', 'gauge', '{key}', [], 'Keys with live state', 'sluice.keys'),
  keyEvictions: S('keyEvictions', 'counter', '{key}', ['reason'], 'Keys evicted, by reason', 'sluice.key_evictions'),
  queueWait: S('queueWait', 'histogram', 'ms', [], 'Time admitted calls waited', 'sluice.queue.wait'),
  duration: S('duration', 'histogram', 'ms', ['outcome'], 'Duration of calls run through execute()', 'sluice.call.duration'),
  circuitState: S('circuitState', 'gauge', '{state}', ['state'], 'Circuit state (1 for the current state, 0 for the others)', 'sluice.circuit.state'),
  circuitOpens: S('circuitOpens', 'counter', '{opening}', [], 'Circuit openings', 'sluice.circuit.opens'),
  circuitTransitions: S('circuitTransitions', 'counter', '{transition}', ['from', 'to'], 'Circuit state transitions', 'sluice.circuit.transitions'),
  circuitCalls: S('circuitCalls', 'counter', '{call}', ['outcome'], 'Outcomes of calls through the breaker', 'sluice.circuit.calls'),
  retryAttempts: S('retryAttempts', 'counter', '{attempt}', [], 'Attempts started, first attempts included', 'sluice.retry.attempts'),
  retries: S('retries', 'counter', '{retry}', [], 'Retries started', 'sluice.retries'),
  retryGiveUps: S('retryGiveUps', 'counter', '{call}', ['reason'], 'Calls that stopped retrying, by reason', 'sluice.retry.give_ups'),
  retryNested: S('retryNested', 'counter', '{call}', [], 'Calls run as a single attempt inside another retry', 'sluice.retry.nested'),
  retrySleeping: S('retrySleeping', 'gauge', '{call}', [], 'Calls waiting in a backoff', 'sluice.retry.sleeping'),
  retryBudgetAvailable: S('retryBudgetAvailable', 'gauge', '{retry}', [], 'Retries the budget could grant now', 'sluice.retry.budget_available'),
  timeouts: S('timeouts', 'counter', '{call}', [], 'Calls rejected because they ran past their deadline', 'sluice.timeouts'),
  throttleProbability: S('throttleProbability', 'gauge', '1', [], 'Probability that a call is refused locally', 'sluice.throttle.rejection_probability'),
  fallbacks: S('fallbacks', 'counter', '{call}', ['on'], 'Failures replaced by a fallback', 'sluice.fallbacks'),
  storeCalls: S('storeCalls', 'counter', '{request}', ['outcome'], 'Round trips to the shared store, by outcome', 'sluice.store.calls'),
  storeFallbacks: S('storeFallbacks', 'counter', '{call}', ['mode'], 'Calls decided by the failure mode while the store was unreachable', 'sluice.store.fallbacks'),
  storeCachedRefusals: S('storeCachedRefusals', 'counter', '{call}', [], 'Refusals answered from the local cache of blocked subjects', 'sluice.store.cached_refusals'),
  storeDuration: S('storeDuration', 'histogram', 'ms', [], 'Round-trip time of store calls that answered', 'sluice.store.duration'),
  storeLeasesLost: S('storeLeasesLost', 'counter', '{lease}', [], 'Leases found expired when renewed', 'sluice.store.leases_lost'),
});

/** OpenTelemetry UCUM units with a Prometheus suffix (the translator's table, for the units sluice uses). */
const UNIT_SUFFIX: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes' };

/**
 * The Prometheus name of a metric, by the OpenTelemetry-to-Prometheus translation rules (as the OpenTelemetry
 * Collector and `prometheus/otlptranslator` apply them): dots become `_`, a standard unit is appended in its plural
 * form (`s` → `_seconds`), a `{annotation}` unit is dropped, a dimensionless (`1`) gauge gets `_ratio`, and a
 * counter ends in `_total`.
 * @example
 * ```ts
 * prometheusName(METRIC_SCHEMA.queueWait); // 'sluice_queue_wait_seconds'
 * prometheusName(METRIC_SCHEMA.admitted); // 'sluice_admitted_total'
 * ```
 */
export function prometheusName(schema: Pick<MetricSchema, 'otelName' | 'exportUnit' | 'kind'>): string {
  let name = schema.otelName.replace(/[^a-zA-Z0-9_:]/g, '_');
  const u = schema.exportUnit;
  const suffix = UNIT_SUFFIX[u] ?? (u === '1' && schema.kind === 'gauge' ? 'ratio' : undefined);
  if (suffix !== undefined && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  if (schema.kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

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
