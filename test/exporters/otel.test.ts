/**
 * `sluice/otel` with the real OpenTelemetry SDK (@opentelemetry/sdk-metrics): a MeterProvider with a manually
 * collected reader, checked for names, units, attributes and values after a scripted run.
 */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { otelMetrics } from '../../src/exporters/otel.js';
import { bulkhead, timeout, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

async function setup() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<ResourceMetrics> => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics;
  };
  return { meter: provider.getMeter('sluice-test'), collect, close: () => provider.shutdown() };
}

function find(rm: ResourceMetrics, name: string) {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  throw new Error(`no metric ${name}`);
}

describe('otelMetrics', () => {
  it('reports counters and gauges as observable instruments, named and united by the schema', async () => {
    const { meter, collect, close } = await setup();
    const clock = new ManualClock();
    const metrics = otelMetrics(meter);
    const bucket = tokenBucket({ name: 'api', capacity: 2, refillPerSecond: 1, metrics, clock });
    for (let i = 0; i < 5; i++) await bucket.execute(() => 1).catch(() => undefined);
    const rm = await collect();
    const admitted = find(rm, 'sluice.admitted');
    expect(admitted.descriptor.unit).toBe('{call}');
    expect(admitted.descriptor.description).toBe('Calls admitted');
    expect(admitted.dataPoints.map((p) => [p.attributes, p.value])).toEqual([[{ policy: 'api', kind: 'tokenBucket' }, 2]]);
    const rejected = find(rm, 'sluice.rejected');
    expect(rejected.dataPoints.find((p) => p.attributes.reason === 'RATE_LIMITED')?.value).toBe(3);
    expect(find(rm, 'sluice.tokens').dataPoints[0]?.value).toBe(0);
    await close();
  });

  it('records durations in seconds with the advised buckets', async () => {
    const { meter, collect, close } = await setup();
    const clock = new ManualClock();
    const metrics = otelMetrics(meter, { buckets: [0.01, 0.1, 1] });
    const t = timeout({ name: 'slow', timeoutMs: 10_000, metrics, clock });
    for (const ms of [5, 50, 500]) {
      const p = t.execute(() => new Promise<void>((r) => clock.setTimeout(() => r(), ms)));
      await clock.advance(ms);
      await p;
    }
    const h = find(await collect(), 'sluice.call.duration');
    expect(h.descriptor.unit).toBe('s');
    const point = h.dataPoints.find((p) => p.attributes.outcome === 'success')!;
    const v = point.value as { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
    expect(v.count).toBe(3);
    expect(v.sum).toBeCloseTo(0.555, 9);
    expect(v.buckets.boundaries).toEqual([0.01, 0.1, 1]);
    expect(v.buckets.counts).toEqual([1, 1, 1, 0]);
    await close();
  });

  it('keeps a counter monotonic across re-creation, and folds series beyond the cap', async () => {
    const { meter, collect, close } = await setup();
    const clock = new ManualClock();
    const metrics = otelMetrics(meter, { maxSeriesPerMetric: 2 });
    const a = bulkhead({ name: 'db', limit: 3, metrics, clock });
    await a.execute(() => 1);
    await a.execute(() => 1);
    a.dispose();
    await bulkhead({ name: 'db', limit: 3, metrics, clock }).execute(() => 1);
    for (let i = 0; i < 4; i++) await bulkhead({ name: `t${i}`, limit: 3, metrics, clock }).execute(() => 1);
    const admitted = find(await collect(), 'sluice.admitted');
    const byPolicy = Object.fromEntries(admitted.dataPoints.map((p) => [p.attributes.policy, p.value]));
    expect(byPolicy).toEqual({ db: 3, t0: 1, '(other)': 3 });
    const folded = find(await collect(), 'sluice.exporter.folded_series');
    expect(folded.dataPoints.find((p) => p.attributes.metric === 'sluice_admitted_total')?.value).toBe(3);
    await close();
  });

  it('validates its arguments', () => {
    expect(() => otelMetrics({} as never)).toThrow(/meter/);
    expect(() => otelMetrics({ createHistogram() {}, createObservableCounter() {}, createObservableGauge() {} } as never, { buckets: [] })).toThrow(/buckets/);
  });
});
