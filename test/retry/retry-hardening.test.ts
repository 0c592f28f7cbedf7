/**
 * Regression tests from the outside review (issue 8): retries counted when they start, errors that say why the retry
 * gave up, user callbacks and hostile values that cannot break the policy, sleepers that wake whatever a foreign
 * signal does, unknown options refused.
 */
import { describe, expect, it } from 'vitest';
import { retry, type GiveUpEvent, type RetryEvent } from '../../src/retry/retry.js';
import { RetryExhaustedError, isRetryExhaustedError } from '../../src/retry/errors.js';
import { constantBackoff, decorrelatedJitter, equalJitter, exponentialBackoff, fullJitter } from '../../src/retry/backoff.js';
import { ratioBudget, tokenBudget, type RetryBudget } from '../../src/retry/budget.js';
import { DisposedError, RateLimitedError, SluiceError, TimeoutError, isRejectedError, isSluiceError } from '../../src/core/errors.js';
import { pipeline } from '../../src/core/pipeline.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { circuitBreaker } from '../../src/breaker/index.js';
import { timeout } from '../../src/timeout/index.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { METRIC } from '../../src/metrics/metrics.js';
import { ManualClock, collectEvents, flushMicrotasks } from '../../src/testing/index.js';
import { collectReported } from '../support/reported.js';

function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}


const fail = () => Promise.reject(new Error('down'));

/** A signal-like object whose listener methods misbehave as asked; `abort()` runs the registered listener. */
function foreignSignal(how: { removeThrows?: boolean; addThrows?: boolean }) {
  let listener: (() => void) | undefined;
  const s = {
    aborted: false,
    reason: undefined as unknown,
    addEventListener(_type: string, l: () => void) {
      if (how.addThrows) throw new Error('addEventListener broke');
      listener = l;
    },
    removeEventListener() {
      if (how.removeThrows) throw new Error('removeEventListener broke');
      listener = undefined;
    },
    abort(reason: unknown) {
      s.aborted = true;
      s.reason = reason;
      listener?.();
    },
  };
  return s;
}

