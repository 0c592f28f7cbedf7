/**
 * Retry properties, over random failure patterns, arrival schedules, backoffs and seeds:
 * - a call makes at most `maxAttempts` attempts, exactly as many as a plain reference model predicts;
 * - with a shared ratio budget, total attempts ≤ requests · (1 + ratio) + minPerSecond · elapsed seconds + the
 *   initial allowance (minPerSecond · windowMs / 1000);
 * - the same seed yields the same schedule of delays and attempt times;
 * - no timer is left once every call settles.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retry, type RetryEvent } from '../../src/retry/retry.js';
import { constantBackoff, decorrelatedJitter, equalJitter, fullJitter, type Backoff } from '../../src/retry/backoff.js';
import { ratioBudget } from '../../src/retry/budget.js';
import { RateLimitedError } from '../../src/core/errors.js';
import { ManualClock, collectEvents, seededRandom } from '../../src/testing/index.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 100);
console.log(`retry.prop: FC_SEED=${seed} (runs: ${numRuns})`);

/** What one attempt does. */
type Step = { kind: 'ok' } | { kind: 'fail' } | { kind: 'reject' } | { kind: 'busy'; retryAfterMs: number };

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'ok' }) },
  { weight: 6, arbitrary: fc.constant<Step>({ kind: 'fail' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'reject' }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_000 }).map((retryAfterMs): Step => ({ kind: 'busy', retryAfterMs })) },
);

const arbBackoff = fc.constantFrom<[string, Backoff]>(
  ['zero', constantBackoff()],
  ['constant', constantBackoff({ delayMs: 40 })],
  ['full', fullJitter({ baseMs: 10, capMs: 500 })],
  ['equal', equalJitter({ baseMs: 10, capMs: 500 })],
  ['decorrelated', decorrelatedJitter({ baseMs: 10, capMs: 500 })],
);

function stepResult(step: Step | undefined): Promise<string> {
  switch (step?.kind ?? 'fail') {
    case 'ok':
      return Promise.resolve('ok');
    case 'reject':
      return Promise.reject(new RateLimitedError('inner', 10));
    case 'busy':
      return Promise.reject(Object.assign(new Error('busy'), { retryAfterMs: (step as { retryAfterMs: number }).retryAfterMs }));
    default:
      return Promise.reject(new Error('fail'));
  }
}

/** Reference model of one call without budget or deadline: how many attempts, and whether it ends in success. */
function model(steps: readonly Step[], maxAttempts: number, maxRetryAfterMs: number): { attempts: number; ok: boolean } {
  for (let k = 1; ; k++) {
    const s = steps[k - 1] ?? { kind: 'fail' };
    if (s.kind === 'ok') return { attempts: k, ok: true };
    if (s.kind === 'reject' || k >= maxAttempts) return { attempts: k, ok: false };
    if (s.kind === 'busy' && s.retryAfterMs > maxRetryAfterMs) return { attempts: k, ok: false };
  }
}

describe('retry properties', () => {
  it('a call makes at most maxAttempts attempts, as many as the reference model says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbStep, { maxLength: 10 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 2_500 }),
        arbBackoff,
        fc.integer(),
        async (steps, maxAttempts, maxRetryAfterMs, [, backoff], s) => {
          const clock = new ManualClock();
          const r = retry({ clock, maxAttempts, maxRetryAfterMs, backoff, budget: false, random: seededRandom(s) });
          let attempts = 0;
          const out = r.execute(() => stepResult(steps[attempts++])).then(
            () => true,
            () => false,
          );
          await clock.runAll();
          const ok = await out;
          const expected = model(steps, maxAttempts, maxRetryAfterMs);
          expect(attempts).toBeLessThanOrEqual(maxAttempts);
          expect({ attempts, ok }).toEqual(expected);
          expect(r.stats()).toMatchObject({ calls: 1, attempts, retries: attempts - 1 });
          expect(clock.pendingTimers()).toBe(0);
        },
      ),
      { seed, numRuns },
    );
  });

  it('with a shared ratio budget, attempts <= requests x (1 + ratio) + minPerSecond x (elapsed + window) seconds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          ratio: fc.constantFrom(0, 0.05, 0.1, 0.2, 0.5, 1),
          minPerSecond: fc.constantFrom(0, 0.5, 1, 5, 10),
          windowMs: fc.constantFrom(200, 1_000, 10_000),
          maxAttempts: fc.integer({ min: 1, max: 6 }),
          policies: fc.integer({ min: 1, max: 3 }),
        }),
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 400 }), policy: fc.nat(), steps: fc.array(fc.boolean(), { maxLength: 6 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        arbBackoff,
        fc.integer(),
        async (config, arrivals, [, backoff], s) => {
          const clock = new ManualClock();
          const budget = ratioBudget({ ratio: config.ratio, minPerSecond: config.minPerSecond, windowMs: config.windowMs });
          const random = seededRandom(s);
          const policies = Array.from({ length: config.policies }, (_, i) =>
            retry({ clock, name: `p${i}`, maxAttempts: config.maxAttempts, backoff, budget, random }),
          );
          let attempts = 0;
          let lastAttemptAt = 0;
          const settled: Promise<unknown>[] = [];
          for (const a of arrivals) {
            await clock.advance(a.gapMs);
            let k = 0;
            // steps[k] true = the attempt succeeds; past the pattern every attempt fails.
            const fn = () => {
              attempts++;
              lastAttemptAt = clock.now();
              return a.steps[k++] === true ? Promise.resolve(1) : Promise.reject(new Error('down'));
            };
            settled.push(policies[a.policy % policies.length]!.execute(fn).catch(() => undefined));
          }
          await clock.runAll();
          await Promise.all(settled);
          const requests = arrivals.length;
          const bound =
            requests * (1 + config.ratio) + (config.minPerSecond * lastAttemptAt) / 1000 + (config.minPerSecond * config.windowMs) / 1000;
          expect(attempts).toBeLessThanOrEqual(bound + 1e-6);
          expect(attempts).toBeLessThanOrEqual(requests * config.maxAttempts);
          const retries = policies.reduce((n, p) => n + p.stats().retries, 0);
          expect(attempts).toBe(requests + retries);
          expect(budget.stats(clock).retriesGranted).toBe(retries);
          expect(clock.pendingTimers()).toBe(0);
        },
      ),
      { seed, numRuns },
    );
  });

  it('the same seed gives the same schedule of delays and attempt times', async () => {
    const runOnce = async (backoff: Backoff, s: number, calls: number, maxAttempts: number) => {
      const clock = new ManualClock();
      const r = retry({ clock, backoff, maxAttempts, budget: false, random: seededRandom(s) });
      const events = collectEvents(r.events, ['retry']);
      const times: number[] = [];
      const all = Array.from({ length: calls }, () =>
        r
          .execute(() => {
            times.push(clock.now());
            return Promise.reject(new Error('x'));
          })
          .catch(() => undefined),
      );
      await clock.runAll();
      await Promise.all(all);
      return { delays: events.of<RetryEvent>('retry').map((e) => e.delayMs), times };
    };
    await fc.assert(
      fc.asyncProperty(arbBackoff, fc.integer(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), async ([, backoff], s, calls, maxAttempts) => {
        const a = await runOnce(backoff, s, calls, maxAttempts);
        const b = await runOnce(backoff, s, calls, maxAttempts);
        expect(a).toEqual(b);
        expect(a.delays).toHaveLength(calls * (maxAttempts - 1));
      }),
      { seed, numRuns: Math.max(10, Math.floor(numRuns / 2)) },
    );
  });
});
