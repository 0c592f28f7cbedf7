import { describe, expect, it } from 'vitest';
import { METRIC, bulkhead, circuitBreaker, createMetricsRegistry, fallback, leakyBucket, retry, timeout, tokenBucket, type Metrics, type Policy } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

type Factory = (o: { name?: string; metrics?: Metrics; clock: ManualClock }) => Policy & { dispose?: () => unknown };

/** One factory per kind, with the options each one requires. */
const FACTORIES: Record<string, Factory> = {
  tokenBucket: (o) => tokenBucket({ capacity: 10, refillPerSecond: 1, ...o }),
  leakyBucket: (o) => leakyBucket({ ratePerSecond: 1000, burst: 10, ...o }),
  bulkhead: (o) => bulkhead({ limit: 10, ...o }),
  circuitBreaker: (o) => circuitBreaker(o),
  retry: (o) => retry(o),
  timeout: (o) => timeout({ timeoutMs: 100, ...o }),
  fallback: (o) => fallback({ value: 0, ...o }),
};

const admitted = (metrics: ReturnType<typeof createMetricsRegistry>, policy: string): number | undefined => {
  const s = metrics.snapshot().find((x) => x.name === METRIC.admitted && x.labels.policy === policy);
  return s === undefined || s.type === 'histogram' ? undefined : s.value;
};

describe('policy names on a metrics registry', () => {
  it('regression: two unnamed policies on one registry overwrote each other\'s series (admitted total 1 where 3 were admitted)', async () => {
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    const a = tokenBucket({ capacity: 10, refillPerSecond: 1, metrics, clock });
    const b = tokenBucket({ capacity: 10, refillPerSecond: 1, metrics, clock });
    expect([a.name, b.name]).toEqual(['tokenBucket', 'tokenBucket#2']);
    await a.execute(() => 1);
    await b.execute(() => 1);
    await b.execute(() => 1);
    expect(admitted(metrics, 'tokenBucket')).toBe(1);
    expect(admitted(metrics, 'tokenBucket#2')).toBe(2);
    await expect(b.execute(() => 1, { cost: 9 })).rejects.toMatchObject({ code: 'RATE_LIMITED', policy: 'tokenBucket#2' }); // errors carry the same name
  });

  it('every kind gives an unnamed instance a name of its own on a registry that already has one', () => {
    for (const [kind, make] of Object.entries(FACTORIES)) {
      const metrics = createMetricsRegistry();
      const clock = new ManualClock();
      const names = [make({ metrics, clock }), make({ metrics, clock }), make({ metrics, clock })].map((p) => p.name);
      expect(names, kind).toEqual([kind, `${kind}#2`, `${kind}#3`]);
      const policies = new Set(metrics.snapshot().map((s) => s.labels.policy));
      expect([...policies].sort(), kind).toEqual(names);
    }
  });

  it('without a registry, or on another registry, unnamed instances keep the plain kind name', () => {
    const clock = new ManualClock();
    expect([tokenBucket({ capacity: 1, refillPerSecond: 1, clock }).name, tokenBucket({ capacity: 1, refillPerSecond: 1, clock }).name]).toEqual([
      'tokenBucket',
      'tokenBucket',
    ]);
    const m1 = createMetricsRegistry();
    const m2 = createMetricsRegistry();
    expect(bulkhead({ limit: 1, metrics: m1, clock }).name).toBe('bulkhead');
    expect(bulkhead({ limit: 1, metrics: m2, clock }).name).toBe('bulkhead');
  });

  it('a second live instance of one kind with the same explicit name on one registry is a TypeError naming option "name"', () => {
    for (const [kind, make] of Object.entries(FACTORIES)) {
      const metrics = createMetricsRegistry();
      const clock = new ManualClock();
      make({ name: 'api', metrics, clock });
      expect(() => make({ name: 'api', metrics, clock }), kind).toThrow(TypeError);
      expect(() => make({ name: 'api', metrics, clock }), kind).toThrow(/option "name".*"api"/);
      expect(() => make({ name: kind, metrics, clock }), kind).not.toThrow(); // the default name was free
      expect(() => make({ name: kind, metrics, clock }), kind).toThrow(/option "name"/);
    }
  });

  it('the same name is fine for different kinds on one registry, and on different registries', () => {
    const metrics = createMetricsRegistry();
    const clock = new ManualClock();
    for (const make of Object.values(FACTORIES)) expect(() => make({ name: 'api', metrics, clock })).not.toThrow();
    expect(() => tokenBucket({ name: 'api', capacity: 1, refillPerSecond: 1, metrics: createMetricsRegistry(), clock })).not.toThrow();
  });

  it('a disposed instance frees its name: a new one may take it (explicit or default)', async () => {
    let withDispose = 0;
    for (const [kind, make] of Object.entries(FACTORIES)) {
      const clock = new ManualClock();
      const metrics = createMetricsRegistry();
      const first = make({ name: 'api', metrics, clock });
      const unnamed = make({ metrics, clock });
      if (typeof first.dispose !== 'function') continue; // a kind without dispose() keeps its name for its lifetime
      withDispose++;
      await first.dispose();
      await unnamed.dispose!();
      expect(metrics.snapshot().filter((s) => s.labels.policy === 'api' || s.labels.policy === kind), kind).toEqual([]);
      expect(make({ name: 'api', metrics, clock }).name, kind).toBe('api');
      expect(make({ metrics, clock }).name, kind).toBe(kind);
    }
    expect(withDispose).toBeGreaterThanOrEqual(5);
  });

  it('regression: histograms were not unregistered on dispose', async () => {
    const clock = new ManualClock();
    const metrics = createMetricsRegistry();
    const bucket = tokenBucket({ name: 'api', capacity: 1, refillPerSecond: 1, metrics, clock });
    const breaker = circuitBreaker({ name: 'api', metrics, clock });
    await bucket.execute(() => 1);
    await breaker.execute(() => 1);
    const histograms = () => metrics.snapshot().filter((s) => s.type === 'histogram');
    expect(histograms().filter((s) => s.labels.kind === 'tokenBucket' && s.name === METRIC.duration)).toHaveLength(2);
    expect(metrics.histogramSummary(METRIC.duration, { policy: 'api', kind: 'tokenBucket', outcome: 'success' })!.count).toBe(1);
    bucket.dispose();
    expect(histograms().filter((s) => s.labels.kind === 'tokenBucket')).toEqual([]);
    expect(histograms().filter((s) => s.labels.kind === 'circuitBreaker').length).toBeGreaterThan(0); // only its own
    breaker.dispose();
    expect(metrics.snapshot()).toEqual([]);
  });

  it('a sink that throws while a policy registers leaves nothing registered and the name free', () => {
    const inner = createMetricsRegistry();
    let failAt = 3;
    const flaky: Metrics = {
      counter: (d, read) => {
        if (--failAt === 0) throw new Error('sink full');
        return inner.counter(d, read);
      },
      gauge: (d, read) => inner.gauge(d, read),
      histogram: (d) => inner.histogram(d),
    };
    const clock = new ManualClock();
    expect(() => retry({ name: 'r', metrics: flaky, clock })).toThrow('sink full');
    expect(inner.snapshot()).toEqual([]);
    expect(retry({ name: 'r', metrics: flaky, clock }).name).toBe('r');
  });
});
