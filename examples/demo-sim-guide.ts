/**
 * The example of docs/simulator.md: judge two configurations of your own pipeline against the same overload, in
 * virtual time. Run: npx tsx examples/demo-sim-guide.ts
 */
import { pipeline, tokenBucket, leakyBucket } from '../src/index.js';
import { convergenceTimeMs, lognormal, simulate, type SimEnvironment } from '../src/sim/index.js';

// The candidates: functions that build your pipeline on the simulator's clock.
const candidates = {
  'token bucket 950/s': ({ clock }: SimEnvironment) => tokenBucket({ capacity: 40, refillPerSecond: 950, clock }),
  'bucket → pacer': ({ clock }: SimEnvironment) =>
    pipeline(tokenBucket({ capacity: 100, refillPerSecond: 1000, clock }), leakyBucket({ ratePerSecond: 950, burst: 10, maxQueue: 50, clock })),
};

for (const [name, policy] of Object.entries(candidates)) {
  const result = await simulate({
    seed: 7,
    durationMs: 40_000,
    warmupMs: 5_000,
    deadlineMs: 1_000, // callers give up after 1 s
    downstream: { workers: 40, service: lognormal(40, 1) }, // ~1000 rps, heavy-tailed
    load: { schedule: [{ atMs: 0, perSecond: 500 }, { atMs: 10_000, perSecond: 3_000 }, { atMs: 30_000, perSecond: 500 }] },
    policy,
  });
  const rush = result.window(10_000, 30_000);
  const converged = convergenceTimeMs(result.series, {
    afterMs: 10_000,
    idealGoodputPerSecond: (t) => (t >= 10_000 && t < 30_000 ? 1_000 : 500),
    idealP99Ms: 250,
  });
  console.log(
    `${name.padEnd(20)} goodput ${rush.goodputPerSecond.toFixed(0)} rps, p99 ${rush.latency.p99.toFixed(0)} ms, ` +
      `rejected ${JSON.stringify(rush.rejectedBy)}, wasted ${(100 * rush.wastedFraction).toFixed(1)} %, converged in ${converged} ms`,
  );
}
