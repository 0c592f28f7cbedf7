/**
 * Every limit algorithm stays an integer within [min, max] for any sample sequence, including NaN, Infinity and
 * negative RTTs or in-flight counts (which are ignored and leave the limit unchanged), and any clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aimdLimit, envoyGradientLimit, fixedLimit, gradient2Limit, sluiceLimit, vegasLimit, windowedLimit, type LimitAlgorithm } from '../../../src/concurrency/limits/index.js';
import { seededRandom } from '../../../src/testing/index.js';
import { fcParams } from '../../rate/prop-driver.js';

const { seed, numRuns } = fcParams('limits.prop', 200);

const wild = fc.oneof(
  fc.double({ min: 0, max: 1e4, noNaN: true }),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e-9, Number.MAX_VALUE),
);
const sampleArb = fc.record({ rttMs: wild, inflight: fc.oneof(fc.integer({ min: 0, max: 2000 }), wild), dropped: fc.boolean(), gapMs: fc.oneof(fc.double({ min: 0, max: 3000, noNaN: true }), fc.constant(0)) });
const boundsArb = fc.integer({ min: 1, max: 50 }).chain((min) => fc.record({ minLimit: fc.constant(min), maxLimit: fc.integer({ min, max: 1000 }) }));

const builders: [string, (b: { minLimit: number; maxLimit: number }) => LimitAlgorithm][] = [
  ['fixed', (b) => fixedLimit({ limit: b.minLimit })],
  ['aimd', (b) => aimdLimit({ ...b, initialLimit: b.minLimit })],
  ['vegas', (b) => vegasLimit({ ...b, initialLimit: b.maxLimit, random: seededRandom(3) })],
  ['gradient2', (b) => gradient2Limit({ ...b, initialLimit: b.minLimit })],
  ['windowed(vegas)', (b) => windowedLimit(vegasLimit({ ...b, initialLimit: b.minLimit, random: seededRandom(4) }), { windowSize: 2, minWindowMs: 10, maxWindowMs: 50 })],
  ['envoy-gradient', (b) => envoyGradientLimit({ minConcurrency: b.minLimit, maxLimit: b.maxLimit, requestCount: 3, updateIntervalMs: 20, minRttIntervalMs: 500, random: seededRandom(5) })],
  ['windowed(gradient2)', (b) => windowedLimit(gradient2Limit({ ...b, initialLimit: b.maxLimit }), { windowSize: 1 })],
  ['sluice', (b) => sluiceLimit({ ...b, initialLimit: b.minLimit, minWindowMs: 5, maxWindowMs: 20, minSamples: 2 })],
  ['sluice (queue 1)', (b) => sluiceLimit({ ...b, initialLimit: b.maxLimit, queue: 1, minWindowMs: 1, minSamples: 1 })],
];

describe('limit algorithms (properties)', () => {
  for (const [name, build] of builders) {
    it(`${name}: the limit is an integer in [min, max] after any samples; unusable samples change nothing`, () => {
      fc.assert(
        fc.property(boundsArb, fc.array(sampleArb, { maxLength: 300 }), (bounds, samples) => {
          const a = build(bounds);
          let now = 0;
          for (const s of samples) {
            now += s.gapMs;
            const before = a.limit;
            const usable = s.rttMs >= 0 && s.rttMs !== Infinity && s.inflight >= 0 && s.inflight !== Infinity;
            const after = a.sample({ rttMs: s.rttMs, inflight: s.inflight, dropped: s.dropped }, now);
            expect(after).toBe(a.limit);
            expect(Number.isInteger(after)).toBe(true);
            expect(after).toBeGreaterThanOrEqual(a.min);
            expect(after).toBeLessThanOrEqual(a.max);
            if (!usable) expect(after).toBe(before);
          }
        }),
        { seed, numRuns },
      );
    });
  }
});