describe('retry: a retry counts when it starts (regression: a retry that never ran was counted)', () => {
  it('regression: a call aborted during a backoff shows retries 0 with attempts 1, and the budget charge is refunded', async () => {
    const clock = new ManualClock();
    const budget = tokenBudget({ capacity: 100, successRefund: 0 });
    const metrics = createMetricsRegistry();
    const r = retry({ clock, budget, metrics, name: 'api', backoff: constantBackoff({ delayMs: 1_000 }) });
    const events = collectEvents(r.events, ['retry', 'giveUp']);
    const ac = new AbortController();
    const out = settle(r.execute(fail, { signal: ac.signal }));
    await flushMicrotasks();
    expect(budget.stats(clock)).toMatchObject({ tokens: 95, retriesGranted: 1 }); // reserved while it sleeps
    ac.abort(new Error('caller left'));
    expect(await out).toMatchObject({ ok: false, error: { message: 'caller left' } });
    expect(r.stats()).toMatchObject({ calls: 1, attempts: 1, retries: 0, failures: 1, sleeping: 0 });
    expect(budget.stats(clock)).toMatchObject({ tokens: 100, retriesGranted: 0 });
    // The retry event announced a scheduled retry; the giveUp that follows says it never ran.
    expect(events.of<RetryEvent>('retry').map((e) => e.attempt)).toEqual([2]);
    expect(events.of<GiveUpEvent>('giveUp')).toMatchObject([{ reason: 'aborted', attempts: 1 }]);
    const value = (name: string) => (metrics.snapshot().find((m) => m.name === name && m.labels.policy === 'api') as { value?: number } | undefined)?.value;
    expect([value(METRIC.retryAttempts), value(METRIC.retries)]).toEqual([1, 0]);
  });

  it('regression: a policy disposed during a backoff counts no retry, and refunds a token and a ratio budget', async () => {
    for (const budget of [tokenBudget({ capacity: 100 }), ratioBudget({ ratio: 0, minPerSecond: 1, windowMs: 3_000 })]) {
      const clock = new ManualClock();
      const r = retry({ clock, budget, backoff: constantBackoff({ delayMs: 500 }) });
      const before = budget.stats(clock).available;
      const outs = [settle(r.execute(fail)), settle(r.execute(fail))];
      await flushMicrotasks();
      expect(r.stats().sleeping).toBe(2);
      r.dispose();
      for (const o of await Promise.all(outs)) expect(o.ok === false && o.error).toBeInstanceOf(DisposedError);
      expect(r.stats()).toMatchObject({ calls: 2, attempts: 2, retries: 0, giveUps: { disposed: 2 } });
      expect(budget.stats(clock)).toMatchObject({ retriesGranted: 0, available: before });
    }
  });

  it('regression: a retry listener that aborts the call stops the retry before it starts (zero backoff)', async () => {
    const clock = new ManualClock();
    const budget = tokenBudget({ capacity: 100 });
    const r = retry({ clock, budget, backoff: constantBackoff() });
    const ac = new AbortController();
    const reason = new Error('enough');
    r.events.on('retry', () => ac.abort(reason));
    let ran = 0;
    await expect(r.execute(() => (ran++, fail()), { signal: ac.signal })).rejects.toBe(reason);
    expect(ran).toBe(1);
    expect(r.stats()).toMatchObject({ attempts: 1, retries: 0, giveUps: { aborted: 1 } });
    expect(budget.stats(clock)).toMatchObject({ tokens: 100, retriesGranted: 0 });
  });

  it('regression: a policy disposed between the wake-up and the attempt does not start it', async () => {
    const clock = new ManualClock();
    const r = retry({ clock, budget: false, backoff: constantBackoff() });
    r.events.on('retry', () => r.dispose(new Error('shutdown')));
    let ran = 0;
    await expect(r.execute(() => (ran++, fail()))).rejects.toThrow('shutdown');
    expect(ran).toBe(1);
    expect(r.stats()).toMatchObject({ attempts: 1, retries: 0, giveUps: { disposed: 1 } });
  });
});

