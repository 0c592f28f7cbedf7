/**
 * `sluice/prometheus`: serve sluice's metrics in the Prometheus text format, without a Prometheus client library.
 * See `prometheusMetrics`.
 * @module
 */
export { prometheusMetrics, DEFAULT_BUCKETS, FOLDED, type PrometheusMetrics, type PrometheusOptions } from './prometheus.js';
