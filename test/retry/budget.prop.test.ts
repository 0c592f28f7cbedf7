/**
 * Budget properties, fed directly (no clock, no async), over random sequences of requests, retries, successes and
 * time steps:
 * - ratio budget: retries granted ≤ ratio · requests + minPerSecond · elapsed s + minPerSecond · windowMs / 1000;
 *   deposits are gone one window after the last request; requests at one instant fund ⌊ratio · n⌋ retries.
 * - token budget: tokens stay within [0, capacity]; every grant withdraws its cost.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ratioBudget, tokenBudget, type BudgetClock } from '../../src/retry/budget.js';

/** A clock fixed at `t` ms. */
const at = (t: number): BudgetClock => ({ now: () => t });
import { TimeoutError } from '../../src/core/errors.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 300);
console.log(`budget.prop: FC_SEED=${seed} (runs: ${numRuns})`);

type Op = { op: 'request' | 'retry' | 'timeoutRetry' | 'success'; dtMs: number };

const arbOps = fc.array(
  fc.record({
    op: fc.constantFrom<Op['op']>('request', 'request', 'retry', 'retry', 'retry', 'timeoutRetry', 'success'),
    dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 30_000 })),
  }),
  { maxLength: 400 },
);

describe('ratioBudget properties', () => {
  it('grants at most ratio x requests + minPerSecond x (elapsed + window) seconds', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: -1e6, max: 1e6 }),
        arbOps,
        (ratio, minPerSecond, windowMs, start, ops) => {
          const b = ratioBudget({ ratio, minPerSecond, windowMs });
          let now = start;
          let requests = 0;
          let granted = 0;
          for (const o of ops) {
            now += o.dtMs;
            if (o.op === 'request') {
              b.recordRequest(at(now));
              requests++;
            } else if (o.op === 'success') b.recordSuccess(at(now), 0);
            else {
              const cost = b.tryRetry(at(now), null);
              expect(cost === 0 || cost === 1).toBe(true);
              granted += cost;
            }
            const bound = ratio * requests + (minPerSecond * (now - start)) / 1000 + (minPerSecond * windowMs) / 1000;
            expect(granted).toBeLessThanOrEqual(bound + 1e-6);
          }
          const s = b.stats(at(now));
          expect(s.retriesGranted).toBe(granted);
          expect(s.requests).toBe(requests);
          expect(s.reserve).toBeLessThanOrEqual((minPerSecond * windowMs) / 1000 + 1e-9);
          // One window after the last event no deposit is left.
          expect(b.stats(at(now + windowMs)).deposits).toBe(0);
        },
      ),
      { seed, numRuns },
    );
  });

  it('requests at one instant fund floor(ratio x n) retries when the floor is off', () => {
    fc.assert(
      fc.property(fc.constantFrom(0.05, 0.1, 0.2, 0.25, 0.5, 1, 1.5), fc.integer({ min: 0, max: 500 }), (ratio, n) => {
        const b = ratioBudget({ ratio, minPerSecond: 0 });
        for (let i = 0; i < n; i++) b.recordRequest(at(7));
        let granted = 0;
        while (b.tryRetry(at(7), null) > 0) granted++;
        expect(granted).toBe(Math.floor(ratio * n + 1e-9));
      }),
      { seed, numRuns },
    );
  });
});

describe('tokenBudget properties', () => {
  it('keeps tokens within [0, capacity] and withdraws exactly the cost of every grant', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.boolean(),
        arbOps,
        (capacity, initialShare, retryCost, timeoutCost, successRefund, refundRetryCost, ops) => {
          const b = tokenBudget({ capacity, initialTokens: capacity * initialShare, retryCost, timeoutCost, successRefund, refundRetryCost });
          let lastCost = 0;
          for (const o of ops) {
            const before = b.stats(at(0)).tokens;
            if (o.op === 'request') b.recordRequest(at(0));
            else if (o.op === 'success') {
              b.recordSuccess(at(0), lastCost);
              lastCost = 0;
            } else {
              const timeout = o.op === 'timeoutRetry';
              const cost = b.tryRetry(at(0), timeout ? new TimeoutError('t', 1) : new Error('x'));
              const expected = timeout ? timeoutCost : retryCost;
              if (cost > 0) {
                expect(cost).toBe(expected);
                expect(b.stats(at(0)).tokens).toBeCloseTo(before - cost, 9);
                lastCost = cost;
              } else expect(before).toBeLessThan(expected);
            }
            const t = b.stats(at(0)).tokens;
            expect(t).toBeGreaterThanOrEqual(0);
            expect(t).toBeLessThanOrEqual(capacity);
          }
        },
      ),
      { seed, numRuns },
    );
  });
});
