import { describe, expect, it } from 'vitest';
import { bulkhead, tokenBucket, pipeline } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

describe('bulkhead option names', () => {
  it('regression: bulkhead({ limit, maxQeue }) is a TypeError naming the key and suggesting "maxQueue"', () => {
    expect(() => bulkhead({ limit: 1, maxQeue: 10 } as never)).toThrow(/bulkhead: unknown option "maxQeue" \(did you mean "maxQueue"\?\)/);
    expect(() => bulkhead({ limt: 1 } as never)).toThrow(/unknown option "limt"/);
    expect(() => bulkhead({ limit: 1, name: 'b', clock: new ManualClock(), maxQueue: 1, maxWaitMs: 5, dryRun: false })).not.toThrow();
  });

  it('regression: bulkhead.configure({ limt }) is a TypeError and changes nothing', () => {
    const pool = bulkhead({ limit: 2, clock: new ManualClock() });
    expect(() => pool.configure({ limt: 5 } as never)).toThrow(/bulkhead.configure: unknown option "limt" \(did you mean "limit"\?\)/);
    expect(pool.stats().limit).toBe(2);
  });
});

describe('bulkhead and cost', () => {
  it('counts calls, not units: a call of any cost holds one permit (the cost is meant for a rate limiter beside it)', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 2, clock });
    const r = pool.tryAcquire({ cost: 50 });
    expect(r.ok).toBe(true);
    expect(pool.stats().inflight).toBe(1);
    const bucket = tokenBucket({ capacity: 10, refillPerSecond: 1, clock });
    await expect(pipeline(bucket, pool).execute(() => 'ok', { cost: 10 })).resolves.toBe('ok');
    expect(bucket.stats().tokens).toBe(0);
    if (r.ok) r.permit.release();
  });
});
