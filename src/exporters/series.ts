/**
 * What every exporter keeps of the series registered with it: the observed counters and gauges (read at collection
 * time, a counter's count kept across its policy's re-creation), and the cap on series per metric, beyond which a
 * new series is folded into one with `policy="(other)"` and counted.
 */
import type { Histogram, Labels, MetricDescriptor, Metrics, Unregister } from '../metrics/metrics.js';
import { schemaOf, type MetricSchema } from '../metrics/schema.js';
import { reportError } from '../core/safe-call.js';
import * as v from '../core/validate.js';

/** The label value series beyond the cap are folded under (in place of their `policy`). */
export const FOLDED = '(other)';

/** Default cap on the series of their own one metric keeps. */
export const DEFAULT_MAX_SERIES = 1000;

/** A counter's or gauge's series: its read functions, and for a counter what registrations gone away had counted. */
export class ObservedSeries {
  readonly reads = new Set<() => number>();
  retired = 0;
  /** An exporter's rendering of the labels, cached (they never change). */
  rendered: string | undefined = undefined;
  constructor(
    readonly key: string,
    readonly labels: Labels,
  ) {}

  /** The value now: the sum of the reads that can say (NaN and throwing reads add nothing), plus what retired. */
  value(): number {
    let value = this.retired;
    for (const read of this.reads) {
      try {
        const x = read();
        if (typeof x === 'number' && !Number.isNaN(x)) value += x;
      } catch (e) {
        reportError(e);
      }
    }
    return value;
  }
}

/** One metric's series, as registered. */
export interface ObservedFamily {
  readonly d: MetricDescriptor;
  readonly type: 'counter' | 'gauge';
  readonly schema: MetricSchema;
  readonly series: Map<string, ObservedSeries>;
}

export function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

/** The schema of a descriptor, or one made up for a name sluice does not know (a user's own series). */
export function schemaFor(d: MetricDescriptor, kind: MetricSchema['kind']): MetricSchema {
  return (
    schemaOf(d.name) ?? { name: d.name as MetricSchema['name'], kind, unit: '', labels: [], help: d.help, otelName: d.name, exportUnit: '', exportScale: 1 }
  );
}

/**
 * Default histogram bucket bounds, seconds: the OpenTelemetry HTTP duration advice (5 ms to 10 s), with four finer
 * bounds below for in-process calls and queue waits.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** The options every exporter takes. */
export interface ExporterOptions {
  /** Histogram bucket upper bounds, seconds, strictly increasing. Default {@link DEFAULT_BUCKETS} (0.5 ms to 10 s). */
  buckets?: readonly number[];
  /**
   * Most series of their own one metric keeps; a new series beyond it is folded into one more, with
   * `policy="(other)"` (its values summed there), and counted. Integer ≥ 1. Default 1000.
   */
  maxSeriesPerMetric?: number;
  /**
   * Whether to hand out histograms (call durations, queue waits). `false`: counters and gauges only, and the
   * primitives then time nothing (their hot path is the same as with no sink at all). Default true.
   */
  histograms?: boolean;
}

/** The names of {@link ExporterOptions}, for the unknown-option check. */
export const EXPORTER_KEYS = ['buckets', 'maxSeriesPerMetric', 'histograms'] as const;

/** Validates {@link ExporterOptions}. */
export function parseExporterOptions(owner: string, o: ExporterOptions): { buckets: readonly number[]; maxSeries: number; histograms: boolean } {
  const buckets = v.opt(o.buckets, DEFAULT_BUCKETS, (b) => {
    if (!Array.isArray(b) || b.length === 0 || !b.every((x, i) => typeof x === 'number' && Number.isFinite(x) && x > 0 && (i === 0 || x > (b[i - 1] as number)))) {
      throw new RangeError(`${owner}: option "buckets" must be a non-empty array of finite, positive, strictly increasing bounds in seconds, got ${v.describeValue(b)}`);
    }
    return Object.freeze([...b]) as readonly number[];
  });
  return {
    buckets,
    maxSeries: v.opt(o.maxSeriesPerMetric, DEFAULT_MAX_SERIES, (m) => v.integer(owner, 'maxSeriesPerMetric', m, 1, false)),
    histograms: v.opt(o.histograms, true, (x) => v.bool(owner, 'histograms', x)),
  };
}

