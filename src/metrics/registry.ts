/**
 * An in-memory metrics registry backed by hdr-histogram-js. Exporters (Prometheus text, OpenTelemetry) read its
 * {@link MetricsRegistry.snapshot}.
 *
 * hdr-histogram-js is loaded on the first value recorded, not when sluice is imported: its entry point loads
 * pako, a WebAssembly build and log codecs (about 25–30 ms here), which a process that records no histogram should
 * not pay. The load is synchronous (`require`, through `createRequire` in the ESM build), since `record()` is.
 */
import { createRequire } from 'node:module';
import type * as HdrModule from 'hdr-histogram-js';
import type { Histogram, Labels, MetricDescriptor, Metrics, Unregister } from './metrics.js';

let hdr: typeof HdrModule | undefined;
/** hdr-histogram-js, required on first use. */
function loadHdr(): typeof HdrModule {
  return (hdr ??= createRequire(import.meta.url)('hdr-histogram-js') as typeof HdrModule);
}

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

const EMPTY: HistogramSummary = Object.freeze({ count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });

/** One series' distribution. The hdr histogram behind it is built on the first recorded value. */
class HdrHistogram {
  private h: HdrModule.Histogram | undefined = undefined;
  record(value: number): void {
    if (!(value >= 0)) return;
    (this.h ??= loadHdr().build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, autoResize: false })).recordValue(
      Math.min(HIGHEST, Math.round(value * SCALE)),
    );
  }
  reset(): void {
    this.h?.reset();
  }
  summary(): HistogramSummary {
    const h = this.h;
    const n = h === undefined ? 0 : h.totalCount;
    if (h === undefined || n === 0) return { ...EMPTY };
    const at = (p: number): number => h.getValueAtPercentile(p) / SCALE;
    return {
      count: n,
      // Not minNonZeroValue: zeros are valid samples (a wait rounded to 0 µs), and with only zeros it is MAX_SAFE_INTEGER.
      min: at(0),
      max: h.maxValue / SCALE,
      mean: h.mean / SCALE,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
    };
  }
}

interface HistogramEntry {
  /** Series key (name and sorted labels). */
  readonly k: string;
  readonly d: MetricDescriptor;
  readonly h: HdrHistogram;
  /** Registrations not yet unregistered; the series leaves the registry when the last one goes. */
  refs: number;
}

/** What {@link MetricsRegistry.histogram} hands out: one per registration, so each can unregister once. */
class Registration implements Histogram {
  private live = true;
  constructor(
    private readonly e: HistogramEntry,
    private readonly drop: (e: HistogramEntry) => void,
  ) {}
  record(value: number): void {
    this.e.h.record(value);
  }
  unregister(): void {
    if (!this.live) return;
    this.live = false;
    if (--this.e.refs === 0) this.drop(this.e);
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
  const histograms = new Map<string, HistogramEntry>();
  const drop = (e: HistogramEntry): void => {
    if (histograms.get(e.k) === e) histograms.delete(e.k);
  };

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
        e = { k, d, h: new HdrHistogram(), refs: 0 };
        histograms.set(k, e);
      }
      e.refs++;
      return new Registration(e, drop);
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
      for (const { h } of histograms.values()) h.reset();
    },
  };
}
