/**
 * Queue length per priority class and per tenant, for metrics. Only built when a limiter reports to a metrics sink,
 * so an unobserved limiter pays nothing. Label cardinality is bounded whatever keys callers send: five priority
 * classes, and at most {@link MAX_TENANT_LABELS} tenant labels (the first seen); the rest are summed under
 * `(other)`.
 */
import { priorityClassOf, PRIORITY, type PriorityClass, type QueuedCall } from '../core/queue.js';
import { METRIC, type MetricName } from '../metrics/metrics.js';

/** Most tenants that get a label of their own; later ones are counted under `(other)`. */
export const MAX_TENANT_LABELS = 32;
/** The label value under which tenants beyond {@link MAX_TENANT_LABELS} (and calls without a tenant) are counted. */
export const OTHER_TENANTS = '(other)';

/** Per-class and per-tenant queue lengths of one limiter, registered as gauges on its sink as labels first appear. */
export class QueueGauges {
  private readonly byClass = new Map<PriorityClass, number>();
  private readonly byTenant = new Map<string, number>();

  constructor(private readonly t: { gauge(name: MetricName, labels: Readonly<Record<string, string>>, read: () => number): void }) {}

  enqueued(w: QueuedCall): void {
    this.add(w, 1);
  }

  dequeued(w: QueuedCall): void {
    this.add(w, -1);
  }

  private add(w: QueuedCall, d: number): void {
    const cls = priorityClassOf(w.priority);
    const c = this.byClass.get(cls);
    if (c === undefined) this.register(this.byClass, cls, METRIC.queuedByPriority, 'priority', d);
    else this.byClass.set(cls, c + d);
    const key = w.tenant !== undefined && (this.byTenant.has(w.tenant) || this.byTenant.size < MAX_TENANT_LABELS) ? w.tenant : OTHER_TENANTS;
    const n = this.byTenant.get(key);
    if (n === undefined) this.register(this.byTenant, key, METRIC.queuedByTenant, 'tenant', d);
    else this.byTenant.set(key, n + d);
  }

  private register<K extends string>(map: Map<K, number>, key: K, name: MetricName, label: string, d: number): void {
    map.set(key, d);
    this.t.gauge(name, { [label]: key }, () => map.get(key) ?? 0);
  }
}

/** The classes in rank order, for reports. */
export const PRIORITY_CLASSES: readonly PriorityClass[] = Object.freeze(Object.keys(PRIORITY) as PriorityClass[]);
