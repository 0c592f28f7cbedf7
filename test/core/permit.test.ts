import { describe, expect, it } from 'vitest';
import { NOOP_PERMIT, OncePermit, type PermitOutcome } from '../../src/core/permit.js';

describe('OncePermit', () => {
  it('releases once: later release() and dispose calls are no-ops', () => {
    const outcomes: PermitOutcome[] = [];
    const p = new OncePermit((o) => outcomes.push(o));
    expect(p.released).toBe(false);
    p.release('drop');
    p.release('success');
    p[Symbol.dispose]();
    expect(outcomes).toEqual(['drop']);
    expect(p.released).toBe(true);
  });

  it('defaults the outcome to success, also when disposed', () => {
    const outcomes: PermitOutcome[] = [];
    new OncePermit((o) => outcomes.push(o)).release();
    new OncePermit((o) => outcomes.push(o))[Symbol.dispose]();
    expect(outcomes).toEqual(['success', 'success']);
  });

  it('releases at the end of a `using` scope', () => {
    let released = 0;
    {
      using permit = new OncePermit(() => released++);
      expect(permit.released).toBe(false);
    }
    expect(released).toBe(1);
  });
});

describe('NOOP_PERMIT', () => {
  it('holds nothing: frozen, never reports released, release is a no-op', () => {
    expect(Object.isFrozen(NOOP_PERMIT)).toBe(true);
    NOOP_PERMIT.release();
    NOOP_PERMIT[Symbol.dispose]();
    expect(NOOP_PERMIT.released).toBe(false);
  });
});

describe('Limiter type', () => {
  it('supports `using` on a limiter: the scope end disposes it (regression: Symbol.dispose missing from the public type)', async () => {
    const { tokenBucket } = await import('../../src/rate/token-bucket.js');
    const { ManualClock } = await import('../../src/testing/index.js');
    const clock = new ManualClock();
    let outside: ReturnType<typeof tokenBucket> | undefined;
    {
      using bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
      outside = bucket;
      expect(bucket.stats().disposed).toBe(false);
    }
    expect(outside.stats().disposed).toBe(true);
  });
});
