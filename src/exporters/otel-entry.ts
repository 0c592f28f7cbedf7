/**
 * `sluice/otel`: report sluice's metrics through an OpenTelemetry Meter (@opentelemetry/api is an optional peer
 * dependency). See `otelMetrics`.
 * @module
 */
export { otelMetrics, type OtelOptions } from './otel.js';
