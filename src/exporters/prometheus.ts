/**
 * `sluice/prometheus`: a metrics sink that serves the Prometheus text exposition format, with no Prometheus client
 * library. Names, units and help texts come from the metrics schema (durations in seconds, counters ending in
 * `_total`); histograms are bucketed with explicit bounds in seconds; counters stay monotonic when a policy is
 * disposed and made again under the same name; and the number of series per metric is capped, the overflow folded
 * into one `policy="(other)"` series and counted.
 */
import type { Histogram, Labels, MetricDescriptor, Metrics } from '../metrics/metrics.js';
import { prometheusName, schemaOf } from '../metrics/schema.js';
import * as v from '../core/validate.js';
import { EXPORTER_KEYS, SeriesStore, parseExporterOptions, schemaFor, type ExporterOptions } from './series.js';

export { FOLDED, DEFAULT_BUCKETS } from './series.js';

/** Options of {@link prometheusMetrics}: the exporters' common ones. */
export type PrometheusOptions = ExporterOptions;

/** A {@link Metrics} sink that renders the Prometheus text format. */
export interface PrometheusMetrics extends Metrics {
  /** Every series now, in the text exposition format (version 0.0.4). */
  metricsText(): string;
  /** The `Content-Type` to serve {@link metricsText} with. */
  readonly contentType: string;
}

class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** The labels rendered (`a="1",b="2"`), cached: they never change. */
  readonly body: string;
  constructor(
    readonly labels: Labels,
    buckets: number,
  ) {
    this.counts = new Array<number>(buckets + 1).fill(0);
    this.body = labelBody(labels);
  }
}

interface HistogramFamily {
  readonly d: MetricDescriptor;
  readonly series: Map<string, HistogramSeries>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Labels in the exposition syntax, sorted, without braces (`a="1",b="2"`). */
function labelBody(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k.replace(/[^a-zA-Z0-9_]/g, '_')}="${escapeLabel(String(labels[k]))}"`)
    .join(',');
}

function braces(body: string, extra?: string): string {
  if (extra === undefined) return body === '' ? '' : `{${body}}`;
  return body === '' ? `{${extra}}` : `{${body},${extra}}`;
}

function num(x: number): string {
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return Number.isNaN(x) ? 'NaN' : String(x);
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
  const o = v.optionsObject<PrometheusOptions>(owner, options ?? {}, v.keys(...EXPORTER_KEYS));
  const { buckets, maxSeries, histograms: withHistograms } = parseExporterOptions(owner, o);
  const store = new SeriesStore(maxSeries);
  const leLabels = buckets.map((b) => `le="${num(b)}"`);
  const histograms = new Map<string, HistogramFamily>();
  /** Families in order of first registration, observed and histogram alike. */
  const order: string[] = [];
  const seen = (name: string): void => {
    if (!store.observed.has(name) && !histograms.has(name)) order.push(name);
  };

  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    counter: (d, read) => {
      seen(d.name);
      return store.observe('counter', d, read);
    },
    gauge: (d, read) => {
      seen(d.name);
      return store.observe('gauge', d, read);
    },
    histogram(d: MetricDescriptor): Histogram | undefined {
      if (!withHistograms) return undefined;
      seen(d.name);
      let f = histograms.get(d.name);
      if (f === undefined) histograms.set(d.name, (f = { d, series: new Map() }));
      const { key, labels } = store.place(d);
      let s = f.series.get(key);
      if (s === undefined) f.series.set(key, (s = new HistogramSeries(labels, buckets.length)));
      const series = s;
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
          series.counts[lo]!++;
          series.sum += x;
          series.count++;
        },
        // The series stays: a histogram's counts, like a counter's, never go down.
        unregister(): void {},
      };
    },
    metricsText(): string {
      const out: string[] = [];
      for (const metric of order) {
        const observed = store.observed.get(metric);
        const hist = histograms.get(metric);
        const d = (observed ?? hist)!.d;
        const type = observed?.type ?? 'histogram';
        const schema = schemaFor(d, type);
        const name = schemaOf(d.name) === undefined ? d.name.replace(/[^a-zA-Z0-9_:]/g, '_') : prometheusName(schema);
        const lines: string[] = [];
        if (observed !== undefined) {
          for (const s of observed.series.values()) lines.push(`${name}${braces((s.rendered ??= labelBody(s.labels)))} ${num(s.value() * schema.exportScale)}`);
        }
        if (hist !== undefined) {
          for (const s of hist.series.values()) {
            let cumulative = 0;
            for (let i = 0; i < buckets.length; i++) {
              cumulative += s.counts[i]!;
              lines.push(`${name}_bucket${braces(s.body, leLabels[i])} ${cumulative}`);
            }
            lines.push(`${name}_bucket${braces(s.body, 'le="+Inf"')} ${s.count}`);
            lines.push(`${name}_sum${braces(s.body)} ${num(s.sum)}`);
            lines.push(`${name}_count${braces(s.body)} ${s.count}`);
          }
        }
        if (lines.length === 0) continue;
        out.push(`# HELP ${name} ${escapeHelp(schema.help)}`, `# TYPE ${name} ${type}`, ...lines);
      }
      const folded = store.folded;
      if (folded.size > 0) {
        out.push('# HELP sluice_exporter_folded_series_total Series folded into policy="(other)" because their metric had reached maxSeriesPerMetric');
        out.push('# TYPE sluice_exporter_folded_series_total counter');
        for (const [metric, n] of folded) out.push(`sluice_exporter_folded_series_total{metric="${escapeLabel(metric)}"} ${n}`);
      }
      return out.length === 0 ? '' : `${out.join('\n')}\n`;
    },
  };
}
