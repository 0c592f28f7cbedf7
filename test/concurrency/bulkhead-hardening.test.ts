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
  it('one cost means the same call to every layer: tokens to a bucket, units of the limit to a bulkhead', async () => {
    const clock = new ManualClock();
    const pool = bulkhead({ limit: 4, clock });
    const bucket = tokenBucket({ capacity: 10, refillPerSecond: 1, clock });
    let inflightInside = -1;
    await expect(
      pipeline(bucket, pool).execute(() => {
        inflightInside = pool.stats().inflight;
        return 'ok';
      }, { cost: 3 }),
    ).resolves.toBe('ok');
    expect(inflightInside).toBe(3);
    expect(bucket.stats().tokens).toBe(7);
    expect(pool.stats().inflight).toBe(0);
  });
});
