import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenBucket, type TokenBucket } from '../../src/rate/token-bucket.js';
import { ManualClock } from '../../src/testing/index.js';
import {
  SpyClock,
  behaveArb,
  burstAtOneInstant,
  checkBehaves,
  checkCommon,
  checkRetryAfterExact,
  checkWindows,
  drive,
  fcParams,
  logUniform,
  maxQueueArb,
  maxWaitMsArb,
  originArb,
  playPrefix,
  prefixArb,
  reconfigureArb,
  scenarioArb,
  totalCost,
  wideOriginArb,
  type Probe,
} from './prop-driver.js';

const configArb = fc.record({
  capacity: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.5, max: 6, noNaN: true })),
  refillPerSecond: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.5, max: 20, noNaN: true })),
  initialFrac: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  maxQueue: maxQueueArb,
  maxWaitMs: maxWaitMsArb,
});

type Config = { capacity: number; refillPerSecond: number; initialFrac: number; maxQueue: number; maxWaitMs: number };
/** The bucket's options from a generated config (`initialFrac` is the test's, not an option). */
const bucketOptions = ({ initialFrac, ...o }: Config) => ({ ...o, initialTokens: initialFrac * o.capacity });

/** After every event: the queued cost is the waiters' cost, and the one timer is due exactly when the head waiter's
 * tokens will be there (no stale alarm after an abort, an eviction or a reconfiguration). */
function headTimerProbe(bucket: TokenBucket, clock: ManualClock): Probe {
  return (waiting) => {
    const s = bucket.stats();
    expect(s.queuedCost).toBeCloseTo(totalCost(waiting), 9);
    const due = clock.now() + (Math.max(0, waiting[0]!.cost - s.tokens) / s.refillPerSecond) * 1000;
    expect(clock.nextTimerAt()).toBeCloseTo(due, 6);
  };
}

/** Rates up to 1e9/s (where one float step of a Date.now-sized clock earns ~2.4e5 tokens). */
const wideConfigArb = fc.record({
  capacity: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.5, max: 6, noNaN: true })),
  refillPerSecond: logUniform(1e-3, 1e9),
  initialFrac: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  maxQueue: maxQueueArb,
  maxWaitMs: maxWaitMsArb,
});

/** Every value the options accept, ends included. */
const acceptedConfigArb = fc.record({
  capacity: logUniform(1e-6, 1e15),
  refillPerSecond: logUniform(1e-6, 1e12),
  initialFrac: fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  maxQueue: fc.constant(Infinity),
  maxWaitMs: fc.oneof(fc.constant(0), fc.constant(Infinity), logUniform(1e-6, 1e300)),
});

/** The head-timer probe with a tolerance of a few float steps of the clock and 1e-9 of the wait. */
function headTimerProbeAnyOrigin(bucket: TokenBucket, clock: ManualClock): Probe {
  return (waiting) => {
    const s = bucket.stats();
    const waitMs = (Math.max(0, waiting[0]!.cost - s.tokens) / s.refillPerSecond) * 1000;
    const due = clock.now() + waitMs;
    const at = clock.nextTimerAt()!;
    expect(at).toBeGreaterThan(clock.now());
    expect(Math.abs(at - due)).toBeLessThanOrEqual(1e-6 + 1e-9 * waitMs + 4 * Math.abs(clock.now()) * Number.EPSILON);
  };
}