describe('retry: the final error says why it gave up', () => {
  it("regression: an inner rate limiter refusing the retry no longer hides the dependency's 503 (cause), and the reason is 'rejected'", async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 0.001, clock });
    const r = retry({ clock, budget: false, backoff: constantBackoff() });
    const events = collectEvents(r.events, ['giveUp']);
    const http503 = Object.assign(new Error('503 Service Unavailable'), { status: 503 });
    const out = await settle(pipeline(r, bucket).execute(() => Promise.reject(http503)));
    const e = out.ok ? undefined : out.error;
    expect(e).toBeInstanceOf(RetryExhaustedError);
    expect(e).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'rejected', attempts: 2, cause: http503 });
    expect((e as RetryExhaustedError).lastError).toMatchObject({ code: 'RATE_LIMITED' });
    expect((e as Error).message).toBe('retry: gave up after 2 attempts (an inner policy refused the attempt): 503 Service Unavailable');
    expect(isRetryExhaustedError(e)).toBe(true);
    expect(isRejectedError(e)).toBe(false); // the dependency was called: not a local rejection
    expect(events.of<GiveUpEvent>('giveUp')).toMatchObject([{ reason: 'rejected', attempts: 2 }]);
  });

  it('keeps a flagged result as cause when a local refusal ends the call', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 0.001, clock });
    const r = retry({ clock, budget: false, backoff: constantBackoff(), shouldRetryResult: (res) => (res as { status: number }).status === 503 });
    const response = { status: 503 };
    const out = await settle(pipeline(r, bucket).execute(() => response));
    expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'rejected', cause: response });
  });

  it('a breaker inside the retry still sees each attempt error', async () => {
    const clock = new ManualClock();
    const breaker = circuitBreaker({ clock });
    const errors: Error[] = [];
    const out = await settle(
      pipeline(retry({ clock, budget: false, backoff: constantBackoff() }), breaker).execute(() => {
        const e = new Error(`attempt ${errors.length + 1}`);
        errors.push(e);
        return Promise.reject(e);
      }),
    );
    expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', attempts: 3, cause: errors[2] });
    expect(breaker.stats()).toMatchObject({ failed: 3, ignored: 0 });
  });

  it('counts an inner timeout as the dependency failure (cause), on the fused path and the general path alike', async () => {
    const clock = new ManualClock();
    const outs = [];
    for (const general of [false, true]) {
      // A retry that records call durations declines the fused path, so `general` runs it through [RUN].
      const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 10 }), metrics: general ? createMetricsRegistry() : undefined });
      const t = timeout({ timeoutMs: 1_000, clock });
      const o = settle(pipeline(r, t).execute(() => Promise.reject(new TimeoutError('dep', 5))));
      await clock.runAll();
      outs.push(await o);
    }
    for (const o of outs) expect(o.ok === false && o.error).toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'maxAttempts', attempts: 3, cause: { code: 'TIMEOUT' } });
  });

  it('makes an exhausted budget visible: event, give-up metric, and a budget gauge at 0', async () => {
    const clock = new ManualClock();
    const metrics = createMetricsRegistry();
    const budget = tokenBudget({ capacity: 5, successRefund: 0 });
    const r = retry({ clock, name: 'api', metrics, budget, backoff: constantBackoff() });
    const events = collectEvents(r.events, ['budgetExhausted']);
    const value = (name: string, labels: Record<string, string> = {}) =>
      (metrics.snapshot().find((m) => m.name === name && m.labels.policy === 'api' && Object.entries(labels).every(([k, v]) => m.labels[k] === v)) as { value?: number } | undefined)?.value;
    expect(value(METRIC.retryBudgetAvailable)).toBe(1);
    const out = await settle(r.execute(fail));
    expect(out.ok === false && out.error).toMatchObject({ reason: 'budget', attempts: 2 });
    expect(events.of('budgetExhausted')).toHaveLength(1);
    expect(value(METRIC.retryGiveUps, { reason: 'budget' })).toBe(1);
    expect(value(METRIC.retryBudgetAvailable)).toBe(0);
  });

  it('isRetryExhaustedError matches on code across copies and never throws', () => {
    expect(isRetryExhaustedError(new RetryExhaustedError('p', 'maxAttempts', 3, new Error('x'), new Error('x')))).toBe(true);
    expect(isRetryExhaustedError({ code: 'RETRY_EXHAUSTED', policy: 'other copy', attempts: 2 })).toBe(true);
    expect(isRetryExhaustedError(new RateLimitedError('b', 1))).toBe(false);
    expect(isRetryExhaustedError(null)).toBe(false);
    const hostile = Object.defineProperty({}, 'code', { get: () => { throw new Error('getter'); } });
    expect(isRetryExhaustedError(hostile)).toBe(false);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(isRetryExhaustedError(revoked.proxy)).toBe(false);
  });

  it('is a SluiceError (isSluiceError) but not a local rejection (isRejectedError)', () => {
    const e = new RetryExhaustedError('p', 'maxAttempts', 3, new Error('x'), new Error('x'));
    expect(e).toBeInstanceOf(SluiceError);
    expect(e.name).toBe('RetryExhaustedError');
    expect(e.policy).toBe('p');
    expect(isSluiceError(e)).toBe(true);
    expect(isSluiceError({ code: 'RETRY_EXHAUSTED', policy: 'other copy' })).toBe(true);
    expect(isRejectedError(e)).toBe(false);
  });

  it('builds its message even when the cause cannot be printed', () => {
    const cause = Object.defineProperty({}, 'message', { get: () => { throw new Error('no'); } });
    expect(new RetryExhaustedError('p', 'deadline', 2, cause, cause).message).toBe(
      'p: gave up after 2 attempts (the next attempt could not start before the deadline): an error that cannot be printed',
    );
  });
});

