/**
 * Scenario S10 (docs/overload.md) in virtual time, against target T12: with the
 * breaker's defaults, a dependency that fails every call in 1 ms from t = 30 s to t = 60 s, under 800 calls/s, must be
 * detected within 0.5 s, receive at most 2 % of the offered calls after detection, and get ≥ 95 % of calls through
 * again within 2 s of the heal. Deterministic (seeded arrivals and service times, manual clock); no wall-clock timing.
 */
import { describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/breaker/circuit-breaker.js';
import { ManualClock, seededRandom } from '../../src/testing/index.js';

interface Result {
  detectMs: number;
  deadCallsShare: number;
  resumeMs: number;
  probes: number;
  opens: number;
}

async function hardDown(seed: number): Promise<Result> {
  const ratePerSecond = 800;
  const meanServiceMs = 40;
  const failAt = 30_000;
  const healAt = 60_000;
  const endAt = 66_000;
  const bucketMs = 100;
  const clock = new ManualClock();
  const random = seededRandom(seed);
  const breaker = circuitBreaker({ clock, random: seededRandom(seed + 1) });
  let openedAt = NaN;
  breaker.events.on('open', (e) => {
    if (Number.isNaN(openedAt) && e.at >= failAt) openedAt = e.at;
  });

  const buckets = new Map<number, { offered: number; ok: number }>();
  let sentToDead = 0;
  let offeredDeadAfterDetection = 0;
  const exp = (mean: number) => -mean * Math.log(1 - random());
  const done: Promise<unknown>[] = [];

  for (let t = exp(1000 / ratePerSecond); t < endAt; t += exp(1000 / ratePerSecond)) {
    await clock.advanceTo(t);
    const b = Math.floor(t / bucketMs);
    const bucket = buckets.get(b) ?? { offered: 0, ok: 0 };
    buckets.set(b, bucket);
    bucket.offered++;
    const dead = t >= failAt && t < healAt;
    if (dead && t >= openedAt) offeredDeadAfterDetection++;
    done.push(
      breaker
        .execute(
          () =>
            new Promise<string>((resolve, reject) => {
              if (dead) {
                if (t >= openedAt) sentToDead++;
                clock.setTimeout(() => reject(new Error('dead')), 1);
              } else {
                clock.setTimeout(() => resolve('ok'), exp(meanServiceMs));
              }
            }),
        )
        .then(
          () => bucket.ok++,
          () => {},
        ),
    );
  }
  await clock.runAll();
  await Promise.all(done);

  // Resume: the first 100 ms bucket after the heal from which every bucket serves ≥ 95 % of its arrivals.
  const last = Math.floor(endAt / bucketMs) - 1;
  let resumeBucket = last + 1;
  for (let b = last; b >= healAt / bucketMs; b--) {
    const x = buckets.get(b)!;
    if (x.ok < 0.95 * x.offered) break;
    resumeBucket = b;
  }
  const s = breaker.stats();
  return {
    detectMs: openedAt - failAt,
    deadCallsShare: sentToDead / offeredDeadAfterDetection,
    resumeMs: resumeBucket * bucketMs + bucketMs - healAt,
    probes: sentToDead,
    opens: s.opens,
  };
}

describe('circuitBreaker', () => {
  it('meets target T12 with its defaults on a hard-down dependency (scenario S10)', async () => {
    for (const seed of (process.env.S10_SEEDS ?? '1,2').split(',').map(Number)) {
      const r = await hardDown(seed);
      console.log(
        `S10 seed ${seed}: detect ${r.detectMs.toFixed(1)} ms, calls to the dead dependency after detection ` +
          `${(r.deadCallsShare * 100).toFixed(2)} % (${r.probes} calls, ${r.opens} openings), resume ≤ ${r.resumeMs} ms after the heal`,
      );
      expect(r.detectMs).toBeLessThanOrEqual(500);
      expect(r.deadCallsShare).toBeLessThanOrEqual(0.02);
      expect(r.resumeMs).toBeLessThanOrEqual(2000);
    }
  });
});
