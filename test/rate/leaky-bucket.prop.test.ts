import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leakyBucket, type LeakyBucket } from '../../src/rate/leaky-bucket.js';
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
  ratePerSecond: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.5, max: 20, noNaN: true })),
  burst: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 }), fc.double({ min: 1, max: 5, noNaN: true })),
  maxQueue: maxQueueArb,
  maxWaitMs: maxWaitMsArb,
});

/**
 * After every event, the one timer is due exactly when the head waiter may leave (no stale alarm after an abort, an
 * eviction or a reconfiguration). stats() gives the slot of a cost-1 call at the tail; the head's slot is the waiting
 * cost behind it (plus that 1) earlier.
 */
function headTimerProbe(bucket: LeakyBucket, clock: ManualClock): Probe {
  return (waiting) => {
    const s = bucket.stats();
    const tail = clock.now() + s.nextSlotInMs;
    const due = tail - ((totalCost(waiting) + 1 - waiting[0]!.cost) * 1000) / s.ratePerSecond;
    expect(clock.nextTimerAt()).toBeCloseTo(Math.max(clock.now(), due), 6);
  };
}

/** Rates up to 1e9/s (one float step of a Date.now-sized clock lets ~2.4e5 units leave). */
const wideConfigArb = fc.record({
  ratePerSecond: logUniform(1e-3, 1e9),
  burst: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 }), fc.double({ min: 1, max: 5, noNaN: true })),
  maxQueue: maxQueueArb,
  maxWaitMs: maxWaitMsArb,
});

/** Every value the options accept, ends included. */
const acceptedConfigArb = fc.record({
  ratePerSecond: logUniform(1e-6, 1e12),
  burst: logUniform(1, 1e15),
  maxQueue: fc.constant(Infinity),
  maxWaitMs: fc.oneof(fc.constant(0), fc.constant(Infinity), logUniform(1e-6, 1e300)),
});

/** The head-timer probe with a tolerance of a few float steps of the clock and 1e-9 of the wait. */
function headTimerProbeAnyOrigin(bucket: LeakyBucket, clock: ManualClock): Probe {
  return (waiting) => {
    const s = bucket.stats();
    const tail = clock.now() + s.nextSlotInMs;
    const due = Math.max(clock.now(), tail - ((totalCost(waiting) + 1 - waiting[0]!.cost) * 1000) / s.ratePerSecond);
    const at = clock.nextTimerAt()!;
    expect(at).toBeGreaterThan(clock.now());
    expect(Math.abs(at - due)).toBeLessThanOrEqual(1e-6 + 1e-9 * s.nextSlotInMs + 4 * Math.abs(clock.now()) * Number.EPSILON);
  };
}