describe('retry: user callbacks and hostile values never break the policy', () => {
  const hostileErrors = () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const codeGetter = Object.defineProperty(new Error('x'), 'code', { get: () => { throw new Error('code getter'); } });
    const policyGetter = Object.defineProperty(Object.assign(new Error('x'), { code: 'RATE_LIMITED' }), 'policy', { get: () => { throw new Error('policy getter'); } });
    // retried: whether it is a sluice rejection is decided without its getters (it is not one), and any error is retryable
    // not retried: its retryAfterMs hint (or anything at all) cannot be read, so the policy cannot honour it
    return [
      ['a code getter that throws', codeGetter, true],
      ['a policy getter that throws', policyGetter, true],
      ['a retryAfterMs getter that throws', Object.defineProperty(new Error('x'), 'retryAfterMs', { get: () => { throw new Error('hint getter'); } }), false],
      ['a revoked Proxy', revoked.proxy, false],
    ] as const;
  };

  for (const [what, error, retried] of hostileErrors()) {
    it(`regression: an error with ${what} never throws out of the policy and leaks no sleeper or budget (${retried ? 'retried' : 'passed on unchanged'})`, async () => {
      const clock = new ManualClock();
      const budget = tokenBudget();
      const r = retry({ clock, budget, backoff: constantBackoff({ delayMs: 10 }) });
      let ran = 0;
      const p = r.execute(() => (ran++, Promise.reject(error)));
      expect(p).toBeInstanceOf(Promise);
      const out = settle(p);
      await clock.runAll();
      const got = await out;
      if (retried) {
        expect(got.ok === false && isRetryExhaustedError(got.error) && got.error.cause === error).toBe(true);
        expect(ran).toBe(3);
        expect(r.stats()).toMatchObject({ attempts: 3, retries: 2, sleeping: 0, giveUps: { maxAttempts: 1 } });
        expect(budget.stats(clock)).toMatchObject({ retriesGranted: 2, tokens: 490 });
      } else {
        expect(got.ok === false && got.error).toBe(error);
        expect(ran).toBe(1);
        expect(r.stats()).toMatchObject({ attempts: 1, retries: 0, sleeping: 0, giveUps: { notRetryable: 1 } });
        expect(budget.stats(clock)).toMatchObject({ retriesGranted: 0, tokens: 500 });
      }
      expect(clock.pendingTimers()).toBe(0);
    });
  }

  it('regression: a shouldRetryResult that throws returns the result as a success, on the fused and the general path', async () => {
    const clock = new ManualClock();
    for (const metrics of [undefined, createMetricsRegistry()]) {
      const r = retry({ clock, metrics, shouldRetryResult: () => { throw new Error('predicate bug'); } });
      const reported = await collectReported(async () => {
        await expect(pipeline(r, timeout({ timeoutMs: 100, clock })).execute(() => 'value')).resolves.toBe('value');
      });
      expect(reported).toEqual(['predicate bug']);
      expect(r.stats()).toMatchObject({ successes: 1, attempts: 1 });
    }
  });

  it('regression: a tokenBudget isTimeout that throws counts the failure as no timeout', () => {
    const clock = new ManualClock();
    const budget = tokenBudget({ isTimeout: () => { throw new Error('bug'); } });
    expect(budget.tryRetry(clock, new Error('x'))).toBe(5);
    const hostile = Object.defineProperty({}, 'code', { get: () => { throw new Error('getter'); } });
    expect(tokenBudget().tryRetry(clock, hostile)).toBe(5);
  });

  it('regression: a custom budget that throws never makes execute() throw or change the outcome', async () => {
    const clock = new ManualClock();
    const boom = (what: string) => () => {
      throw new Error(`${what} bug`);
    };
    const budget: RetryBudget = {
      kind: 'broken',
      recordRequest: boom('recordRequest'),
      tryRetry: boom('tryRetry'),
      recordSuccess: boom('recordSuccess'),
      refundRetry: boom('refundRetry'),
      stats: boom('stats'),
    };
    const r = retry({ clock, budget, backoff: constantBackoff() });
    const reported = await collectReported(async () => {
      const ok = r.execute(() => 1);
      expect(ok).toBeInstanceOf(Promise);
      await expect(ok).resolves.toBe(1);
      const error = new Error('dependency');
      // tryRetry throws: the retry is refused (reason budget).
      await expect(r.execute(() => Promise.reject(error))).rejects.toMatchObject({ code: 'RETRY_EXHAUSTED', reason: 'budget', cause: error });
    });
    expect(reported).toEqual(['recordRequest bug', 'recordSuccess bug', 'recordRequest bug', 'tryRetry bug']);
  });

  it('regression: event listeners that throw do not change the outcome or the counts', async () => {
    const clock = new ManualClock();
    const outer = retry({ clock, name: 'outer', budget: false, backoff: constantBackoff() });
    const inner = retry({ clock, name: 'inner', budget: false, backoff: constantBackoff() });
    for (const p of [outer, inner]) {
      for (const ev of ['retry', 'giveUp', 'budgetExhausted', 'nestedRetry'] as const) {
        p.events.on(ev, () => {
          throw new Error(`${p.name} ${ev} listener bug`);
        });
      }
    }
    const errors: Error[] = [];
    const reported = await collectReported(async () => {
      const p = pipeline(outer, inner).execute(() => {
        const e = new Error(`attempt ${errors.length + 1}`);
        errors.push(e);
        return Promise.reject(e);
      });
      expect(p).toBeInstanceOf(Promise); // the nestedRetry listener threw inside execute(): no synchronous throw
      const out = await settle(p);
      expect(out.ok === false && out.error).toMatchObject({ code: 'RETRY_EXHAUSTED', attempts: 3, cause: errors[2] });
    });
    expect(outer.stats()).toMatchObject({ attempts: 3, retries: 2, failures: 1, giveUps: { maxAttempts: 1 } });
    expect(reported.sort()).toEqual(['inner nestedRetry listener bug', 'outer giveUp listener bug', 'outer retry listener bug', 'outer retry listener bug']);
  });
});

