import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/rate/index.js';
import { retry } from '../../src/retry/index.js';
import { timeout } from '../../src/timeout/index.js';
import { pipeline } from '../../src/core/index.js';
import { RateLimitedError, seededRandom, systemClock, type Policy } from '../../src/core/index.js';
import { occContention } from '../../src/sim/contention.js';
import {
  SimClock,
  bimodal,
  convergenceTimeMs,
  customService,
  deterministic,
  exponential,
  jainIndex,
  lognormal,
  maxMinFair,
  ramp,
  simulate,
  type SimBucket,
} from '../../src/sim/index.js';

const sha = (lines: readonly string[]): string => createHash('sha256').update(lines.join('\n')).digest('hex');

describe('SimClock', () => {
  it('fires events in order of time, then of scheduling', async () => {
    const clock = new SimClock();
    const seen: string[] = [];
    clock.schedule(20, () => seen.push('b'));
    clock.schedule(10, () => seen.push('a'));
    clock.schedule(20, () => seen.push('c'));
    clock.setTimeout(() => seen.push('d'), 5);
    await clock.run(100);
    expect(seen).toEqual(['d', 'a', 'b', 'c']);
    expect(clock.now()).toBe(100);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('never fires a cleared timer and leaves later events for the next run', async () => {
    const clock = new SimClock();
    const seen: number[] = [];
    const h = clock.setTimeout(() => seen.push(1), 10);
    clock.setTimeout(() => seen.push(2), 50);
    clock.clearTimeout(h);
    clock.clearTimeout(h);
    await clock.run(20);
    expect(seen).toEqual([]);
    expect(clock.pendingTimers()).toBe(1);
    await clock.run(60);
    expect(seen).toEqual([2]);
  });

  it('settles a promise chain started by an event before time moves on', async () => {
    const clock = new SimClock();
    let observed = -1;
    clock.schedule(10, () => {
      let p: Promise<unknown> = Promise.resolve();
      for (let i = 0; i < 100; i++) p = p.then(() => undefined);
      void p.then(() => (observed = clock.now()));
    });
    clock.schedule(11, () => {});
    await clock.run(50);
    expect(observed).toBe(10);
  });
});

describe('distributions', () => {
  const mean = (s: { sample: (r: () => number) => number }, n = 200_000): number => {
    const r = seededRandom(5);
    let t = 0;
    for (let i = 0; i < n; i++) t += s.sample(r);
    return t / n;
  };
  it('preserve the stated mean', () => {
    expect(mean(exponential(40))).toBeCloseTo(40, 0);
    expect(mean(lognormal(40, 1))).toBeGreaterThan(39);
    expect(mean(lognormal(40, 1))).toBeLessThan(41);
    expect(mean(bimodal())).toBeCloseTo(40, 0);
    expect(mean(deterministic(40))).toBe(40);
    expect(customService(() => 3, 3).meanMs).toBe(3);
  });

  it('reject bad parameters naming the option', () => {
    expect(() => exponential(0)).toThrow(/meanMs/);
    expect(() => lognormal(40, -1)).toThrow(/sigma/);
    expect(() => bimodal({ slowFraction: 2 })).toThrow(/slowFraction/);
  });
});

describe('simulate', () => {
  const run = (seed: number) =>
    simulate({
      seed,
      durationMs: 3_000,
      log: true,
      load: [{ perSecond: 1500, tenant: 'a' }, { perSecond: 300, tenant: 'b', priority: 1 }],
      policy: ({ clock }) => tokenBucket({ capacity: 20, refillPerSecond: 1000, maxQueue: 50, clock }),
    });

  it('gives the same event log byte for byte for the same seed, and another for another seed', async () => {
    const [a, b, c] = [await run(42), await run(42), await run(43)];
    expect(a.log!.length).toBeGreaterThan(1000);
    expect(sha(a.log!)).toBe(sha(b.log!));
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(sha(c.log!)).not.toBe(sha(a.log!));
  });

  it('measures goodput, rejections by reason, tenants and classes', async () => {
    const r = await run(1);
    const s = r.summary;
    expect(s.rejectedBy.QUEUE_FULL).toBeGreaterThan(0);
    expect(s.rejected).toBe(Object.values(s.rejectedBy).reduce((x, y) => x + y, 0));
    expect(s.goodputPerSecond).toBeGreaterThan(900);
    expect(s.goodputPerSecond).toBeLessThanOrEqual(1000 + 20 / 3 + 1);
    expect(Object.keys(r.tenants).sort()).toEqual(['a', 'b']);
    expect(Object.keys(r.classes).sort()).toEqual(['0', '1']);
    expect(r.tenants.a!.offeredPerSecond).toBeGreaterThan(1300);
    expect(r.jain).toBeGreaterThan(0);
    expect(r.jain).toBeLessThanOrEqual(1);
    expect(r.series).toHaveLength(12);
    expect(r.series.every((b) => Number.isFinite(b.queued))).toBe(true);
  });

  it('fails every call fast while the downstream is hard-down and counts it as errors', async () => {
    const r = await simulate({ durationMs: 4_000, load: { perSecond: 500 }, downstream: { down: [{ fromMs: 1_000, toMs: 3_000 }] } });
    const during = r.window(1_250, 2_750);
    expect(during.successes).toBe(0);
    expect(during.errors).toBeGreaterThan(600);
    expect(r.window(3_250, 4_000).goodputPerSecond).toBeGreaterThan(400);
  });

  it('regression: a retry that gave up is filed under what its last attempt ended with, not as an error', async () => {
    const r = await simulate({
      durationMs: 2_000,
      load: { perSecond: 200 },
      downstream: { service: deterministic(50) },
      policy: ({ clock, random }) => pipeline(retry({ maxAttempts: 2, budget: false, clock, random }), timeout({ timeoutMs: 10, clock })),
    });
    expect(r.summary.timeouts).toBeGreaterThan(300);
    expect(r.summary.errors).toBe(0);
  });

  it('lets a client retry loop amplify the attempts sent to the downstream', async () => {
    const r = await simulate({
      durationMs: 4_000,
      load: { perSecond: 500, retry: { maxAttempts: 3, backoffMs: () => 5 } },
      downstream: { down: [{ fromMs: 0, toMs: 4_000 }] },
    });
    expect(r.window(500, 3_500).amplification).toBeGreaterThan(2.9);
  });

  it('drops expired queued work in the cancel variant and wastes less than without it', async () => {
    const opts = { seed: 2, durationMs: 10_000, warmupMs: 5_000, load: { perSecond: 2000 } };
    const plain = await simulate(opts);
    const cancel = await simulate({ ...opts, downstream: { cancelExpired: true } });
    expect(cancel.downstream.dropped).toBeGreaterThan(0);
    expect(plain.downstream.dropped).toBe(0);
    expect(cancel.summary.wastedFraction).toBeLessThan(plain.summary.wastedFraction);
  });

  it('slows service down once in-flight exceeds the workers in the thrashing variant', async () => {
    const opts = { seed: 2, durationMs: 5_000, load: { perSecond: 1500 }, downstream: { service: deterministic(40) } };
    const plain = await simulate(opts);
    const usl = await simulate({ ...opts, downstream: { service: deterministic(40), thrashing: 0.002 } });
    expect(plain.downstream.busyMs / plain.downstream.completed).toBeCloseTo(40, 5);
    expect(usl.downstream.busyMs / usl.downstream.completed).toBeGreaterThan(44);
  });

  it('applies scheduled capacity changes by workers and by service time', async () => {
    const r = await simulate({
      seed: 4,
      durationMs: 12_000,
      deadlineMs: Infinity,
      load: { perSecond: 2000 },
      downstream: { changes: [{ atMs: 4_000, workers: 20 }, { atMs: 8_000, workers: 40, serviceScale: 2 }] },
    });
    expect(r.window(1_000, 4_000).throughputPerSecond).toBeGreaterThan(950);
    expect(r.window(5_000, 8_000).throughputPerSecond).toBeLessThan(530);
    expect(r.window(9_000, 12_000).throughputPerSecond).toBeLessThan(530);
    expect(r.series[30]!.capacityPerSecond).toBe(500);
  });

  it('follows rate schedules, ramps and bursts', async () => {
    const stepped = await simulate({ durationMs: 20_000, load: { schedule: [{ atMs: 0, perSecond: 100 }, { atMs: 10_000, perSecond: 400 }] } });
    expect(stepped.window(0, 10_000).offeredPerSecond).toBeCloseTo(100, -1);
    expect(stepped.window(10_000, 20_000).offeredPerSecond).toBeCloseTo(400, -1.5);
    const ramped = await simulate({ durationMs: 10_000, load: { schedule: ramp(0, 400, 0, 10_000) } });
    expect(ramped.summary.offeredPerSecond).toBeGreaterThan(180);
    expect(ramped.summary.offeredPerSecond).toBeLessThan(220);
    const bursty = await simulate({ durationMs: 40_000, load: { bursts: { lowPerSecond: 100, highPerSecond: 1000, meanLowMs: 9_000, meanHighMs: 1_000, periodic: true } } });
    expect(bursty.summary.offeredPerSecond).toBeGreaterThan(170);
    expect(bursty.summary.offeredPerSecond).toBeLessThan(210);
    expect(bursty.window(9_000, 10_000).offeredPerSecond).toBeGreaterThan(800);
  });

  it('restores Error.stackTraceLimit after a run (stacks are skipped only while simulating)', async () => {
    const before = Error.stackTraceLimit;
    await simulate({ durationMs: 500, load: { perSecond: 100 } });
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('removes a caller from a limiter queue at its deadline and counts the timeout', async () => {
    // A bucket that admits 1 call per second with a long queue: queued callers hit their 200 ms deadline.
    const r = await simulate({
      durationMs: 3_000,
      deadlineMs: 200,
      load: { perSecond: 20 },
      policy: ({ clock }) => tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 1000, clock }),
    });
    expect(r.summary.timeouts + r.summary.rejected).toBeGreaterThan(30);
    expect(r.series.at(-1)!.queued).toBeLessThan(10);
  });

  it('counts service time spent after the caller left as wasted work', async () => {
    const r = await simulate({ durationMs: 2_000, deadlineMs: 50, load: { perSecond: 50 }, downstream: { workers: 10, service: deterministic(80) } });
    expect(r.summary.successes).toBe(0);
    expect(r.summary.wastedFraction).toBe(1);
    expect(r.summary.wastedMs).toBeCloseTo(r.summary.busyMs, 6);
  });

  it('refuses a policy that does not run on the simulation clock', async () => {
    await expect(simulate({ durationMs: 100, load: { perSecond: 1 }, policy: () => tokenBucket({ capacity: 1, refillPerSecond: 1, clock: systemClock }) })).rejects.toThrow(
      TypeError,
    );
  });

  it('rejects bad options naming the option and the value', async () => {
    await expect(simulate({ durationMs: -1, load: { perSecond: 1 } })).rejects.toThrow(/durationMs/);
    await expect(simulate({ durationMs: 10, load: { perSecond: -1 } })).rejects.toThrow(/perSecond/);
    await expect(simulate({ durationMs: 10, load: [] })).rejects.toThrow(/load/);
    await expect(simulate({ durationMs: 10, load: { perSecond: 1 }, downstream: { workers: 0 } })).rejects.toThrow(/workers/);
  });
});

describe('simulate (measurement windows)', () => {
  it('regression: rejectLatencyP50Ms is the median over the window, not over the whole run (a window whose median is 50 ms reported 0)', async () => {
    // Refuses at once until 2 s, then 50 ms after the call starts.
    const policy = ({ clock }: { clock: SimClock }): Policy =>
      ({
        name: 'slowRefusal',
        clock,
        execute: () =>
          clock.now() < 2_000
            ? Promise.reject(new RateLimitedError('slowRefusal', 0))
            : new Promise((_, reject) => clock.setTimeout(() => reject(new RateLimitedError('slowRefusal', 0)), 50)),
      }) as unknown as Policy;
    const r = await simulate({ durationMs: 3_000, warmupMs: 2_000, load: { perSecond: 200 }, policy });
    expect(r.window(0, 2_000).rejectLatencyP50Ms).toBe(0);
    expect(r.window(2_000, 3_000).rejectLatencyP50Ms).toBe(50);
    expect(r.summary.rejectLatencyP50Ms).toBe(50);
    expect(r.window(0, 3_000).rejectLatencyP50Ms).toBe(0); // two thirds of the refusals are instant
  });

  it('regression: rates are not biased low when durationMs is not a multiple of bucketMs (the partly simulated last bucket counted as a full one)', async () => {
    for (const durationMs of [1_100, 10_100]) {
      const r = await simulate({ durationMs, load: { perSecond: 5_000 }, downstream: { workers: 1_000, service: deterministic(1) } });
      const s = r.summary;
      expect(s.toMs).toBe(durationMs);
      expect(s.offeredPerSecond).toBeCloseTo(s.arrivals / (durationMs / 1000), 9);
      expect(s.goodputPerSecond).toBeCloseTo(s.successes / (durationMs / 1000), 9);
      expect(s.offeredPerSecond / 5_000).toBeGreaterThan(0.96);
      expect(s.offeredPerSecond / 5_000).toBeLessThan(1.04);
      // The last bucket (100 ms of 250) reports per second of its 100 ms, and its gauges were sampled at the run's end.
      const last = r.series.at(-1)!;
      expect(last.tMs).toBe(durationMs - 100);
      expect(last.goodputPerSecond).toBeCloseTo(last.successes * 10, 9);
      expect(last.goodputPerSecond / 5_000).toBeGreaterThan(0.8);
      expect(Number.isFinite(last.downstreamInflight)).toBe(true);
      // A window inside the last bucket is per second of its simulated part too.
      expect(r.window(durationMs - 100, durationMs + 1_000).offeredPerSecond).toBeCloseTo(last.arrivals * 10, 9);
    }
  });
});

describe('sim options', () => {
  it('regression: a misspelt option name is a TypeError naming it and the closest known one, in every sim factory and nested option', async () => {
    const base = { durationMs: 100, load: { perSecond: 1 } };
    await expect(simulate({ ...base, warmupMS: 10 } as never)).rejects.toThrow(/simulate: unknown option "warmupMS" \(did you mean "warmupMs"\?\)/);
    await expect(simulate({ durationMs: 100, load: { perSecnd: 1 } } as never)).rejects.toThrow(/simulate: load\[0\]: unknown option "perSecnd" \(did you mean "perSecond"\?\)/);
    await expect(simulate({ durationMs: 100, load: { schedule: [{ atMs: 0, perSec: 1 }] } } as never)).rejects.toThrow(/load\[0\]: schedule\[0\]: unknown option "perSec"/);
    await expect(
      simulate({ durationMs: 100, load: { bursts: { lowPerSecond: 1, highPerSecond: 2, meanLowMs: 1, meanHighMs: 1, periodical: true } } } as never),
    ).rejects.toThrow(/load\[0\]: bursts: unknown option "periodical" \(did you mean "periodic"\?\)/);
    await expect(simulate({ durationMs: 100, load: { perSecond: 1, retry: { maxAttemps: 3 } } } as never)).rejects.toThrow(
      /load\[0\]: retry: unknown option "maxAttemps" \(did you mean "maxAttempts"\?\)/,
    );
    await expect(simulate({ ...base, downstream: { worker: 4 } } as never)).rejects.toThrow(/downstream: unknown option "worker" \(did you mean "workers"\?\)/);
    await expect(simulate({ ...base, downstream: { down: [{ fromMs: 0, toMS: 1 }] } } as never)).rejects.toThrow(/downstream: down\[0\]: unknown option "toMS"/);
    await expect(simulate({ ...base, downstream: { changes: [{ atMs: 0, worker: 1 }] } } as never)).rejects.toThrow(/downstream: changes\[0\]: unknown option "worker"/);
    expect(() => bimodal({ slowFrac: 0.2 } as never)).toThrow(/bimodal: unknown option "slowFrac" \(did you mean "slowFraction"\?\)/);
    await expect(occContention({ clients: 2, backoff: () => 0, run: 3 } as never)).rejects.toThrow(/occContention: unknown option "run" \(did you mean "runs"\?\)/);
  });
});

describe('jainIndex and maxMinFair', () => {
  it('computes max-min fair shares by water filling', () => {
    expect(maxMinFair([400, 3000], 1000)).toEqual([400, 600]);
    expect(maxMinFair([100, 100], 1000)).toEqual([100, 100]);
  });
  it('is 1 for equal allocations and 1/n when one takes all', () => {
    expect(jainIndex([0.5, 0.5, 0.5])).toBeCloseTo(1);
    expect(jainIndex([1, 0, 0, 0])).toBeCloseTo(0.25);
    expect(jainIndex([0, 0])).toBeNaN();
  });
});

describe('convergenceTimeMs', () => {
  const bucket = (tMs: number, goodput: number, p99: number): SimBucket =>
    ({ tMs, goodputPerSecond: goodput, successes: goodput / 4, p99Ms: p99 }) as SimBucket;
  it('finds the first time from which a whole second of buckets meets the ideal', () => {
    const s = Array.from({ length: 40 }, (_, i) => bucket(i * 250, i < 12 ? 100 : 990, i < 14 ? 500 : 190));
    expect(convergenceTimeMs(s, { afterMs: 2_000, idealGoodputPerSecond: 1000, idealP99Ms: 186 })).toBe(1_500);
    expect(convergenceTimeMs(s.slice(0, 16), { afterMs: 2_000, idealGoodputPerSecond: 1000, idealP99Ms: 186 })).toBe(Infinity);
  });
});