describe('leakyBucket (properties)', () => {
  it('regression: repeated tryAcquire at one instant never lets more than burst leave, on a clock with a large origin (to 1e13) and high rates (to 1e9/s)', async () => {
    await fc.assert(
      fc.asyncProperty(
        wideOriginArb,
        logUniform(1e-6, 1e12),
        logUniform(1, 1e15),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        async (origin, ratePerSecond, burst, costFrac, idleMs) => {
          const clock = new ManualClock(origin);
          const bucket = leakyBucket({ ratePerSecond, burst, clock });
          expect(burstAtOneInstant(bucket, costFrac * burst)).toBeLessThanOrEqual(burst * (1 + 1e-9));
          await clock.advance(idleMs);
          expect(burstAtOneInstant(bucket, costFrac * burst)).toBeLessThanOrEqual(burst * (1 + 1e-9));
        },
      ),
      fcParams('leaky-bucket.prop (one instant, any origin)', 300),
    );
  });

  it('for any clock origin (to ±1e13) and rate (to 1e9/s): admitted cost in every window <= burst + rate·w, FIFO, one timer due for the head, no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(wideConfigArb, wideOriginArb, scenarioArb, async (cfg, origin, scenario) => {
        const clock = new ManualClock(origin);
        const bucket = leakyBucket({ ...cfg, clock });
        const run = await drive(bucket, clock, scenario, headTimerProbeAnyOrigin(bucket, clock));
        checkCommon(run, bucket, clock, cfg.maxWaitMs, cfg.burst);
        checkWindows(run, (w) => cfg.burst * (1 + 1e-9) + (cfg.ratePerSecond * w) / 1000);
      }),
      fcParams('leaky-bucket.prop (schedule, any origin)', 120),
    );
  });

  it('regression: every accepted option value behaves (a rate of 1e-306/s computed NaN and spun a 0 ms timer; now no NaN, finite retryAfterMs, no zero-delay timer)', async () => {
    await fc.assert(
      fc.asyncProperty(acceptedConfigArb, wideOriginArb, behaveArb, async (cfg, origin, plan) => {
        const clock = new SpyClock(origin);
        const bucket = leakyBucket({ ...cfg, clock });
        await checkBehaves(bucket, clock, plan, cfg.burst);
      }),
      fcParams('leaky-bucket.prop (accepted range)', 200),
    );
  });

  it('retryAfterMs is exact on a clock of any origin (to ±1e13) and at any rate (to 1e9/s)', async () => {
    await fc.assert(
      fc.asyncProperty(wideConfigArb, wideOriginArb, prefixArb, fc.double({ min: 0.01, max: 1, noNaN: true }), async (cfg, origin, prefix, costFrac) => {
        const clock = new ManualClock(origin);
        const bucket = leakyBucket({ ...cfg, clock });
        await playPrefix(bucket, clock, prefix, cfg.burst);
        await checkRetryAfterExact(bucket, clock, costFrac * cfg.burst);
      }),
      fcParams('leaky-bucket.prop (retryAfterMs, any origin)', 200),
    );
  });


  it('for any schedule: admitted cost in every window <= burst + rate·w, FIFO, one timer due for the head, no leaks, exact accounting', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, scenarioArb, async (cfg, scenario) => {
        const clock = new ManualClock();
        const bucket = leakyBucket({ ...cfg, clock });
        const run = await drive(bucket, clock, scenario, headTimerProbe(bucket, clock));
        checkCommon(run, bucket, clock, cfg.maxWaitMs, cfg.burst);
        checkWindows(run, (w) => cfg.burst + (cfg.ratePerSecond * w) / 1000);
        // Nothing stays booked: after a full burst's worth of time the schedule is free again.
        await clock.advance((cfg.burst / cfg.ratePerSecond) * 1000 + 1);
        expect(bucket.stats().nextSlotInMs).toBe(0);
        if (!run.disposed) expect(bucket.tryAcquire({ cost: cfg.burst }).ok).toBe(true);
      }),
      fcParams('leaky-bucket.prop (schedule)', 120),
    );
  });

  it('under random reconfiguration: accounting exact, FIFO, waits within bounds, one timer due for the head, no leaks', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, scenarioArb, reconfigureArb, async (cfg, scenario, changes) => {
        const clock = new ManualClock();
        const bucket = leakyBucket({ ...cfg, clock });
        let minBurst = cfg.burst;
        let maxBurst = cfg.burst;
        let minRate = cfg.ratePerSecond;
        const extra = changes.map(({ atMs, pick }) => ({
          atMs,
          act: () => {
            // pick chooses what changes and by how much: burst (1 to 5), rate (0.25x to 4x) or both.
            const s = bucket.stats();
            const burst = pick < 2 / 3 ? 1 + 4 * ((pick * 3) % 1) : undefined;
            const ratePerSecond = pick >= 1 / 3 ? s.ratePerSecond * 0.25 * 16 ** ((pick * 7) % 1) : undefined;
            bucket.configure({ burst, ratePerSecond });
            const now = bucket.stats();
            minBurst = Math.min(minBurst, now.burst);
            maxBurst = Math.max(maxBurst, now.burst);
            minRate = Math.min(minRate, now.ratePerSecond);
          },
        }));
        const run = await drive(bucket, clock, scenario, headTimerProbe(bucket, clock), extra);
        checkCommon(run, bucket, clock, cfg.maxWaitMs, minBurst);
        // Nothing stays booked beyond the largest burst ever allowed, at the slowest rate ever set.
        await clock.advance((maxBurst / minRate) * 1000 + 1);
        expect(bucket.stats().nextSlotInMs).toBe(0);
      }),
      fcParams('leaky-bucket.prop (reconfigure)', 80),
    );
  });

  it('retryAfterMs of a refused tryAcquire is exact when nothing else takes a slot', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, originArb, prefixArb, fc.double({ min: 0.01, max: 1, noNaN: true }), async (cfg, origin, prefix, costFrac) => {
        const clock = new ManualClock(origin);
        const bucket = leakyBucket({ ...cfg, clock });
        await playPrefix(bucket, clock, prefix, cfg.burst);
        await checkRetryAfterExact(bucket, clock, costFrac * cfg.burst);
      }),
      fcParams('leaky-bucket.prop (retryAfterMs)', 200),
    );
  });
});