/** The series an exporter keeps, with the per-metric cap. */
export class SeriesStore {
  readonly observed = new Map<string, ObservedFamily>();
  /** Series keys seen per metric name (observed and histogram), for the cap. */
  private readonly keys = new Map<string, Set<string>>();
  /** Series folded, per metric name. */
  readonly folded = new Map<string, number>();

  constructor(private readonly maxSeries: number) {}

  /** The labels a new registration of `d` goes under: its own, or the folded ones once the metric is at its cap. */
  place(d: MetricDescriptor): { key: string; labels: Labels } {
    let keys = this.keys.get(d.name);
    if (keys === undefined) this.keys.set(d.name, (keys = new Set()));
    const key = seriesKey(d.labels);
    if (keys.has(key)) return { key, labels: d.labels };
    if (keys.size < this.maxSeries) {
      keys.add(key);
      return { key, labels: d.labels };
    }
    this.folded.set(d.name, (this.folded.get(d.name) ?? 0) + 1);
    const labels = { ...d.labels, policy: FOLDED };
    return { key: seriesKey(labels), labels };
  }

  /** Registers a counter's or gauge's read function; `onNewFamily` runs once per metric name (to create an instrument). */
  observe(type: 'counter' | 'gauge', d: MetricDescriptor, read: () => number, onNewFamily?: (f: ObservedFamily) => void): Unregister {
    let f = this.observed.get(d.name);
    if (f === undefined) {
      f = { d, type, schema: schemaFor(d, type), series: new Map() };
      this.observed.set(d.name, f);
      onNewFamily?.(f);
    }
    const { key, labels } = this.place(d);
    let s = f.series.get(key);
    if (s === undefined) f.series.set(key, (s = new ObservedSeries(key, labels)));
    s.reads.add(read);
    const series = s;
    const family = f;
    let live = true;
    return () => {
      if (!live) return;
      live = false;
      if (type === 'counter') {
        try {
          const last = read();
          if (Number.isFinite(last)) series.retired += last;
        } catch (e) {
          reportError(e);
        }
      }
      series.reads.delete(read);
      // A gauge's series leaves with its last registration; a counter's stays, so the count never goes down.
      if (type === 'gauge' && series.reads.size === 0) {
        family.series.delete(series.key);
        this.keys.get(d.name)?.delete(series.key); // frees its place under the cap (a folded key holds none)
      }
    };
  }
}

/**
 * A sink over a store whose histograms are another library's instruments (OpenTelemetry's, prom-client's):
 * `instrument(family)` makes a metric's observable instrument on its first registration, `histogramOf(d, schema)`
 * makes a metric's histogram once and returns how to record into it (a value in the exported unit, and the labels).
 */
export function instrumentedSink(
  store: SeriesStore,
  withHistograms: boolean,
  instrument: (family: ObservedFamily) => void,
  histogramOf: (d: MetricDescriptor, schema: MetricSchema) => (value: number, labels: Labels) => void,
): Metrics {
  const recorders = new Map<string, (value: number, labels: Labels) => void>();
  return {
    counter: (d, read) => store.observe('counter', d, read, instrument),
    gauge: (d, read) => store.observe('gauge', d, read, instrument),
    histogram(d: MetricDescriptor): Histogram | undefined {
      if (!withHistograms) return undefined;
      const schema = schemaFor(d, 'histogram');
      let rec = recorders.get(d.name);
      if (rec === undefined) recorders.set(d.name, (rec = histogramOf(d, schema)));
      const { labels } = store.place(d);
      const scale = schema.exportScale;
      const record = rec;
      return {
        record(value: number): void {
          if (value >= 0) record(value * scale, labels);
        },
        // The series stays: a histogram's counts never go down.
        unregister(): void {},
      };
    },
  };
}
