import { describe, expect, it } from 'vitest';
import { METRIC, bulkhead, circuitBreaker, createMetricsRegistry, fallback, leakyBucket, retry, timeout, tokenBucket } from '../../src/index.js';
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
