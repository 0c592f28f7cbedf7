/**
 * `sluice/prometheus`: the text it serves, parsed back by parse-prometheus-text-format (a real parser of the
 * exposition format), checked against the primitives' own counts after a scripted run.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { prometheusMetrics, DEFAULT_BUCKETS } from '../../src/exporters/prometheus.js';
import { bulkhead, circuitBreaker, retry, timeout, tokenBucket, pipeline } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

type Family = { name: string; help: string; type: string; metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[] };
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const family = (fams: Family[], name: string): Family => {
  const f = fams.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no family ${name} in ${fams.map((x) => x.name).join(', ')}`);
  return f;
};
const value = (f: Family, labels: Record<string, string>): number => {
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  if (m === undefined) throw new Error(`no series ${JSON.stringify(labels)} in ${f.name}`);
  return Number(m.value);
};

describe('prometheusMetrics', () => {
  it('serves every series of a scripted run under its Prometheus name, with help, type and values that match', async () => {
    const clock = new ManualClock();
    const metrics = prometheusMetrics();
    const bucket = tokenBucket({ name: 'api', capacity: 2, refillPerSecond: 1, metrics, clock });
    const breaker = circuitBreaker({ name: 'api', metrics, clock });
    for (let i = 0; i < 5; i++) await bucket.execute(() => 1).catch(() => undefined);
    await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    const text = metrics.metricsText();
    const fams = parse(text);
    const admitted = family(fams, 'sluice_admitted_total');
    expect(admitted.type).toBe('COUNTER');
    expect(admitted.help).toBe('Calls admitted');
    expect(value(admitted, { policy: 'api', kind: 'tokenBucket' })).toBe(2);
    expect(value(family(fams, 'sluice_rejected_total'), { policy: 'api', kind: 'tokenBucket', reason: 'RATE_LIMITED' })).toBe(3);
    expect(family(fams, 'sluice_tokens').type).toBe('GAUGE');
    expect(value(family(fams, 'sluice_circuit_state'), { policy: 'api', state: 'closed' })).toBe(1);
    expect(value(family(fams, 'sluice_circuit_calls_total'), { policy: 'api', outcome: 'failure' })).toBe(1);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('exports durations in seconds, in explicit buckets, with sum and count', async () => {
    const clock = new ManualClock();
    const metrics = prometheusMetrics();
    const t = timeout({ name: 'slow', timeoutMs: 10_000, metrics, clock });
    for (const ms of [3, 40, 40, 2000]) {
      const p = t.execute(() => new Promise<void>((r) => clock.setTimeout(() => r(), ms)));
      await clock.advance(ms);
      await p;
    }
    const text = metrics.metricsText();
    expect(family(parse(text), 'sluice_call_duration_seconds').type).toBe('HISTOGRAM');
    // parse-prometheus-text-format keeps the labels of a histogram's series only when there is one series and it has
    // none: parse the success series alone, its labels other than le taken off.
    const own = text
      .split('\n')
      .filter((l) => l.startsWith('# ') ? l.includes('sluice_call_duration_seconds ') : l.startsWith('sluice_call_duration_seconds') && l.includes('outcome="success"'))
      .map((l) => l.replace(/\{[^}]*?(le="[^"]*")[^}]*\}/, '{$1}').replace(/\{[^}]*\}/, (m) => (m.includes('le=') ? m : '')))
      .join('\n');
    const series = family(parse(`${own}\n`), 'sluice_call_duration_seconds').metrics[0]!;
    expect(Number(series.count)).toBe(4);
    expect(Number(series.sum)).toBeCloseTo(2.083, 9);
    expect(Number(series.buckets!['0.005'])).toBe(1);
    expect(Number(series.buckets!['0.05'])).toBe(3);
    expect(Number(series.buckets!['2.5'])).toBe(4);
    expect(Object.keys(series.buckets!)).toHaveLength(DEFAULT_BUCKETS.length + 1);
  });

  it('keeps counters monotonic when a policy is disposed and made again under the same name', async () => {
    const clock = new ManualClock();
    const metrics = prometheusMetrics();
    const first = bulkhead({ name: 'db', limit: 5, metrics, clock });
    for (let i = 0; i < 3; i++) await first.execute(() => 1);
    first.dispose();
    const second = bulkhead({ name: 'db', limit: 5, metrics, clock });
    await second.execute(() => 1);
    const fams = parse(metrics.metricsText());
    expect(value(family(fams, 'sluice_admitted_total'), { policy: 'db' })).toBe(4);
    // A gauge belongs to the live policy only.
    expect(value(family(fams, 'sluice_limit'), { policy: 'db' })).toBe(5);
  });

  it('caps the series of a metric, folding the overflow into policy="(other)" and counting it', async () => {
    const clock = new ManualClock();
    const metrics = prometheusMetrics({ maxSeriesPerMetric: 3 });
    for (let i = 0; i < 10; i++) await tokenBucket({ name: `tenant-${i}`, capacity: 5, refillPerSecond: 1, metrics, clock }).execute(() => 1);
    const fams = parse(metrics.metricsText());
    const admitted = family(fams, 'sluice_admitted_total');
    expect(admitted.metrics).toHaveLength(4); // three of their own, and the folded one
    expect(value(admitted, { policy: '(other)' })).toBe(7); // ten buckets, three with series of their own
    expect(value(family(fams, 'sluice_exporter_folded_series_total'), { metric: 'sluice_admitted_total' })).toBe(7);
  });

  it('escapes label values, and leaves the hot path of an unobserved policy alone', async () => {
    const clock = new ManualClock();
    const metrics = prometheusMetrics();
    const p = pipeline(retry({ name: 'a "quoted"\\name\nwith a newline', metrics, clock }), bulkhead({ limit: 1, metrics, clock }));
    await p.execute(() => 1);
    const fams = parse(metrics.metricsText());
    expect(value(family(fams, 'sluice_retry_attempts_total'), { policy: 'a "quoted"\\name\nwith a newline' })).toBe(1);
  });

  it('validates its options', () => {
    expect(() => prometheusMetrics({ buckets: [1, 0.5] })).toThrow(/buckets/);
    expect(() => prometheusMetrics({ maxSeriesPerMetric: 0 })).toThrow(/maxSeriesPerMetric/);
    expect(() => prometheusMetrics({ bucket: [] } as never)).toThrow(/unknown option "bucket"/);
  });
});

describe('docs/metrics.md', () => {
  it('lists every metric with both names, its kind, unit and labels, as the schema says', async () => {
    const { readFileSync } = await import('node:fs');
    const { METRIC_SCHEMA, prometheusName } = await import('../../src/index.js');
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const s of Object.values(METRIC_SCHEMA)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${prometheusName(s)}\` |`));
      expect(row, s.name).toBeDefined();
      const cells = row!.split(' | ');
      expect(cells[1], s.name).toBe(`\`${s.otelName}\``);
      expect(cells[2], s.name).toBe(s.kind);
      expect(cells[3], s.name).toBe(`\`${s.exportUnit}\``);
      expect(cells[4], s.name).toBe(['policy', 'kind', ...s.labels].map((l) => `\`${l}\``).join(', '));
    }
  });
});

describe('docs/grafana/sluice-dashboard.json', () => {
  it('every query names only metrics the Prometheus exporter really emits', async () => {
    const { readFileSync } = await import('node:fs');
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana/sluice-dashboard.json', import.meta.url), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { query?: unknown }[] };
    };
    // What a scripted run of every primitive actually exposes (histogram series with their suffixes).
    const { adaptiveLimiter, adaptiveThrottle, cooldown } = await import('../../src/index.js');
    const clock = new ManualClock();
    const metrics = prometheusMetrics();
    // The shared limiters' series, from a real redis-server (on the system clock: Redis answers in real time).
    const { redisTokenBucket, redisConcurrencyLimit } = await import('../../src/redis/index.js');
    const { RedisServer } = await import('../support/redis-server.js');
    const { Redis } = await import('ioredis');
    const server = await RedisServer.start();
    const redis = new Redis(server.port, '127.0.0.1');
    const shared = [
      redisTokenBucket({ redis, id: 'dashboard', capacity: 1, refillPerSecond: 1, metrics, timeoutMs: 1000 }),
      redisConcurrencyLimit({ redis, id: 'dashboard', limit: 1, metrics, timeoutMs: 1000 }),
    ];
    for (const p of shared) await p.execute(() => 1);
    const policies = [
      tokenBucket({ capacity: 1, refillPerSecond: 1, metrics, clock }),
      bulkhead({ limit: 1, maxQueue: 2, queue: 'priority', metrics, clock }),
      adaptiveLimiter({ metrics, clock }),
      adaptiveThrottle({ metrics, clock }),
      circuitBreaker({ metrics, clock }),
      retry({ metrics, clock }),
      timeout({ timeoutMs: 10, metrics, clock }),
      cooldown({ metrics, clock }),
    ];
    for (const p of policies) await p.execute(() => 1);
    // A call waits in the bulkhead's priority queue, so its per-class gauge exists too.
    const held = policies[1]!.execute(() => new Promise<void>((r) => clock.setTimeout(() => r(), 5)));
    const queued = policies[1]!.execute(() => 1);
    const emitted = new Set(
      metrics
        .metricsText()
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.replace(/[{ ].*$/, '')),
    );
    await clock.advance(5);
    await Promise.all([held, queued]);
    for (const p of shared) p.dispose();
    redis.disconnect();
    await server.stop();
    const exprs = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.templating.list.map((t) => JSON.stringify(t.query ?? ''))];
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    const named = new Set(exprs.flatMap((e) => e.match(/\bsluice_[a-z_]+/g) ?? []));
    expect(named.size).toBeGreaterThan(12);
    expect([...named].filter((n) => !emitted.has(n))).toEqual([]);
  });
});

describe('prometheusMetrics against the in-memory registry', () => {
  it('after the same scripted run, every counter and gauge series has the registry value (in the exported unit)', async () => {
    const { createMetricsRegistry, schemaOf, prometheusName, adaptiveLimiter, cooldown } = await import('../../src/index.js');
    type Sink = Parameters<typeof tokenBucket>[0]['metrics'];
    /** A deterministic run of several primitives on a manual clock, reporting to `metrics`. */
    const script = async (metrics: Sink) => {
      const clock = new ManualClock();
      const bucket = tokenBucket({ name: 'b', capacity: 3, refillPerSecond: 1, metrics, clock });
      const limiter = adaptiveLimiter({ name: 'l', maxQueue: 2, metrics, clock });
      const breaker = circuitBreaker({ name: 'c', metrics, clock });
      const r = retry({ name: 'r', metrics, clock, random: () => 0 });
      const gate = cooldown({ name: 'g', metrics, clock });
      gate.closeUntil(clock.now() + 1500);
      for (let i = 0; i < 6; i++) await bucket.execute(() => 1).catch(() => undefined);
      for (let i = 0; i < 4; i++) await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
      let n = 0;
      const p = r.execute(() => (++n < 3 ? Promise.reject(new Error('flaky')) : n));
      await clock.advance(1000);
      await p;
      await limiter.execute(() => 1);
      await gate.execute(() => 1).catch(() => undefined);
    };
    const registry = createMetricsRegistry();
    await script(registry);
    const prom = prometheusMetrics();
    await script(prom);
    const fams = parse(prom.metricsText());
    let compared = 0;
    for (const s of registry.snapshot()) {
      if (s.type === 'histogram') continue;
      const schema = schemaOf(s.name)!;
      const f = family(fams, prometheusName(schema));
      expect(value(f, s.labels as Record<string, string>), `${s.name} ${JSON.stringify(s.labels)}`).toBeCloseTo(s.value * schema.exportScale, 9);
      compared++;
    }
    expect(compared).toBeGreaterThan(80);
  });
});
