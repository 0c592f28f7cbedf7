/**
 * `sluice/otel`: a metrics sink that reports through an OpenTelemetry `Meter` (@opentelemetry/api, an optional peer:
 * only its types are imported). Counters and gauges become observable instruments read at collection time, so the hot
 * path pays nothing for them; durations are histograms in seconds, with explicit bucket advice.
 */
import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import type { Metrics } from '../metrics/metrics.js';
import * as v from '../core/validate.js';
import { EXPORTER_KEYS, SeriesStore, instrumentedSink, parseExporterOptions, type ExporterOptions, type ObservedFamily } from './series.js';

/** Options of {@link otelMetrics}: the exporters' common ones. */
export type OtelOptions = ExporterOptions;

/**
 * Creates a metrics sink over an OpenTelemetry meter: pass it as `metrics` to sluice's primitives. Each metric becomes
 * one instrument named by the schema (`sluice.admitted`, `sluice.queue.wait`, ...; see docs/metrics.md) with its UCUM
 * unit: counters are observable counters, gauges observable gauges, both read when the SDK collects; durations are
 * histograms in **seconds** (recorded in ms, converted), with explicit bucket advice. Series attributes are the
 * labels (`policy`, `kind`, `reason`, ...). A counter keeps its count when its policy is disposed and made again
 * under the same name.
 *
 * @throws {TypeError | RangeError} when `meter` is not a Meter or an option is invalid (the message names it).
 * @example
 * ```ts
 * import { metrics as otel } from '@opentelemetry/api';
 * import { otelMetrics } from 'sluice/otel';
 * const metrics = otelMetrics(otel.getMeter('checkout'));
 * const bucket = tokenBucket({ name: 'github', capacity: 50, refillPerSecond: 10, metrics });
 * ```
 */
export function otelMetrics(meter: Meter, options?: OtelOptions): Metrics {
  const owner = 'otelMetrics';
  v.shaped<Meter>(owner, 'meter', meter, ['createHistogram', 'createObservableCounter', 'createObservableGauge']);
  const o = v.optionsObject<OtelOptions>(owner, options ?? {}, v.keys(...EXPORTER_KEYS));
  const { buckets, maxSeries, histograms: withHistograms } = parseExporterOptions(owner, o);
  const store = new SeriesStore(maxSeries);

  const instrument = (f: ObservedFamily): void => {
    const opts = { description: f.schema.help, unit: f.schema.exportUnit };
    const scale = f.schema.exportScale;
    const callback = (result: ObservableResult): void => {
      for (const s of f.series.values()) result.observe(s.value() * scale, s.labels as Attributes);
    };
    const inst = f.type === 'counter' ? meter.createObservableCounter(f.schema.otelName, opts) : meter.createObservableGauge(f.schema.otelName, opts);
    inst.addCallback(callback);
  };

  // Series folded beyond the cap, per metric, counted where operators look.
  meter
    .createObservableCounter('sluice.exporter.folded_series', { description: 'Series folded into policy="(other)" because their metric had reached maxSeriesPerMetric', unit: '{series}' })
    .addCallback((result) => {
      for (const [metric, n] of store.folded) result.observe(n, { metric });
    });

  return instrumentedSink(store, withHistograms, instrument, (_d, schema) => {
    const h = meter.createHistogram(schema.otelName, { description: schema.help, unit: schema.exportUnit, advice: { explicitBucketBoundaries: [...buckets] } });
    return (value, labels) => h.record(value, labels as Attributes);
  });
}
