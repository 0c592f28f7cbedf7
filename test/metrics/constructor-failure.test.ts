import { describe, expect, it } from 'vitest';
import { bulkhead, circuitBreaker, createMetricsRegistry, fallback, leakyBucket, retry, timeout, tokenBucket } from '../../src/index.js';
const cases: [string, (o: Record<string, unknown>) => unknown, Record<string, unknown>, Record<string, unknown>][] = [
  ['tokenBucket', tokenBucket as never, { capacity: 1, refillPerSecond: 1 }, { capacity: -1, refillPerSecond: 1 }],
  ['tokenBucket (queue option)', tokenBucket as never, { capacity: 1, refillPerSecond: 1 }, { capacity: 1, refillPerSecond: 1, maxQueue: -1 }],
  ['bulkhead (queue option)', bulkhead as never, { limit: 1 }, { limit: 1, maxWaitMs: -1 }],
  ['leakyBucket', leakyBucket as never, { ratePerSecond: 1 }, { ratePerSecond: -1 }],
  ['bulkhead', bulkhead as never, { limit: 1 }, { limit: -1 }],
  ['circuitBreaker', circuitBreaker as never, {}, { openMs: -1 }],
  ['retry', retry as never, {}, { maxAttempts: -1 }],
  ['timeout', timeout as never, { timeoutMs: 1 }, { timeoutMs: -1 }],
  ['fallback', fallback as never, { value: 1 }, { value: 1, shouldFallback: 3 }],
];
describe('a factory that throws on a bad option', () => {
  it.each(cases)('regression: %s registered its series and claimed its name before validating, so a retry with the same name threw', (_k, f, good, bad) => {
    const metrics = createMetricsRegistry();
    expect(() => f({ name: 'n', metrics, ...bad })).toThrow();
    expect(() => f({ name: 'n', metrics, ...good })).not.toThrow();
    expect(metrics.snapshot().length).toBeGreaterThan(0);
    expect(metrics.snapshot().every((x) => x.labels.policy === 'n')).toBe(true);
  });
});
