/**
 * Retry accounting properties (regression: a retry cancelled during its backoff was counted and charged). For any
 * sequence of calls, failures, clock advances, aborts and disposals on a ManualClock, with policies sharing one budget:
 * - at every observation point, for each policy, `attempts = calls + retries` and `attempts` = fn invocations, and
 *   the metrics report the same counts as `stats()`;
 * - the budget is charged once per retry that started, plus the retries asleep right now (reserved), and once every
 *   call has settled exactly once per started retry (`retriesGranted = Σ retries`; a token budget holds
 *   `initial − retryCost · Σ retries`);
 * - per call, `retry` events = retries started + 1 when the call was cancelled during a backoff, else + 0;
 * - once every call has settled, `calls = successes + failures` and no timer is left.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retry, type GiveUpEvent, type Retry, type RetryEvent } from '../../src/retry/retry.js';
import { constantBackoff, fullJitter } from '../../src/retry/backoff.js';
import { ratioBudget, tokenBudget, type RetryBudget } from '../../src/retry/budget.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { METRIC } from '../../src/metrics/metrics.js';
import { ManualClock, collectEvents, flushMicrotasks, seededRandom } from '../../src/testing/index.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 100);
console.log(`retry-accounting.prop: FC_SEED=${seed} (runs: ${numRuns})`);

type Action =
  | { kind: 'call'; policy: number; outcomes: boolean[]; withSignal: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'abort'; call: number }
  | { kind: 'dispose'; policy: number };

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), policy: fc.nat({ max: 2 }), outcomes: fc.array(fc.boolean(), { maxLength: 5 }), withSignal: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), call: fc.nat({ max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dispose' as const), policy: fc.nat({ max: 2 }) }) },
);

interface CallRecord {
  policy: number;
  invocations: number;
  errors: Set<unknown>;
  controller: AbortController | undefined;
  settled: boolean;
  cancelled: boolean;
}

describe('retry accounting properties', () => {
  it('stats, events, metrics and the budget agree: a retry counts, and is charged, once it starts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          budget: fc.constantFrom('token', 'ratio', 'none'),
          maxAttempts: fc.integer({ min: 1, max: 5 }),
          backoff: fc.constantFrom('zero', 'constant', 'jitter'),
          policies: fc.integer({ min: 1, max: 3 }),
        }),
        fc.array(arbAction, { minLength: 1, maxLength: 40 }),
        fc.integer(),
        async (config, actions, s) => {
          const clock = new ManualClock();
          const budget: RetryBudget | undefined =
            config.budget === 'token'
              ? tokenBudget({ capacity: 1e6, successRefund: 0, refundRetryCost: false })
              : config.budget === 'ratio'
                ? ratioBudget({ ratio: 0.5, minPerSecond: 2, windowMs: 1_000 })
                : undefined;
          const backoff = config.backoff === 'zero' ? constantBackoff() : config.backoff === 'constant' ? constantBackoff({ delayMs: 40 }) : fullJitter({ baseMs: 30, capMs: 200 });
          const metrics = createMetricsRegistry();
          const random = seededRandom(s);
          const policies: Retry[] = Array.from({ length: config.policies }, (_, i) =>
            retry({ clock, name: `p${i}`, metrics, maxAttempts: config.maxAttempts, backoff, budget: budget ?? false, random }),
          );
          const events = policies.map((p) => collectEvents(p.events, ['retry', 'giveUp']));
          const calls: CallRecord[] = [];
          const pending: Promise<unknown>[] = [];
          const invocations = policies.map(() => 0);

          const metric = (name: string, policy: string) =>
            (metrics.snapshot().find((m) => m.name === name && m.labels.policy === policy) as { value?: number } | undefined)?.value;

          const check = () => {
            let retries = 0;
            let sleeping = 0;
            policies.forEach((p, i) => {
              const st = p.stats();
              expect(st.attempts).toBe(st.calls + st.retries);
              expect(st.attempts).toBe(invocations[i]);
              if (!st.disposed) expect([metric(METRIC.retryAttempts, p.name), metric(METRIC.retries, p.name)]).toEqual([st.attempts, st.retries]);
              retries += st.retries;
              sleeping += st.sleeping;
            });
            if (budget !== undefined) {
              // Charged for every started retry, plus the ones asleep now (reserved, refunded if they never start).
              expect(budget.stats(clock).retriesGranted).toBe(retries + sleeping);
            }
            return retries;
          };

          for (const a of actions) {
            if (a.kind === 'call') {
              const pi = a.policy % policies.length;
              const rec: CallRecord = { policy: pi, invocations: 0, errors: new Set(), controller: a.withSignal ? new AbortController() : undefined, settled: false, cancelled: false };
              calls.push(rec);
              const fn = () => {
                invocations[pi]!++;
                const ok = a.outcomes[rec.invocations++] === true;
                if (ok) return Promise.resolve('ok');
                const e = new Error(`call ${calls.indexOf(rec)} attempt ${rec.invocations}`);
                rec.errors.add(e);
                return Promise.reject(e);
              };
              pending.push(
                policies[pi]!.execute(fn, rec.controller === undefined ? undefined : { signal: rec.controller.signal }).then(
                  () => void (rec.settled = true),
                  (e: unknown) => {
                    rec.settled = true;
                    rec.cancelled = (e as { code?: string }).code === 'DISPOSED' || e === rec.controller?.signal.reason;
                  },
                ),
              );
              await flushMicrotasks();
            } else if (a.kind === 'advance') {
              await clock.advance(a.ms);
            } else if (a.kind === 'abort') {
              calls[a.call % Math.max(1, calls.length)]?.controller?.abort(new Error('caller left'));
              await flushMicrotasks();
            } else {
              policies[a.policy % policies.length]!.dispose();
              await flushMicrotasks();
            }
            check();
          }
          await clock.runAll();
          await Promise.all(pending);
          const retries = check();

          for (const [i, p] of policies.entries()) {
            const st = p.stats();
            expect(st.calls).toBe(st.successes + st.failures);
            expect(st.sleeping).toBe(0);
            const retryEvents = events[i]!.of<RetryEvent>('retry');
            const giveUps = events[i]!.of<GiveUpEvent>('giveUp');
            for (const rec of calls.filter((c) => c.policy === i && c.invocations > 0)) {
              expect(rec.settled).toBe(true);
              const mine = retryEvents.filter((e) => e.kind === 'error' && rec.errors.has(e.error)).length;
              const extra = mine - (rec.invocations - 1);
              expect(extra === 0 || (extra === 1 && rec.cancelled)).toBe(true);
              const gu = giveUps.find((g) => g.kind === 'error' && rec.errors.has(g.error));
              if (gu !== undefined) expect(gu.attempts).toBe(rec.invocations);
            }
          }
          if (budget !== undefined) {
            const b = budget.stats(clock);
            expect(b.retriesGranted).toBe(retries);
            if (config.budget === 'token') expect((b as unknown as { tokens: number }).tokens).toBe(1e6 - 5 * retries);
          }
          expect(clock.pendingTimers()).toBe(0);
        },
      ),
      { seed, numRuns },
    );
  });
});
