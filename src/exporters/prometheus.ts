/**
 * `sluice/prometheus`: a metrics sink that serves the Prometheus text exposition format, with no Prometheus client
 * library. Names, units and help texts come from the metrics schema (durations in seconds, counters ending in
 * `_total`); histograms are bucketed with explicit bounds in seconds; counters stay monotonic when a policy is
 * disposed and made again under the same name; and the number of series per metric is capped, the overflow folded
 * into one `policy="(other)"` series and counted.
 */
import type { Histogram, Labels, MetricDescriptor, Metrics, Unregister } from '../metrics/metrics.js';
import { prometheusName, schemaOf, type MetricSchema } from '../metrics/schema.js';
import { reportError } from '../core/safe-call.js';
import * as v from '../core/validate.js';

/**
 * Default histogram bucket bounds, seconds: the OpenTelemetry HTTP duration advice (5 ms to 10 s), with four finer
 * bounds below for in-process calls and queue waits.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** The label value series beyond `maxSeriesPerMetric` are folded under (in place of their `policy`). */
export const FOLDED = '(other)';

/** Options of {@link prometheusMetrics}. */
export interface PrometheusOptions {
  /** Histogram bucket upper bounds, seconds, strictly increasing. Default {@link DEFAULT_BUCKETS}. */
  buckets?: readonly number[];
  /**
   * Most series of their own one metric keeps; a new series beyond it is folded into one more, with
   * `policy="(other)"` (its values summed there), and counted in `sluice_exporter_folded_series_total`. Integer ≥ 1.
   * Default 1000.
   */
  maxSeriesPerMetric?: number;
}

/** A {@link Metrics} sink that renders the Prometheus text format. */
export interface PrometheusMetrics extends Metrics {
  /** Every series now, in the text exposition format (version 0.0.4). */
  metricsText(): string;
  /** The `Content-Type` to serve {@link metricsText} with. */
  readonly contentType: string;
}

class ObservedSeries {
  readonly reads = new Set<() => number>();
  /** For counters: what registrations that went away had counted (so the series never goes down). */
  retired = 0;
  constructor(readonly labels: Labels) {}
}

class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    buckets: number,
  ) {
    this.counts = new Array<number>(buckets + 1).fill(0);
  }
}

interface Family<S> {
  readonly d: MetricDescriptor;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly series: Map<string, S>;
}

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: string): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k.replace(/[^a-zA-Z0-9_]/g, '_')}="${escapeLabel(String(labels[k]))}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(x: number): string {
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return Number.isNaN(x) ? 'NaN' : String(x);
}

/** The schema of a descriptor, or one made up for a name sluice does not know (a user's own series). */
function schemaFor(d: MetricDescriptor, type: Family<unknown>['type']): MetricSchema {
  return (
    schemaOf(d.name) ?? {
      name: d.name as MetricSchema['name'],
      kind: type,
      unit: '',
      labels: [],
      help: d.help,
      otelName: d.name,
      exportUnit: '',
      exportScale: 1,
    }
  );
}

/**
 * Creates a Prometheus sink: pass it as `metrics` to sluice's primitives (or to `protectFetch`), and serve
 * `metricsText()` at `/metrics`. No Prometheus client library is needed. Reading the counters and gauges happens at
 * scrape time; a histogram records one value into its bucket per call (only primitives given this sink time their
 * calls).
 *
 * @throws {TypeError | RangeError} on an invalid option (the message names it).
 * @example
 * ```ts
 * import http from 'node:http';
 * import { tokenBucket } from 'sluice';
 * import { prometheusMetrics } from 'sluice/prometheus';
 * const metrics = prometheusMetrics();
 * const bucket = tokenBucket({ name: 'github', capacity: 50, refillPerSecond: 10, metrics });
 * http.createServer((req, res) => res.writeHead(200, { 'content-type': metrics.contentType }).end(metrics.metricsText())).listen(9464);
 * ```
 */
