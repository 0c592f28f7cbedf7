/**
 * An in-memory metrics registry backed by hdr-histogram-js. Exporters (Prometheus text, OpenTelemetry) read its
 * {@link MetricsRegistry.snapshot}.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram, Labels, MetricDescriptor, Metrics, Unregister } from './metrics.js';

/** Summary of one histogram series at snapshot time. Values in the histogram's unit (ms). */
export interface HistogramSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** One series in a snapshot. */
export type MetricSample =
  | { type: 'counter' | 'gauge'; name: string; help: string; labels: Labels; value: number }
  | { type: 'histogram'; name: string; help: string; labels: Labels; summary: HistogramSummary };

/** A {@link Metrics} sink that keeps everything in memory. */
export interface MetricsRegistry extends Metrics {
  /** Reads every registered series now. */
  snapshot(): MetricSample[];
  /** Percentile of a histogram series, or undefined if it does not exist. */
  histogramSummary(name: string, labels: Labels): HistogramSummary | undefined;
  /** Clears all histograms (counters and gauges are owned by the primitives). */
  resetHistograms(): void;
}

/** Histograms store microseconds as integers: 1 µs resolution, 3 significant digits, up to ~1 hour. */
const SCALE = 1000;
const HIGHEST = 3_600_000 * SCALE;

class HdrHistogram implements Histogram {
  readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, autoResize: false });
  record(value: number): void {
    if (!(value >= 0)) return;
    this.h.recordValue(Math.min(HIGHEST, Math.round(value * SCALE)));
  }
  summary(): HistogramSummary {
    const h = this.h;
    const n = h.totalCount;
    const at = (p: number): number => (n === 0 ? 0 : h.getValueAtPercentile(p) / SCALE);
    return {
      count: n,
      // Not minNonZeroValue: zeros are valid samples (a wait rounded to 0 µs), and with only zeros it is MAX_SAFE_INTEGER.
      min: at(0),
      max: n === 0 ? 0 : h.maxValue / SCALE,
      mean: n === 0 ? 0 : h.mean / SCALE,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
    };
  }
}

function key(name: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return name + '{' + keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',') + '}';
}

/**
 * Creates an in-memory registry.
 * @example
 * ```ts
 * const metrics = createMetricsRegistry();
 * const bucket = tokenBucket({ capacity: 5, refillPerSecond: 1, metrics });
 * await bucket.execute(call);
 * metrics.snapshot().find((s) => s.name === 'sluice_admitted_total');
 * ```
 */
export function createMetricsRegistry(): MetricsRegistry {
  const observed = new Map<string, { type: 'counter' | 'gauge'; d: MetricDescriptor; read: () => number }>();
  const histograms = new Map<string, { d: MetricDescriptor; h: HdrHistogram }>();

  const observe =
    (type: 'counter' | 'gauge') =>
    (d: MetricDescriptor, read: () => number): Unregister => {
      const k = key(d.name, d.labels);
      const entry = { type, d, read };
      observed.set(k, entry);
      return () => {
        if (observed.get(k) === entry) observed.delete(k);
      };
    };

  return {
    counter: observe('counter'),
    gauge: observe('gauge'),
    histogram(d) {
      const k = key(d.name, d.labels);
      let e = histograms.get(k);
      if (e === undefined) {
        e = { d, h: new HdrHistogram() };
        histograms.set(k, e);
      }
      return e.h;
    },
    snapshot() {
      const out: MetricSample[] = [];
      for (const { type, d, read } of observed.values()) {
        out.push({ type, name: d.name, help: d.help, labels: d.labels, value: read() });
      }
      for (const { d, h } of histograms.values()) {
        out.push({ type: 'histogram', name: d.name, help: d.help, labels: d.labels, summary: h.summary() });
      }
      return out;
    },
    histogramSummary(name, labels) {
      return histograms.get(key(name, labels))?.h.summary();
    },
    resetHistograms() {
      for (const { h } of histograms.values()) h.h.reset();
    },
  };
}