describe('tokenBucket (properties)', () => {
  it('regression: repeated tryAcquire at one instant never admits more than capacity, on a clock with a large origin (to 1e13) and high rates (to 1e9/s)', async () => {
    await fc.assert(
      fc.asyncProperty(
        wideOriginArb,
        logUniform(1e-6, 1e15),
        logUniform(1e-6, 1e12),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        async (origin, capacity, refillPerSecond, costFrac, idleMs) => {
          const clock = new ManualClock(origin);
          const bucket = tokenBucket({ capacity, refillPerSecond, clock });
          expect(burstAtOneInstant(bucket, costFrac * capacity)).toBeLessThanOrEqual(capacity * (1 + 1e-9));
          // And again after a refill of any length: never more than a full bucket at one instant.
          await clock.advance(idleMs);
          expect(burstAtOneInstant(bucket, costFrac * capacity)).toBeLessThanOrEqual(capacity * (1 + 1e-9));
        },
      ),
      fcParams('token-bucket.prop (one instant, any origin)', 300),
    );
  });

  it('for any clock origin (to ±1e13) and rate (to 1e9/s): admitted cost in every window <= capacity + rate·w, FIFO, one timer due for the head, no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(wideConfigArb, wideOriginArb, scenarioArb, async (cfg, origin, scenario) => {
        const clock = new ManualClock(origin);
        const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
        const run = await drive(bucket, clock, scenario, headTimerProbeAnyOrigin(bucket, clock));
        checkCommon(run, bucket, clock, cfg.maxWaitMs, cfg.capacity);
        checkWindows(run, (w) => cfg.capacity * (1 + 1e-9) + (cfg.refillPerSecond * w) / 1000);
      }),
      fcParams('token-bucket.prop (schedule, any origin)', 120),
    );
  });

  it('regression: every accepted option value behaves (no NaN, finite retryAfterMs, no zero-delay timer spin), on any clock origin', async () => {
    await fc.assert(
      fc.asyncProperty(acceptedConfigArb, wideOriginArb, behaveArb, async (cfg, origin, plan) => {
        const clock = new SpyClock(origin);
        const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
        await checkBehaves(bucket, clock, plan, cfg.capacity);
      }),
      fcParams('token-bucket.prop (accepted range)', 200),
    );
  });


  it('for any schedule: admitted cost in every window <= capacity + rate·w, FIFO, one timer due for the head, no leaks, exact accounting', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, scenarioArb, async (cfg, scenario) => {
        const clock = new ManualClock();
        const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
        const run = await drive(bucket, clock, scenario, headTimerProbe(bucket, clock));
        checkCommon(run, bucket, clock, cfg.maxWaitMs, cfg.capacity);
        checkWindows(run, (w) => cfg.capacity + (cfg.refillPerSecond * w) / 1000);
        // Nothing stays reserved: after a full refill time the bucket is full again.
        await clock.advance((cfg.capacity / cfg.refillPerSecond) * 1000 + 1);
        expect(bucket.stats()).toMatchObject({ tokens: cfg.capacity, queuedCost: 0 });
        if (!run.disposed) expect(bucket.tryAcquire({ cost: cfg.capacity }).ok).toBe(true);
      }),
      fcParams('token-bucket.prop (schedule)', 120),
    );
  });

  it('under random reconfiguration: accounting exact, FIFO, waits within bounds, one timer due for the head, no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, scenarioArb, reconfigureArb, async (cfg, scenario, changes) => {
        const clock = new ManualClock();
        const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
        let minCapacity = cfg.capacity;
        const extra = changes.map(({ atMs, pick }) => ({
          atMs,
          act: () => {
            // pick chooses what changes and by how much: capacity, rate or both, between 0.25x and 4x.
            const factor = 0.25 * 16 ** ((pick * 3) % 1);
            const s = bucket.stats();
            const capacity = pick < 2 / 3 ? s.capacity * factor : undefined;
            const refillPerSecond = pick >= 1 / 3 ? s.refillPerSecond * factor : undefined;
            bucket.configure({ capacity, refillPerSecond });
            minCapacity = Math.min(minCapacity, bucket.stats().capacity);
          },
        }));
        const run = await drive(bucket, clock, scenario, headTimerProbe(bucket, clock), extra);
        checkCommon(run, bucket, clock, cfg.maxWaitMs, minCapacity);
        const s = bucket.stats();
        await clock.advance((s.capacity / s.refillPerSecond) * 1000 + 1);
        expect(bucket.stats()).toMatchObject({ tokens: s.capacity, queuedCost: 0 });
      }),
      fcParams('token-bucket.prop (reconfigure)', 80),
    );
  });

  it('retryAfterMs of a refused tryAcquire is exact when nothing else takes tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        originArb,
        prefixArb,
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        async (cfg, origin, prefix, costFrac) => {
          const clock = new ManualClock(origin);
          const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
          await playPrefix(bucket, clock, prefix, cfg.capacity);
          await checkRetryAfterExact(bucket, clock, costFrac * cfg.capacity);
        },
      ),
      fcParams('token-bucket.prop (retryAfterMs)', 200),
    );
  });

  it('retryAfterMs is exact on a clock of any origin (to ±1e13) and at any rate (to 1e9/s)', async () => {
    await fc.assert(
      fc.asyncProperty(wideConfigArb, wideOriginArb, prefixArb, fc.double({ min: 0.01, max: 1, noNaN: true }), async (cfg, origin, prefix, costFrac) => {
        const clock = new ManualClock(origin);
        const bucket = tokenBucket({ ...bucketOptions(cfg), clock });
        await playPrefix(bucket, clock, prefix, cfg.capacity);
        await checkRetryAfterExact(bucket, clock, costFrac * cfg.capacity);
      }),
      fcParams('token-bucket.prop (retryAfterMs, any origin)', 200),
    );
  });
});