export function prometheusMetrics(options?: PrometheusOptions): PrometheusMetrics {
  const owner = 'prometheusMetrics';
  const o = v.optionsObject<PrometheusOptions>(owner, options ?? {}, v.keys('buckets', 'maxSeriesPerMetric'));
  const buckets = v.opt(o.buckets, DEFAULT_BUCKETS, (b) => {
    if (!Array.isArray(b) || b.length === 0 || !b.every((x, i) => typeof x === 'number' && Number.isFinite(x) && x > 0 && (i === 0 || x > (b[i - 1] as number)))) {
      throw new RangeError(`${owner}: option "buckets" must be a non-empty array of finite, positive, strictly increasing bounds in seconds, got ${v.describeValue(b)}`);
    }
    return Object.freeze([...b]) as readonly number[];
  });
  const maxSeries = v.opt(o.maxSeriesPerMetric, 1000, (x) => v.integer(owner, 'maxSeriesPerMetric', x, 1, false));
  const families = new Map<string, Family<ObservedSeries | HistogramSeries>>();
  const folded = new Map<string, number>();

  /** The series of `d` to register into: its own, or the folded one when the metric is at its cap. */
  function seriesOf<S extends ObservedSeries | HistogramSeries>(d: MetricDescriptor, type: Family<S>['type'], make: (labels: Labels) => S): S {
    let f = families.get(d.name) as Family<S> | undefined;
    if (f === undefined) families.set(d.name, (f = { d, type, series: new Map() }) as unknown as Family<ObservedSeries | HistogramSeries>);
    let labels = d.labels;
    let key = seriesKey(labels);
    let s = f.series.get(key);
    if (s !== undefined) return s;
    if (f.series.size >= maxSeries) {
      labels = { ...labels, policy: FOLDED };
      key = seriesKey(labels);
      s = f.series.get(key);
      folded.set(d.name, (folded.get(d.name) ?? 0) + 1);
      if (s !== undefined) return s;
    }
    s = make(labels);
    f.series.set(key, s);
    return s;
  }

  const observe =
    (type: 'counter' | 'gauge') =>
    (d: MetricDescriptor, read: () => number): Unregister => {
      const s = seriesOf<ObservedSeries>(d, type, (labels) => new ObservedSeries(labels));
      s.reads.add(read);
      let live = true;
      return () => {
        if (!live) return;
        live = false;
        if (type === 'counter') {
          try {
            const last = read();
            if (Number.isFinite(last)) s.retired += last;
          } catch (e) {
            reportError(e);
          }
        }
        s.reads.delete(read);
        // A gauge's series leaves with its last registration; a counter's stays, so the count never goes down.
        if (type === 'gauge' && s.reads.size === 0) families.get(d.name)?.series.delete(seriesKey(s.labels));
      };
    };

  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    counter: observe('counter'),
    gauge: observe('gauge'),
    histogram(d: MetricDescriptor): Histogram {
      const s = seriesOf<HistogramSeries>(d, 'histogram', (labels) => new HistogramSeries(labels, buckets.length));
      const scale = schemaFor(d, 'histogram').exportScale;
      return {
        record(value: number): void {
          if (!(value >= 0)) return;
          const x = value * scale;
          let lo = 0;
          let hi = buckets.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if ((buckets[mid] as number) < x) lo = mid + 1;
            else hi = mid;
          }
          s.counts[lo]!++;
          s.sum += x;
          s.count++;
        },
        // The series stays: a histogram's counts, like a counter's, never go down.
        unregister(): void {},
      };
    },
    metricsText(): string {
      const out: string[] = [];
      for (const f of families.values()) {
        const schema = schemaFor(f.d, f.type);
        const name = schemaOf(f.d.name) === undefined ? f.d.name.replace(/[^a-zA-Z0-9_:]/g, '_') : prometheusName(schema);
        const lines: string[] = [];
        for (const s of f.series.values()) {
          if (s instanceof HistogramSeries) {
            let cumulative = 0;
            for (let i = 0; i < buckets.length; i++) {
              cumulative += s.counts[i]!;
              lines.push(`${name}_bucket${labelText(s.labels, `le="${num(buckets[i]!)}"`)} ${cumulative}`);
            }
            lines.push(`${name}_bucket${labelText(s.labels, 'le="+Inf"')} ${s.count}`);
            lines.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
            lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
            continue;
          }
          let value = f.type === 'counter' ? s.retired : 0;
          for (const read of s.reads) {
            try {
              const x = read();
              if (typeof x === 'number' && !Number.isNaN(x)) value += x; // a read that cannot say (NaN) adds nothing
            } catch (e) {
              reportError(e);
            }
          }
          lines.push(`${name}${labelText(s.labels)} ${num(value * schema.exportScale)}`);
        }
        if (lines.length === 0) continue;
        out.push(`# HELP ${name} ${escapeHelp(schema.help)}`, `# TYPE ${name} ${f.type}`, ...lines);
      }
      if (folded.size > 0) {
        out.push('# HELP sluice_exporter_folded_series_total Series folded into policy="(other)" because their metric had reached maxSeriesPerMetric');
        out.push('# TYPE sluice_exporter_folded_series_total counter');
        for (const [metric, n] of folded) out.push(`sluice_exporter_folded_series_total{metric="${escapeLabel(metric)}"} ${n}`);
      }
      return out.length === 0 ? '' : `${out.join('\n')}\n`;
    },
  };
}
