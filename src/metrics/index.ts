/**
 * Metrics: one interface for every primitive. Counters and gauges are observed at collection time (free on the hot
 * path); latency goes to hdr-histogram-js histograms only when a sink records them.
 * @module
 */
export { noopMetrics, METRIC, type MetricName, type Metrics, type MetricDescriptor, type Histogram, type Labels, type Unregister } from './metrics.js';
export { createMetricsRegistry, type MetricsRegistry, type MetricSample, type HistogramSummary } from './registry.js';
export { METRIC_SCHEMA, schemaOf, prometheusName, type MetricSchema, type MetricKind } from './schema.js';