describe('retry: one sleeper cannot stop the shared timer from waking the others', () => {
  it('regression: a signal whose removeEventListener throws does not stop other sleepers from waking', async () => {
    const clock = new ManualClock();
    const r = retry({ clock, budget: false, maxAttempts: 2, backoff: (i) => (i.outcome.kind === 'error' && (i.outcome.error as Error).message === 'first' ? 50 : 100) });
    const attempts: string[] = [];
    const run = (name: string, signal?: unknown) =>
      settle(
        r.execute(
          (ctx) => {
            attempts.push(`${name}@${clock.now()}`);
            return ctx.attempt === 1 ? Promise.reject(new Error(name === 'hostile' ? 'first' : 'x')) : Promise.resolve(name);
          },
          signal === undefined ? undefined : { signal: signal as AbortSignal },
        ),
      );
    const outs = [run('a'), run('hostile', foreignSignal({ removeThrows: true })), run('b'), run('c', new AbortController().signal)];
    await flushMicrotasks();
    expect(r.stats().sleeping).toBe(4);
    await clock.advance(50); // the hostile sleeper wakes first, in the same timer callback as nobody else
    await clock.advance(50); // the others wake at 100
    expect((await Promise.all(outs)).map((o) => o.ok && o.value)).toEqual(['a', 'hostile', 'b', 'c']);
    expect(attempts.filter((a) => a.endsWith('@100')).sort()).toEqual(['a@100', 'b@100', 'c@100']);
    expect(r.stats()).toMatchObject({ sleeping: 0, retries: 4 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('regression: several sleepers waking in one timer callback all wake when one of their signals throws', async () => {
    const clock = new ManualClock();
    const r = retry({ clock, budget: false, maxAttempts: 2, backoff: constantBackoff({ delayMs: 100 }) });
    const outs = [undefined, foreignSignal({ removeThrows: true }), undefined, foreignSignal({ removeThrows: true }), undefined].map((signal, k) =>
      settle(r.execute((ctx) => (ctx.attempt === 1 ? fail() : k), signal === undefined ? undefined : { signal: signal as unknown as AbortSignal })),
    );
    await flushMicrotasks();
    await clock.advance(100);
    expect((await Promise.all(outs)).map((o) => o.ok && o.value)).toEqual([0, 1, 2, 3, 4]);
  });

  it('regression: dispose rejects every sleeper even when a signal throws on removeEventListener', async () => {
    const clock = new ManualClock();
    const r = retry({ clock, budget: false, backoff: constantBackoff({ delayMs: 100 }) });
    const outs = [foreignSignal({ removeThrows: true }), undefined, foreignSignal({ removeThrows: true })].map((signal) =>
      settle(r.execute(fail, signal === undefined ? undefined : { signal: signal as unknown as AbortSignal })),
    );
    await flushMicrotasks();
    r.dispose();
    for (const o of await Promise.all(outs)) expect(o.ok === false && o.error).toBeInstanceOf(DisposedError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('regression: a signal whose addEventListener throws ends its call, refunds the budget and leaves no sleeper behind', async () => {
    const clock = new ManualClock();
    const budget = tokenBudget({ capacity: 100 });
    const r = retry({ clock, budget, backoff: constantBackoff({ delayMs: 100 }) });
    const out = await settle(r.execute(fail, { signal: foreignSignal({ addThrows: true }) as unknown as AbortSignal }));
    expect(out.ok === false && (out.error as Error).message).toBe('addEventListener broke');
    expect(r.stats()).toMatchObject({ sleeping: 0, attempts: 1, retries: 0 });
    expect(budget.stats(clock)).toMatchObject({ tokens: 100, retriesGranted: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('unknown option names (regression: retry({ maxAttemps: 10 }) silently ran with 3 attempts)', () => {
  it('retry() refuses an unknown option, naming the closest known one', () => {
    expect(() => retry({ maxAttemps: 10 } as never)).toThrow(/retry: unknown option "maxAttemps" \(did you mean "maxAttempts"\?\)/);
    expect(() => retry({ shouldRetyr: () => true } as never)).toThrow(/did you mean "shouldRetry"/);
    expect(() => retry({ throwLastErrors: true } as never)).toThrow(/did you mean "throwLastError"/);
    expect(() => retry({ bogus: 1 } as never)).toThrow(TypeError);
    expect(() => retry({ name: 'r', clock: new ManualClock(), random: () => 0.5, metrics: createMetricsRegistry(), throwLastError: true })).not.toThrow();
  });

  it('every backoff factory refuses an unknown option', () => {
    expect(() => constantBackoff({ delay: 5 } as never)).toThrow(/constantBackoff: unknown option "delay" \(did you mean "delayMs"\?\)/);
    expect(() => exponentialBackoff({ baseMS: 5 } as never)).toThrow(/exponentialBackoff: unknown option "baseMS" \(did you mean "baseMs"\?\)/);
    expect(() => fullJitter({ cap: 5 } as never)).toThrow(/fullJitter: unknown option "cap" \(did you mean "capMs"\?\)/);
    expect(() => equalJitter({ factr: 3 } as never)).toThrow(/equalJitter: unknown option "factr" \(did you mean "factor"\?\)/);
    expect(() => decorrelatedJitter({ factor: 3 } as never)).toThrow(/decorrelatedJitter: unknown option "factor"/);
  });

  it('every budget factory refuses an unknown option', () => {
    expect(() => ratioBudget({ minPerSec: 5 } as never)).toThrow(/ratioBudget: unknown option "minPerSec" \(did you mean "minPerSecond"\?\)/);
    expect(() => ratioBudget({ window: 5 } as never)).toThrow(/did you mean "windowMs"/);
    expect(() => tokenBudget({ capcity: 5 } as never)).toThrow(/tokenBudget: unknown option "capcity" \(did you mean "capacity"\?\)/);
    expect(() => tokenBudget({ refundRetryCosts: true } as never)).toThrow(/did you mean "refundRetryCost"/);
  });
});
