/**
 * `sluice/otel`: a metrics sink that reports through an OpenTelemetry `Meter` (@opentelemetry/api, an optional peer:
 * only its types are imported). Counters and gauges become observable instruments read at collection time, so the hot
 * path pays nothing for them; durations are histograms in seconds, with explicit bucket advice.
 */
import type { Attributes, Histogram as OtelHistogram, Meter, ObservableResult } from '@opentelemetry/api';
import type { Histogram, MetricDescriptor, Metrics } from '../metrics/metrics.js';
import * as v from '../core/validate.js';
import { SeriesStore, parseMaxSeries, schemaFor, type ObservedFamily } from './series.js';
import { DEFAULT_BUCKETS } from './prometheus.js';

/** Options of {@link otelMetrics}. */
export interface OtelOptions {
  /** Explicit bucket boundaries advised for duration histograms, seconds, strictly increasing. Default the Prometheus sink's `DEFAULT_BUCKETS`. */
  buckets?: readonly number[];
  /**
   * Most series of their own one metric keeps; a new one beyond it is folded into one with `policy="(other)"`.
   * Integer ≥ 1. Default 1000.
   */
  maxSeriesPerMetric?: number;
  /** Whether to hand out histograms; `false`: counters and gauges only, and nothing is timed. Default true. */
  histograms?: boolean;
}

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
  const o = v.optionsObject<OtelOptions>(owner, options ?? {}, v.keys('buckets', 'maxSeriesPerMetric', 'histograms'));
  const withHistograms = v.opt(o.histograms, true, (x) => v.bool(owner, 'histograms', x));
  const buckets = v.opt(o.buckets, DEFAULT_BUCKETS, (b) => {
    if (!Array.isArray(b) || b.length === 0 || !b.every((x, i) => typeof x === 'number' && Number.isFinite(x) && x > 0 && (i === 0 || x > (b[i - 1] as number)))) {
      throw new RangeError(`${owner}: option "buckets" must be a non-empty array of finite, positive, strictly increasing bounds in seconds, got ${v.describeValue(b)}`);
    }
    return Object.freeze([...b]) as readonly number[];
  });
  const store = new SeriesStore(parseMaxSeries(owner, o.maxSeriesPerMetric));
  const histograms = new Map<string, OtelHistogram>();

  const instrument = (f: ObservedFamily): void => {
    const opts = { description: f.schema.help, unit: f.schema.exportUnit };
    const scale = f.schema.exportScale;
    const callback = (result: ObservableResult): void => {
      for (const s of f.series.values()) result.observe(s.value() * scale, s.labels as Attributes);
    };
    const inst = f.type === 'counter' ? meter.createObservableCounter(f.schema.otelName, opts) : meter.createObservableGauge(f.schema.otelName, opts);
    inst.addCallback(callback);
  };

  return {
    counter: (d, read) => store.observe('counter', d, read, instrument),
    gauge: (d, read) => store.observe('gauge', d, read, instrument),
    histogram(d: MetricDescriptor): Histogram | undefined {
      if (!withHistograms) return undefined;
      const schema = schemaFor(d, 'histogram');
      let h = histograms.get(d.name);
      if (h === undefined) {
        h = meter.createHistogram(schema.otelName, { description: schema.help, unit: schema.exportUnit, advice: { explicitBucketBoundaries: [...buckets] } });
        histograms.set(d.name, h);
      }
      const { labels } = store.place(d);
      const attributes = labels as Attributes;
      const scale = schema.exportScale;
      const inst = h;
      return {
        record(value: number): void {
          if (value >= 0) inst.record(value * scale, attributes);
        },
        unregister(): void {},
      };
    },
  };
}
