/**
 * `sluice/prometheus`: serve sluice's metrics in the Prometheus text format, without a Prometheus client library
 * (`prometheusMetrics`), or register them on a prom-client registry (`promClientMetrics`; prom-client is an optional
 * peer dependency).
 * @module
 */
export { prometheusMetrics, DEFAULT_BUCKETS, FOLDED, type PrometheusMetrics, type PrometheusOptions } from './prometheus.js';
export { promClientMetrics, type PromClientOptions } from './prom-client.js';
