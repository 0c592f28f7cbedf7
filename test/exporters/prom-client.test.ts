/**
 * `promClientMetrics` with the real prom-client: sluice's series on a prom-client registry next to the user's own,
 * scraped with `registry.metrics()` and parsed back.
 */
import { createRequire } from 'node:module';
import * as promClient from 'prom-client';
import { describe, expect, it } from 'vitest';
import { promClientMetrics } from '../../src/exporters/prom-client.js';
import { bulkhead, timeout, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

type Family = { name: string; help: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] };
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];
const value = (fams: Family[], name: string, labels: Record<string, string>): number => {
  const f = fams.find((x) => x.name === name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  if (m === undefined) throw new Error(`no ${name} ${JSON.stringify(labels)}`);
  return Number(m.value);
};

describe('promClientMetrics', () => {
  it("registers sluice's series on the user's registry, beside the user's own metrics", async () => {
    const registry = new promClient.Registry();
    const own = new promClient.Counter({ name: 'app_orders_total', help: 'Orders', registers: [registry] });
    own.inc(7);
    const clock = new ManualClock();
    const metrics = promClientMetrics(promClient, { registry });
    const bucket = tokenBucket({ name: 'api', capacity: 2, refillPerSecond: 1, metrics, clock });
    for (let i = 0; i < 5; i++) await bucket.execute(() => 1).catch(() => undefined);
    const fams = parse(await registry.metrics());
    expect(value(fams, 'app_orders_total', {})).toBe(7);
    expect(value(fams, 'sluice_admitted_total', { policy: 'api', kind: 'tokenBucket' })).toBe(2);
    expect(value(fams, 'sluice_rejected_total', { policy: 'api', reason: 'RATE_LIMITED' })).toBe(3);
    expect(fams.find((f) => f.name === 'sluice_tokens')?.type).toBe('GAUGE');
  });

  it('times calls into a prom-client histogram in seconds, with the chosen buckets', async () => {
    const registry = new promClient.Registry();
    const clock = new ManualClock();
    const metrics = promClientMetrics(promClient, { registry, buckets: [0.01, 0.1, 1] });
    const t = timeout({ name: 'slow', timeoutMs: 10_000, metrics, clock });
    for (const ms of [5, 50, 500]) {
      const p = t.execute(() => new Promise<void>((r) => clock.setTimeout(() => r(), ms)));
      await clock.advance(ms);
      await p;
    }
    const text = await registry.metrics();
    expect(text).toContain('sluice_call_duration_seconds_bucket{le="0.01",policy="slow",kind="timeout",outcome="success"} 1');
    expect(text).toContain('sluice_call_duration_seconds_bucket{le="0.1",policy="slow",kind="timeout",outcome="success"} 2');
    expect(text).toMatch(/sluice_call_duration_seconds_sum\{policy="slow",kind="timeout",outcome="success"\} 0\.555/);
    expect(text).toContain('sluice_call_duration_seconds_count{policy="slow",kind="timeout",outcome="success"} 3');
  });

  it('keeps counters monotonic across re-creation', async () => {
    const registry = new promClient.Registry();
    const clock = new ManualClock();
    const metrics = promClientMetrics(promClient, { registry, histograms: false });
    const a = bulkhead({ name: 'db', limit: 2, metrics, clock });
    await a.execute(() => 1);
    a.dispose();
    const b = bulkhead({ name: 'db', limit: 2, metrics, clock });
    await b.execute(() => 1);
    await b.execute(() => 1);
    expect(value(parse(await registry.metrics()), 'sluice_admitted_total', { policy: 'db' })).toBe(3);
  });

  it('folds series beyond the cap and counts them', async () => {
    const registry = new promClient.Registry();
    const clock = new ManualClock();
    const metrics = promClientMetrics(promClient, { registry, maxSeriesPerMetric: 2, histograms: false });
    for (let i = 0; i < 5; i++) await tokenBucket({ name: `t${i}`, capacity: 1, refillPerSecond: 1, metrics, clock }).execute(() => 1);
    const fams = parse(await registry.metrics());
    expect(value(fams, 'sluice_admitted_total', { policy: '(other)' })).toBe(3);
    expect(value(fams, 'sluice_exporter_folded_series_total', { metric: 'sluice_admitted_total' })).toBe(3);
  });

  it('validates its arguments', () => {
    expect(() => promClientMetrics({} as never)).toThrow(/promClient/);
    expect(() => promClientMetrics(promClient, { registry: {} as never })).toThrow(/registry/);
    expect(() => promClientMetrics(promClient, { buckets: [] })).toThrow(/buckets/);
  });
});
