import { describe, expect, it } from 'vitest';
import { METRIC, METRIC_SCHEMA, prometheusName, adaptiveLimiter, adaptiveThrottle, bulkhead, circuitBreaker, cooldown, createMetricsRegistry, fallback, keyed, leakyBucket, retry, schemaOf, timeout, tokenBucket } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('METRIC', () => {
  it('lists every metric name that any primitive registers (regression: names scattered outside the list)', async () => {
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    const policies = [
      tokenBucket({ capacity: 1, refillPerSecond: 1, metrics, clock }),
      leakyBucket({ ratePerSecond: 1, metrics, clock }),
      bulkhead({ limit: 1, metrics, clock }),
      circuitBreaker({ metrics, clock }),
      retry({ metrics, clock }),
      timeout({ timeoutMs: 10, metrics, clock }),
      fallback({ value: 0, metrics, clock }),
    ];
    for (const p of policies) await p.execute(() => 1);
    const known = new Set<string>(Object.values(METRIC));
    const names = new Set(metrics.snapshot().map((s) => s.name));
    expect(names.size).toBeGreaterThan(10);
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe('METRIC_SCHEMA', () => {
  it('describes every METRIC name once, under its own key', () => {
    for (const [key, name] of Object.entries(METRIC)) {
      const s = METRIC_SCHEMA[key as keyof typeof METRIC];
      expect(s, key).toBeDefined();
      expect(s.name).toBe(name);
      expect(schemaOf(name)).toBe(s);
      expect(s.help.length).toBeGreaterThan(0);
      // Durations are recorded in ms (exporters convert them to seconds); the names say so.
      expect(s.unit === 'ms', key).toBe(name.endsWith('_ms'));
      expect(s.kind === 'counter', key).toBe(name.endsWith('_total'));
    }
    expect(Object.keys(METRIC_SCHEMA).sort()).toEqual(Object.keys(METRIC).sort());
  });

  it('every series a scripted run registers matches its schema: kind, help, and labels within policy, kind and the declared ones', async () => {
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    const policies = [
      tokenBucket({ capacity: 1, refillPerSecond: 1, metrics, clock }),
      leakyBucket({ ratePerSecond: 1, metrics, clock }),
      bulkhead({ limit: 1, maxQueue: 5, queue: 'fair', metrics, clock }),
      adaptiveLimiter({ metrics, clock }),
      adaptiveThrottle({ metrics, clock }),
      circuitBreaker({ metrics, clock }),
      retry({ metrics, clock }),
      timeout({ timeoutMs: 10, metrics, clock }),
      fallback({ value: 0, metrics, clock }),
      cooldown({ metrics, clock }),
      keyed((_k, info) => tokenBucket({ ...info, capacity: 1, refillPerSecond: 1 }), { metrics, clock, keyOf: () => 'k' }),
    ];
    for (const p of policies) await p.execute(() => 1);
    const samples = metrics.snapshot();
    expect(samples.length).toBeGreaterThan(40);
    for (const s of samples) {
      const schema = schemaOf(s.name);
      expect(schema, s.name).toBeDefined();
      expect(s.type, s.name).toBe(schema!.kind);
      expect(s.help, s.name).toBe(schema!.help);
      const allowed = new Set(['policy', 'kind', ...schema!.labels]);
      expect(Object.keys(s.labels).filter((l) => !allowed.has(l)), s.name).toEqual([]);
    }
  });
});

describe('exported names', () => {
  it('OpenTelemetry names are dotted, without _total or a unit; Prometheus names follow by the translation rules', () => {
    for (const s of Object.values(METRIC_SCHEMA)) {
      expect(s.otelName, s.name).toMatch(/^sluice(\.[a-z][a-z0-9_]*)+$/);
      expect(s.otelName, s.name).not.toMatch(/_total$|_ms$|_seconds$/);
      // Durations are published in seconds, whatever they are recorded in.
      if (s.unit === 'ms') expect([s.exportUnit, s.exportScale], s.name).toEqual(['s', 0.001]);
      else expect([s.exportUnit, s.exportScale], s.name).toEqual([s.unit, 1]);
      // The registry's names, with durations in seconds and the dimensionless gauge marked as a ratio.
      const expected = s.name.replace(/_ms$/, '_seconds') + (s.exportUnit === '1' && s.kind === 'gauge' ? '_ratio' : '');
      expect(prometheusName(s), s.name).toBe(expected);
    }
  });

  it('applies the rules to any descriptor', () => {
    expect(prometheusName({ otelName: 'a.b.duration', exportUnit: 's', kind: 'histogram' })).toBe('a_b_duration_seconds');
    expect(prometheusName({ otelName: 'a.requests', exportUnit: '{request}', kind: 'counter' })).toBe('a_requests_total');
    expect(prometheusName({ otelName: 'a.utilization', exportUnit: '1', kind: 'gauge' })).toBe('a_utilization_ratio');
    expect(prometheusName({ otelName: 'a.size', exportUnit: 'By', kind: 'gauge' })).toBe('a_size_bytes');
  });
});

describe('circuit transitions', () => {
  it('counts each transition under its from and to, the series appearing with the first', async () => {
    const { consecutiveFailures } = await import('../../src/index.js');
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    const breaker = circuitBreaker({ name: 'dep', strategy: consecutiveFailures({ threshold: 2 }), metrics, clock, random: () => 0 });
    const series = () => metrics.snapshot().filter((s) => s.name === METRIC.circuitTransitions);
    expect(series()).toEqual([]);
    for (let i = 0; i < 2; i++) await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await clock.advance(10_000);
    await breaker.execute(() => 'up'); // the probe, in half-open
    const counts = Object.fromEntries(series().map((s) => [`${s.labels.from}->${s.labels.to}`, s.type === 'histogram' ? NaN : s.value]));
    expect(counts['closed->open']).toBe(1);
    expect(counts['open->half-open']).toBe(1);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
  });
});
