/**
 * `sluice/prometheus` with prom-client (an optional peer, passed in: this module imports only its types): a metrics
 * sink that registers sluice's metrics as prom-client collectors on your registry, next to your own metrics.
 */
import type * as PromClient from 'prom-client';
import type { MetricDescriptor, Metrics } from '../metrics/metrics.js';
import { prometheusName, schemaOf } from '../metrics/schema.js';
import * as v from '../core/validate.js';
import { EXPORTER_KEYS, SeriesStore, instrumentedSink, parseExporterOptions, schemaFor, type ExporterOptions, type ObservedFamily } from './series.js';

/** Options of {@link promClientMetrics}. */
export interface PromClientOptions extends ExporterOptions {
  /** The registry to register on. Default: prom-client's global `register`. */
  registry?: PromClient.Registry;
}

type PromModule = Pick<typeof PromClient, 'Counter' | 'Gauge' | 'Histogram' | 'register'>;

/**
 * Creates a metrics sink that registers sluice's metrics on a prom-client registry: counters and gauges are
 * collectors read when the registry is scraped (`await registry.metrics()`), durations are prom-client histograms in
 * seconds. Names, help and units follow the schema (docs/metrics.md); a counter keeps its count when its policy is
 * disposed and made again under the same name; the series per metric are capped as in {@link prometheusMetrics}.
 * Pass prom-client itself as `promClient` (it is an optional peer dependency, never imported by sluice). One sink per
 * registry: a second would register the same names again, which prom-client refuses.
 *
 * @throws {TypeError | RangeError} when `promClient` is not prom-client or an option is invalid (the message names it).
 * @example
 * ```ts
 * import * as promClient from 'prom-client';
 * import { promClientMetrics } from 'sluice/prometheus';
 * const metrics = promClientMetrics(promClient, { registry: promClient.register });
 * const bucket = tokenBucket({ name: 'github', capacity: 50, refillPerSecond: 10, metrics });
 * app.get('/metrics', async (req, res) => res.type(promClient.register.contentType).send(await promClient.register.metrics()));
 * ```
 */
export function promClientMetrics(promClient: PromModule, options?: PromClientOptions): Metrics {
  const owner = 'promClientMetrics';
  v.shaped<PromModule>(owner, 'promClient', promClient, ['Counter', 'Gauge', 'Histogram']);
  const o = v.optionsObject<PromClientOptions>(owner, options ?? {}, v.keys('registry', ...EXPORTER_KEYS));
  const registry = v.opt(o.registry, undefined, (r) => v.shaped<PromClient.Registry>(owner, 'registry', r, ['registerMetric', 'metrics'])) ?? promClient.register;
  const { buckets, maxSeries, histograms: withHistograms } = parseExporterOptions(owner, o);
  const store = new SeriesStore(maxSeries);

  const labelNames = (d: MetricDescriptor): string[] => {
    const s = schemaOf(d.name);
    return s === undefined ? Object.keys(d.labels) : ['policy', 'kind', ...s.labels];
  };
  const nameOf = (d: MetricDescriptor, kind: 'counter' | 'gauge' | 'histogram'): string =>
    schemaOf(d.name) === undefined ? d.name.replace(/[^a-zA-Z0-9_:]/g, '_') : prometheusName(schemaFor(d, kind));

  const instrument = (f: ObservedFamily): void => {
    const scale = f.schema.exportScale;
    const config = { name: nameOf(f.d, f.type), help: f.schema.help, labelNames: labelNames(f.d), registers: [registry] };
    if (f.type === 'counter') {
      new promClient.Counter({
        ...config,
        collect(this: PromClient.Counter<string>) {
          this.reset();
          for (const s of f.series.values()) this.inc(s.labels, Math.max(0, s.value() * scale));
        },
      });
    } else {
      new promClient.Gauge({
        ...config,
        collect(this: PromClient.Gauge<string>) {
          this.reset();
          for (const s of f.series.values()) this.set(s.labels, s.value() * scale);
        },
      });
    }
  };

  // Series folded beyond the cap, per metric, counted where operators look.
  new promClient.Counter({
    name: 'sluice_exporter_folded_series_total',
    help: 'Series folded into policy="(other)" because their metric had reached maxSeriesPerMetric',
    labelNames: ['metric'],
    registers: [registry],
    collect(this: PromClient.Counter<string>) {
      this.reset();
      for (const [metric, n] of store.folded) this.inc({ metric }, n);
    },
  });

  return instrumentedSink(store, withHistograms, instrument, (d, schema) => {
    const h = new promClient.Histogram({ name: nameOf(d, 'histogram'), help: schema.help, labelNames: labelNames(d), buckets: [...buckets], registers: [registry] });
    return (value, labels) => h.observe(labels, value);
  });
}
