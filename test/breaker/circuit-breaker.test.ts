import { describe, expect, it } from 'vitest';
import { circuitBreaker, type CircuitBreakerOptions, type CircuitStateChangeEvent, type CircuitOpenEvent, type CircuitFailureEvent, type CircuitSuccessEvent } from '../../src/breaker/circuit-breaker.js';
import { BrokenCircuitError, IsolatedCircuitError } from '../../src/breaker/errors.js';
import { consecutiveFailures } from '../../src/breaker/strategies/consecutive-failures.js';
import { countWindow } from '../../src/breaker/strategies/count-window.js';
import { timeWindow } from '../../src/breaker/strategies/time-window.js';
import { slowCallRate } from '../../src/breaker/strategies/slow-call-rate.js';
import { pipeline } from '../../src/core/pipeline.js';
import { TimeoutError, isRejectedError } from '../../src/core/errors.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, collectEvents, flushMicrotasks, seededRandom } from '../../src/testing/index.js';

const down = (): Promise<never> => Promise.reject(new Error('down'));
const up = (): string => 'ok';

function deferred<T = string>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/**
 * A breaker that opens after 2 consecutive failures, with exact (jitter-free) open intervals; while no probe has
 * succeeded since the trip, one failed probe reopens it.
 */
function make(options: CircuitBreakerOptions = {}) {
  const clock = new ManualClock();
  const breaker = circuitBreaker({ clock, strategy: consecutiveFailures({ threshold: 2 }), openJitter: 0, halfOpenDeadFailures: 1, ...options });
  return { clock, breaker };
}

async function failTimes(b: { execute(fn: () => unknown): Promise<unknown> }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await b.execute(down).catch(() => {});
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('circuitBreaker', () => {
  describe('transitions', () => {
    it('opens when the strategy trips and refuses calls without running them', async () => {
      const { breaker } = make();
      await failTimes(breaker, 2);
      expect(breaker.state).toBe('open');
      let ran = 0;
      const e = await rejection(breaker.execute(() => ++ran));
      expect(e).toBeInstanceOf(BrokenCircuitError);
      expect(e).toMatchObject({ code: 'CIRCUIT_OPEN', policy: 'circuitBreaker', retryAfterMs: 500 });
      expect(isRejectedError(e)).toBe(true);
      expect(ran).toBe(0);
    });

    it('retryAfterMs is the exact time left until the next probe', async () => {
      const { clock, breaker } = make({ openMs: 1000 });
      await failTimes(breaker, 2);
      await clock.advance(300);
      await expect(breaker.execute(up)).rejects.toMatchObject({ retryAfterMs: 700 });
      await clock.advance(699);
      await expect(breaker.execute(up)).rejects.toMatchObject({ retryAfterMs: 1 });
      await clock.advance(1);
      await expect(breaker.execute(up)).resolves.toBe('ok');
    });

    it('turns half-open lazily, when the state is read after the open interval, at the due time', async () => {
      const { clock, breaker } = make();
      const events = collectEvents(breaker.events, ['stateChange']);
      await failTimes(breaker, 2);
      await clock.advance(2000);
      expect(events.all).toHaveLength(1);
      expect(breaker.state).toBe('half-open');
      expect(events.of<CircuitStateChangeEvent>('stateChange')[1]).toMatchObject({ from: 'open', to: 'half-open', reason: 'openElapsed', at: 500 });
    });

    it('closes once the failure rate over halfOpenWindow probes can no longer reach the threshold, with a fresh window and no backoff', async () => {
      const { clock, breaker } = make({ halfOpenWindow: 3 }); // 2 of 3 failed would reach 50 %: 2 successes close
      await failTimes(breaker, 2);
      await clock.advance(500);
      await breaker.execute(up);
      expect(breaker.state).toBe('half-open');
      await breaker.execute(up);
      expect(breaker.state).toBe('closed');
      expect(breaker.stats()).toMatchObject({ consecutiveOpens: 0, calls: 0, opens: 1 });
      await failTimes(breaker, 1);
      expect(breaker.state).toBe('closed'); // the run before the opening was forgotten
    });

    it('reopens on a failed probe, doubling the open interval up to maxOpenMs', async () => {
      const { clock, breaker } = make({ openMs: 100, openBackoffFactor: 2, maxOpenMs: 350 });
      const opens = collectEvents(breaker.events, ['open']);
      await failTimes(breaker, 2);
      for (let i = 0; i < 4; i++) {
        await clock.advance(breaker.stats().retryAfterMs);
        await failTimes(breaker, 1); // the probe fails
      }
      expect(opens.of<CircuitOpenEvent>('open').map((e) => [e.openMs, e.consecutiveOpens, e.reason])).toEqual([
        [100, 1, 'consecutiveFailures'],
        [200, 2, 'probeFailed'],
        [350, 3, 'probeFailed'],
        [350, 4, 'probeFailed'],
        [350, 5, 'probeFailed'],
      ]);
    });

    it('keeps the open interval fixed with openBackoffFactor 1', async () => {
      const { clock, breaker } = make({ openMs: 100, openBackoffFactor: 1 });
      await failTimes(breaker, 2);
      await clock.advance(100);
      await failTimes(breaker, 1);
      expect(breaker.stats().retryAfterMs).toBe(100);
    });

    it('defaults maxOpenMs to openMs when openMs is above 1.5 s (a fixed interval)', async () => {
      const { clock, breaker } = make({ openMs: 5000 });
      await failTimes(breaker, 2);
      await clock.advance(5000);
      await failTimes(breaker, 1);
      expect(breaker.stats().retryAfterMs).toBe(5000);
    });

    it('ignores the outcome of a call admitted while closed that ends after the breaker opened', async () => {
      const { clock, breaker } = make();
      const slow = deferred();
      const p = breaker.execute(() => slow.promise);
      await failTimes(breaker, 2);
      await clock.advance(500);
      expect(breaker.state).toBe('half-open');
      slow.reject(new Error('late'));
      await expect(p).rejects.toThrow('late');
      expect(breaker.state).toBe('half-open');
      expect(breaker.stats()).toMatchObject({ failed: 3, opens: 1 });
    });

    it('admits at most halfOpenProbes concurrent probes and refuses the rest with retryAfterMs 0', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 2, halfOpenWindow: 5 });
      await failTimes(breaker, 2);
      await clock.advance(500);
      const probes = [deferred(), deferred()];
      const running = probes.map((d) => breaker.execute(() => d.promise));
      expect(breaker.stats().probesInFlight).toBe(2);
      await expect(breaker.execute(up)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 0 });
      probes[0]!.resolve('a');
      await running[0];
      expect(breaker.stats()).toMatchObject({ probesInFlight: 1, probeSuccesses: 1, state: 'half-open' });
      await expect(breaker.execute(up)).resolves.toBe('ok'); // the freed slot takes a new probe
      probes[1]!.resolve('b');
      await running[1];
      expect(breaker.state).toBe('closed');
      expect(breaker.stats().rejectedBy.CIRCUIT_OPEN).toBe(1);
    });

    it('a slow probe reopens the breaker when the strategy tracks slow calls', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock, openJitter: 0, halfOpenDeadFailures: 1, strategy: countWindow({ size: 2, minimumCalls: 2, slowCallDurationMs: 100 }) });
      await failTimes(breaker, 2);
      await clock.advance(500);
      const d = deferred();
      const probe = breaker.execute(() => d.promise);
      await clock.advance(101);
      d.resolve('late but fine');
      await expect(probe).resolves.toBe('late but fine');
      expect(breaker.state).toBe('open');
    });
  });

  describe('half-open verdict', () => {
    /** Trips a default-strategy-free breaker (2 consecutive failures) and lets the open interval pass. */
    async function halfOpen(options: CircuitBreakerOptions) {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock, strategy: consecutiveFailures({ threshold: 2 }), openJitter: 0, ...options });
      await failTimes(breaker, 2);
      await clock.advance(500);
      return { clock, breaker };
    }

    it('regression: one failed probe among successes no longer reopens; the failure rate over halfOpenWindow decides', async () => {
      // Defaults: window 20, threshold 0.5 → 10 failed probes reopen, 11 successful ones close.
      const { breaker } = await halfOpen({});
      await breaker.execute(up);
      await breaker.execute(down).catch(() => {});
      expect(breaker.stats()).toMatchObject({ state: 'half-open', probeSuccesses: 1, probeFailures: 1 });
      for (let i = 0; i < 9; i++) await breaker.execute(up);
      expect(breaker.state).toBe('half-open'); // 10 successes, 1 failure: 9 more failures would still reach 50 %
      await breaker.execute(up);
      expect(breaker.state).toBe('closed');
    });

    it('reopens as soon as the failed probes reach the threshold rate over the window', async () => {
      const { breaker } = await halfOpen({ halfOpenWindow: 4 }); // 2 of 4 = 50 %
      await breaker.execute(up);
      await breaker.execute(down).catch(() => {});
      expect(breaker.state).toBe('half-open');
      await breaker.execute(down).catch(() => {});
      expect(breaker.stats()).toMatchObject({ state: 'open', consecutiveOpens: 2 });
    });

    it('a dead dependency: halfOpenDeadFailures failed probes reopen at once while none succeeded since the trip', async () => {
      const { clock, breaker } = await halfOpen({});
      await failTimes(breaker, 2);
      expect(breaker.state).toBe('half-open');
      await failTimes(breaker, 1);
      expect(breaker.stats()).toMatchObject({ state: 'open', consecutiveOpens: 2 });
      // The next round: the dependency answered once, so the dead rule no longer applies: three failures do not reopen.
      await clock.advance(1000);
      await breaker.execute(up);
      await failTimes(breaker, 3);
      expect(breaker.stats()).toMatchObject({ state: 'half-open', probeFailures: 3, probeSuccesses: 1 });
    });

    it('admits at most halfOpenWindow probes per round and refuses the rest with retryAfterMs 0 until the verdict', async () => {
      const { breaker } = await halfOpen({ halfOpenWindow: 3, halfOpenProbes: 10 }); // 2 failures reopen, 2 successes close
      const probes = [deferred(), deferred(), deferred()];
      const running = probes.map((d) => breaker.execute(() => d.promise));
      await expect(breaker.execute(up)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 0 });
      probes[0]!.resolve('a');
      await running[0];
      expect(breaker.stats()).toMatchObject({ state: 'half-open', probesInFlight: 2, probeSuccesses: 1 });
      await expect(breaker.execute(up)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 0 });
      probes[1]!.resolve('b');
      await running[1];
      expect(breaker.state).toBe('closed');
      probes[2]!.reject(new Error('late')); // admitted in the half-open round: ignored once it closed
      await running[2]!.catch(() => {});
      expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0 });
    });

    it('judges probes against the strategy rate threshold by default, or halfOpenFailureRateThreshold', async () => {
      const run = async (options: CircuitBreakerOptions, script: boolean[]) => {
        const clock = new ManualClock();
        const breaker = circuitBreaker({ clock, openJitter: 0, halfOpenWindow: 4, strategy: countWindow({ size: 10, minimumCalls: 2, failureRateThreshold: 0.25 }), ...options });
        await failTimes(breaker, 2);
        await clock.advance(500);
        await breaker.execute(up); // a success since the trip: only the rate rule judges
        for (const ok of script) await breaker.execute(ok ? up : down).catch(() => {});
        return breaker.state;
      };
      expect(await run({}, [false])).toBe('open'); // 1 of 4 reaches 25 %
      expect(await run({}, [true, true])).toBe('half-open'); // 3 successes: a 4th failure would still reach 25 %
      expect(await run({}, [true, true, true])).toBe('closed');
      expect(await run({ halfOpenFailureRateThreshold: 1 }, [])).toBe('closed'); // 1 success: 4 of 4 failed is out of reach
    });
  });

  describe('half-open maximum wait', () => {
    it('reopens when probes never finish (resilience4j#935: stuck half-open), then probes afresh', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 1, halfOpenMaxWaitMs: 1000 });
      const changes = collectEvents(breaker.events, ['stateChange']);
      await failTimes(breaker, 2);
      await clock.advance(500);
      const hung = deferred();
      const stuck = breaker.execute(() => hung.promise);
      await clock.advance(999);
      await expect(breaker.execute(up)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 0 });
      await clock.advance(1);
      expect(breaker.state).toBe('open');
      expect(changes.of<CircuitStateChangeEvent>('stateChange').at(-1)).toMatchObject({ from: 'half-open', to: 'open', reason: 'halfOpenTimeout', at: 1500 });
      // the next opening backs off like any failed probe
      expect(breaker.stats()).toMatchObject({ consecutiveOpens: 2, retryAfterMs: 1000 });
      await clock.advance(1000);
      await expect(breaker.execute(up)).resolves.toBe('ok'); // a fresh probe slot: the hung probe no longer holds it
      hung.resolve('very late');
      await stuck;
      expect(breaker.stats()).toMatchObject({ state: 'half-open', probeSuccesses: 1, probesInFlight: 0 });
    });

    it('applies a half-open timeout and the reopening after it in order, even when nobody looked for a long time', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 1, halfOpenMaxWaitMs: 100 });
      const changes = collectEvents(breaker.events, ['stateChange']);
      await failTimes(breaker, 2); // open at 0 until 500
      await clock.advance(500);
      void breaker.execute(() => deferred().promise); // hangs forever
      await clock.advance(10_000);
      expect(breaker.state).toBe('half-open');
      expect(changes.of<CircuitStateChangeEvent>('stateChange').map((e) => [e.to, e.at])).toEqual([
        ['open', 0],
        ['half-open', 500],
        ['open', 600],
        ['half-open', 1600],
      ]);
    });

    it('counts the wait from the last probe that settled, not from entering half-open', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 2, halfOpenWindow: 9, halfOpenMaxWaitMs: 100 });
      await failTimes(breaker, 2);
      await clock.advance(500);
      void breaker.execute(() => deferred().promise); // hangs
      await clock.advance(80);
      await breaker.execute(up); // a verdict at 580
      await clock.advance(99);
      expect(breaker.state).toBe('half-open');
      await clock.advance(1);
      expect(breaker.state).toBe('open');
    });

    it('never expires while no probe is in flight (a quiet half-open waits for traffic)', async () => {
      const { clock, breaker } = make({ halfOpenMaxWaitMs: 100 });
      await failTimes(breaker, 2);
      await clock.advance(60_000);
      expect(breaker.state).toBe('half-open');
    });

    it('with halfOpenMaxWaitMs Infinity, waits for hung probes forever', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 1, halfOpenMaxWaitMs: Infinity });
      await failTimes(breaker, 2);
      await clock.advance(500);
      void breaker.execute(() => deferred().promise);
      await clock.advance(1e9);
      expect(breaker.state).toBe('half-open');
    });
  });

  describe('jitter', () => {
    it('draws each open interval from the injected random, within [(1 - openJitter)·d, d], reproducibly', async () => {
      const intervals = async (seed: number): Promise<number[]> => {
        const clock = new ManualClock();
        const b = circuitBreaker({ clock, random: seededRandom(seed), strategy: consecutiveFailures({ threshold: 1 }), openMs: 1000, maxOpenMs: 4000, openJitter: 0.5, halfOpenDeadFailures: 1 });
        const out: number[] = [];
        await failTimes(b, 1);
        for (let i = 0; i < 5; i++) {
          const wait = b.stats().retryAfterMs;
          out.push(wait);
          await clock.advance(wait);
          await failTimes(b, 1);
        }
        return out;
      };
      const a = await intervals(7);
      expect(await intervals(7)).toEqual(a);
      expect(await intervals(8)).not.toEqual(a);
      const nominal = [1000, 2000, 4000, 4000, 4000];
      a.forEach((w, i) => {
        expect(w).toBeGreaterThan(nominal[i]! * 0.5);
        expect(w).toBeLessThanOrEqual(nominal[i]!);
      });
    });

    it('spreads the probes of a fleet that opened together', async () => {
      const clock = new ManualClock();
      const fleet = Array.from({ length: 20 }, (_, i) =>
        circuitBreaker({ clock, random: seededRandom(i), strategy: consecutiveFailures({ threshold: 1 }) }),
      );
      for (const b of fleet) await failTimes(b, 1);
      const probes = new Set(fleet.map((b) => b.stats().retryAfterMs));
      expect(probes.size).toBe(20);
      for (const w of probes) expect(w).toBeGreaterThanOrEqual(400);
    });
  });

  describe('classification', () => {
    it('counts a result flagged by isResultFailure as a failure and still returns it', async () => {
      const { breaker } = make({ isResultFailure: (r) => (r as { status: number }).status >= 500 });
      const failures = collectEvents(breaker.events, ['failure']);
      await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
      await expect(breaker.execute(() => ({ status: 500 }))).resolves.toEqual({ status: 500 });
      expect(breaker.state).toBe('open');
      expect(failures.of<CircuitFailureEvent>('failure')[0]).toMatchObject({ error: { status: 503 }, isResult: true });
    });

    it('does not count local rejections from an inner sluice policy, unless countLocalRejections', async () => {
      for (const countLocalRejections of [false, true]) {
        const clock = new ManualClock();
        const breaker = circuitBreaker({ clock, strategy: consecutiveFailures({ threshold: 2 }), countLocalRejections });
        const guarded = pipeline(breaker, tokenBucket({ capacity: 1, refillPerSecond: 1, clock }));
        await guarded.execute(up);
        for (let i = 0; i < 2; i++) await expect(guarded.execute(up)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
        expect(breaker.state).toBe(countLocalRejections ? 'open' : 'closed');
        expect(breaker.stats()).toMatchObject(countLocalRejections ? { failed: 2 } : { ignored: 2, failed: 0 });
      }
    });

    it('counts a TimeoutError as a failure even when isFailure would say otherwise', async () => {
      const { breaker } = make({ isFailure: () => false });
      for (let i = 0; i < 2; i++) await breaker.execute(() => Promise.reject(new TimeoutError('t', 100))).catch(() => {});
      expect(breaker.state).toBe('open');
    });

    it('counts an error as a success when isFailure returns false', async () => {
      const { breaker } = make({ isFailure: (e) => !(e instanceof RangeError) });
      await breaker.execute(down).catch(() => {});
      await breaker.execute(() => Promise.reject(new RangeError('bad input'))).catch(() => {});
      await breaker.execute(down).catch(() => {});
      expect(breaker.state).toBe('closed');
      expect(breaker.stats()).toMatchObject({ succeeded: 1, failed: 2 });
    });

    it('passes the original error through when a classifier throws, and counts a failure', async () => {
      const { breaker } = make({
        isFailure: () => {
          throw new Error('classifier bug');
        },
        isResultFailure: () => {
          throw new Error('classifier bug');
        },
      });
      await expect(breaker.execute(down)).rejects.toThrow('down');
      await expect(breaker.execute(up)).resolves.toBe('ok');
      expect(breaker.state).toBe('open');
    });

    it('regression: an error whose code getter throws reaches the caller unchanged and counts as a failure', async () => {
      const hostile = (): Error => {
        const e = new Error('from fn');
        Object.defineProperty(e, 'code', {
          get() {
            throw new Error('code getter');
          },
        });
        return e;
      };
      const { revoke, proxy } = Proxy.revocable({}, {});
      revoke();
      for (const path of ['direct', 'pipeline'] as const) {
        const clock = new ManualClock();
        const breaker = circuitBreaker({ clock, strategy: consecutiveFailures({ threshold: 3 }), openJitter: 0 });
        // A pipeline of fused stages: the breaker's outcome reaches it through exit(), not through [RUN].
        const run = path === 'direct' ? breaker : pipeline(breaker, tokenBucket({ capacity: 1e9, refillPerSecond: 1e9, clock }));
        const e1 = hostile();
        await expect(run.execute(() => Promise.reject(e1))).rejects.toBe(e1);
        await expect(run.execute(() => Promise.reject(proxy))).rejects.toBe(proxy);
        // A policy-shaped error with a throwing retryAfterMs: not provably a local rejection, so a failure.
        const e3 = Object.defineProperties(new Error('looks local'), {
          code: { value: 'RATE_LIMITED' },
          policy: { value: 'x' },
          retryAfterMs: {
            get() {
              throw new Error('retryAfterMs getter');
            },
          },
        });
        await expect(run.execute(() => Promise.reject(e3))).rejects.toBe(e3);
        expect(breaker.stats(), path).toMatchObject({ failed: 3, state: 'open' });
      }
    });

    it('regression: in half-open, a probe failing with a hostile error frees its slot at once', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 1 });
      await failTimes(breaker, 2);
      await clock.advance(500);
      const e = new Error('from fn');
      Object.defineProperty(e, 'code', {
        get() {
          throw new Error('code getter');
        },
      });
      const probe = breaker.execute(() => Promise.reject(e));
      await expect(probe).rejects.toBe(e);
      // The verdict was given at once (not after halfOpenMaxWaitMs): the slot is free, the probe counted as failed.
      expect(breaker.stats()).toMatchObject({ probesInFlight: 0, failed: 3 });
    });

    it('regression: a classifier returning a non-boolean or a hostile object does not throw out of the breaker', async () => {
      const { revoke, proxy } = Proxy.revocable({}, {});
      revoke();
      const { breaker } = make({ isFailure: () => proxy as never, isResultFailure: () => proxy as never });
      await expect(breaker.execute(down)).rejects.toThrow('down');
      await expect(breaker.execute(up)).resolves.toBe('ok');
      expect(breaker.stats()).toMatchObject({ failed: 2, state: 'open' });
    });

    it('ignores a call that fails with the reason of its aborted caller signal', async () => {
      const { breaker } = make();
      for (let i = 0; i < 3; i++) {
        const ac = new AbortController();
        const p = breaker.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: ac.signal });
        ac.abort(new Error('caller left'));
        await expect(p).rejects.toThrow('caller left');
      }
      expect(breaker.stats()).toMatchObject({ state: 'closed', ignored: 3, failed: 0 });
    });

    it('an ignored probe frees its slot without a verdict', async () => {
      const { clock, breaker } = make({ halfOpenProbes: 1 });
      await failTimes(breaker, 2);
      await clock.advance(500);
      await expect(breaker.execute(() => Promise.reject(new BrokenCircuitError('inner', 5)))).rejects.toMatchObject({ policy: 'inner' });
      expect(breaker.stats()).toMatchObject({ state: 'half-open', probesInFlight: 0, probeSuccesses: 0 });
      await expect(breaker.execute(up)).resolves.toBe('ok');
    });

    it('measures slowness on the injected clock', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock, strategy: slowCallRate({ slowCallDurationMs: 50, size: 2, minimumCalls: 2, slowCallRateThreshold: 1 }) });
      const calls = collectEvents(breaker.events, ['success']);
      for (const ms of [50, 51, 51]) {
        const d = deferred();
        const p = breaker.execute(() => d.promise);
        await clock.advance(ms);
        d.resolve('x');
        await p;
      }
      expect(calls.of<CircuitSuccessEvent>('success').map((e) => [e.durationMs, e.slow])).toEqual([
        [50, false],
        [51, true],
        [51, true],
      ]);
      expect(breaker.state).toBe('open');
    });
  });

  describe('manual control', () => {
    it('isolate() refuses every call with CIRCUIT_ISOLATED and retryAfterMs Infinity until reset()', async () => {
      const { clock, breaker } = make();
      breaker.isolate();
      const e = await rejection(breaker.execute(up));
      expect(e).toBeInstanceOf(IsolatedCircuitError);
      expect(e).toMatchObject({ code: 'CIRCUIT_ISOLATED', retryAfterMs: Infinity });
      await clock.advance(1e9);
      expect(breaker.state).toBe('isolated');
      breaker.reset();
      await expect(breaker.execute(up)).resolves.toBe('ok');
      expect(breaker.stats().rejectedBy.CIRCUIT_ISOLATED).toBe(1);
    });

    it('disable() lets every call through and records nothing until reset()', async () => {
      const { breaker } = make();
      breaker.disable();
      await failTimes(breaker, 10);
      expect(breaker.stats()).toMatchObject({ state: 'disabled', failed: 0, admitted: 10 });
      breaker.reset();
      await failTimes(breaker, 2);
      expect(breaker.state).toBe('open');
    });

    it('reset() closes an open breaker, empties the window and forgets the backoff', async () => {
      const { clock, breaker } = make({ openMs: 100 });
      await failTimes(breaker, 2);
      await clock.advance(100);
      await failTimes(breaker, 1);
      expect(breaker.stats().consecutiveOpens).toBe(2);
      breaker.reset();
      expect(breaker.stats()).toMatchObject({ state: 'closed', consecutiveOpens: 0, calls: 0 });
      await failTimes(breaker, 2);
      expect(breaker.stats().retryAfterMs).toBe(100);
    });

    it('reset() while closed empties the window and stops counting calls already running', async () => {
      const { breaker } = make();
      const d = deferred();
      const running = breaker.execute(() => d.promise);
      await failTimes(breaker, 1);
      breaker.reset();
      d.reject(new Error('old'));
      await running.catch(() => {});
      await failTimes(breaker, 1);
      expect(breaker.state).toBe('closed');
    });

    it('dispose() refuses later calls with DISPOSED, unregisters its metrics and is idempotent', async () => {
      const metrics = createMetricsRegistry();
      const { breaker } = make({ metrics });
      expect(metrics.snapshot().some((s) => s.name === 'sluice_circuit_state')).toBe(true);
      const events = collectEvents(breaker.events, ['dispose']);
      breaker.dispose();
      breaker.dispose();
      expect(events.all).toHaveLength(1);
      expect(metrics.snapshot().some((s) => s.name === 'sluice_circuit_state')).toBe(false);
      await expect(breaker.execute(up)).rejects.toMatchObject({ code: 'DISPOSED' });
      breaker.reset(); // ignored once disposed
      expect(breaker.stats()).toMatchObject({ disposed: true, state: 'closed' });
    });
  });

  describe('export and restore', () => {
    it('round-trips an open breaker through JSON: state, remaining open time, backoff level and window', async () => {
      const { clock, breaker } = make({ openMs: 100 });
      await failTimes(breaker, 2);
      await clock.advance(100);
      await failTimes(breaker, 1); // second opening: 200 ms
      await clock.advance(50);
      const saved = JSON.parse(JSON.stringify(breaker.exportState()));
      expect(saved).toEqual({
        version: 1,
        state: 'open',
        openRemainingMs: 150,
        consecutiveOpens: 2,
        opens: 2,
        window: { kind: 'consecutiveFailures', consecutiveFailures: 2 },
      });
      const clock2 = new ManualClock(123_456); // a restarted process: another clock origin
      const again = circuitBreaker({ clock: clock2, strategy: consecutiveFailures({ threshold: 2 }), openJitter: 0, openMs: 100, halfOpenDeadFailures: 1, initialState: saved });
      expect(again.state).toBe('open');
      await expect(again.execute(up)).rejects.toMatchObject({ retryAfterMs: 150 });
      await clock2.advance(150);
      await failTimes(again, 1); // the probe fails: the third opening doubles again
      expect(again.stats()).toMatchObject({ consecutiveOpens: 3, retryAfterMs: 400, opens: 3 });
    });

    it('round-trips a closed window so a restarted process trips on the same evidence', async () => {
      const clock = new ManualClock();
      const a = circuitBreaker({ clock, strategy: countWindow({ size: 4, minimumCalls: 4 }) });
      await a.execute(up);
      await failTimes(a, 2);
      const b = circuitBreaker({ clock, strategy: countWindow({ size: 4, minimumCalls: 4 }), initialState: a.exportState() });
      expect(b.stats()).toMatchObject({ state: 'closed', calls: 3, failures: 2 });
      await b.execute(up);
      expect(b.state).toBe('open');
    });

    it('caps a restored open interval at this maxOpenMs', () => {
      const clock = new ManualClock();
      const b = circuitBreaker({ clock, initialState: { version: 1, state: 'open', openRemainingMs: 60_000, consecutiveOpens: 1, opens: 1, window: null } });
      expect(b.stats().retryAfterMs).toBe(1500);
    });

    it('restores isolated, disabled and half-open states', () => {
      for (const state of ['isolated', 'disabled', 'half-open'] as const) {
        const b = circuitBreaker({ clock: new ManualClock(), initialState: { version: 1, state, openRemainingMs: 0, consecutiveOpens: 0, opens: 0, window: null } });
        expect(b.state).toBe(state);
      }
    });

    it('ignores a saved window of another strategy kind', () => {
      const { breaker } = make({
        initialState: { version: 1, state: 'closed', openRemainingMs: 0, consecutiveOpens: 0, opens: 0, window: { kind: 'countWindow', outcomes: [1, 1] } },
      });
      expect(breaker.stats().calls).toBe(0);
    });

    it('validates the saved state, naming the field', () => {
      const base = { version: 1, state: 'open', openRemainingMs: 10, consecutiveOpens: 1, opens: 1, window: null };
      const bad: [unknown, RegExp][] = [
        ['nope', /initialState/],
        [{ ...base, version: 2 }, /initialState.version/],
        [{ ...base, state: 'ajar' }, /initialState.state/],
        [{ ...base, openRemainingMs: -1 }, /initialState.openRemainingMs/],
        [{ ...base, openRemainingMs: Infinity }, /initialState.openRemainingMs/],
        [{ ...base, consecutiveOpens: 1.5 }, /initialState.consecutiveOpens/],
        [{ ...base, opens: undefined }, /initialState.opens/],
        [{ ...base, window: 3 }, /initialState.window/],
        [{ ...base, window: { kind: 'consecutiveFailures', consecutiveFailures: 'x' } }, /consecutiveFailures/],
      ];
      for (const [initialState, message] of bad) {
        const strategy = consecutiveFailures();
        expect(() => circuitBreaker({ strategy, initialState: initialState as never }), JSON.stringify(initialState)).toThrow(message);
      }
    });
  });

  describe('dry-run', () => {
    it('lets every call through while recording what it would have refused', async () => {
      const { clock, breaker } = make({ dryRun: true });
      const events = collectEvents(breaker.events, ['wouldReject', 'reject', 'stateChange']);
      await failTimes(breaker, 2);
      expect(breaker.state).toBe('open');
      await expect(breaker.execute(up)).resolves.toBe('ok');
      await clock.advance(100);
      await expect(breaker.execute(down)).rejects.toThrow('down');
      expect(events.of('reject')).toHaveLength(0);
      expect(events.of('wouldReject')).toEqual([
        { policy: 'circuitBreaker', reason: 'CIRCUIT_OPEN', retryAfterMs: 500, cost: 1 },
        { policy: 'circuitBreaker', reason: 'CIRCUIT_OPEN', retryAfterMs: 400, cost: 1 },
      ]);
      expect(events.of<CircuitStateChangeEvent>('stateChange')[0]).toMatchObject({ to: 'open', dryRun: true });
      expect(breaker.stats()).toMatchObject({ dryRun: true, admitted: 4, rejected: 0, wouldRejectBy: { CIRCUIT_OPEN: 2 } });
    });

    it('follows the same state machine as an enforcing breaker: would-be-refused calls do not feed it', async () => {
      const run = async (dryRun: boolean) => {
        const { clock, breaker } = make({ dryRun, halfOpenProbes: 1, halfOpenWindow: 1 });
        const changes = collectEvents(breaker.events, ['stateChange']);
        const script: [number, boolean][] = [[0, false], [1, false], [10, true], [20, false], [600, true], [601, true], [700, false], [710, false]];
        for (const [at, ok] of script) {
          await clock.advanceTo(at);
          await breaker.execute(ok ? up : down).catch(() => {});
        }
        return changes.of<CircuitStateChangeEvent>('stateChange').map((e) => [e.from, e.to, e.at]);
      };
      const enforcing = await run(false);
      expect(enforcing.length).toBeGreaterThan(3);
      expect(await run(true)).toEqual(enforcing);
    });

    it('isolate() in dry-run only reports', async () => {
      const { breaker } = make({ dryRun: true });
      breaker.isolate();
      await expect(breaker.execute(up)).resolves.toBe('ok');
      expect(breaker.stats().wouldRejectBy.CIRCUIT_ISOLATED).toBe(1);
    });
  });

  describe('events and stats', () => {
    it('emits stateChange, open, halfOpen and close with stable payloads', async () => {
      const { clock, breaker } = make({ halfOpenWindow: 1 });
      const events = collectEvents(breaker.events, ['stateChange', 'open', 'halfOpen', 'close', 'reject']);
      await failTimes(breaker, 2);
      await breaker.execute(up).catch(() => {});
      await clock.advance(500);
      await breaker.execute(up);
      expect(events.all.map((e) => e.event)).toEqual(['stateChange', 'open', 'reject', 'stateChange', 'halfOpen', 'stateChange', 'close']);
      expect(events.of('open')[0]).toEqual({
        policy: 'circuitBreaker',
        reason: 'consecutiveFailures',
        at: 0,
        openMs: 500,
        consecutiveOpens: 1,
        window: { calls: 2, failures: 2, slowCalls: 0, failureRate: 1, slowCallRate: 0 },
        dryRun: false,
      });
      expect(events.of('halfOpen')[0]).toEqual({ policy: 'circuitBreaker', reason: 'openElapsed', at: 500, dryRun: false });
      expect(events.of('close')[0]).toEqual({ policy: 'circuitBreaker', reason: 'probesSucceeded', at: 500, dryRun: false });
      expect(events.of('reject')[0]).toEqual({ policy: 'circuitBreaker', reason: 'CIRCUIT_OPEN', retryAfterMs: 500, cost: 1 });
    });

    it('emits success and failure with the duration of the call', async () => {
      const { clock, breaker } = make();
      const events = collectEvents(breaker.events, ['success', 'failure']);
      const d = deferred();
      const p = breaker.execute(() => d.promise);
      await clock.advance(42);
      d.reject(new Error('x'));
      await p.catch(() => {});
      await breaker.execute(up);
      expect(events.all).toEqual([
        { event: 'failure', payload: { policy: 'circuitBreaker', durationMs: 42, slow: false, error: new Error('x'), isResult: false } },
        { event: 'success', payload: { policy: 'circuitBreaker', durationMs: 0, slow: false } },
      ]);
    });

    it('reports window figures, rates and counts in stats()', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock, name: 'db', strategy: timeWindow({ windowMs: 1000, minimumCalls: 10 }) });
      await breaker.execute(up);
      await failTimes(breaker, 3);
      expect(breaker.stats()).toMatchObject({
        name: 'db',
        state: 'closed',
        strategy: 'timeWindow',
        calls: 4,
        failures: 3,
        failureRate: 0.75,
        slowCallRate: 0,
        admitted: 4,
        succeeded: 1,
        failed: 3,
        opens: 0,
        probesInFlight: 0,
      });
      await clock.advance(1000);
      expect(breaker.stats()).toMatchObject({ calls: 0, failureRate: 0 });
    });

    it('publishes its state, openings and outcomes as metrics', async () => {
      const metrics = createMetricsRegistry();
      const { breaker } = make({ metrics, name: 'api' });
      await breaker.execute(up);
      await failTimes(breaker, 2);
      await breaker.execute(up).catch(() => {});
      const value = (name: string, labels: Record<string, string> = {}) =>
        metrics.snapshot().find((s) => s.name === name && s.labels.policy === 'api' && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      expect(value('sluice_circuit_state', { state: 'open' })).toMatchObject({ value: 1 });
      expect(value('sluice_circuit_state', { state: 'closed' })).toMatchObject({ value: 0 });
      expect(value('sluice_circuit_opens_total')).toMatchObject({ value: 1 });
      expect(value('sluice_circuit_calls_total', { outcome: 'failure' })).toMatchObject({ value: 2 });
      expect(value('sluice_rejected_total', { reason: 'CIRCUIT_OPEN' })).toMatchObject({ value: 1 });
      expect(value('sluice_call_duration_ms', { outcome: 'success' })).toMatchObject({ summary: { count: 1 } });
    });
  });

  describe('options', () => {
    it('rejects invalid options, naming them', () => {
      const bad: [CircuitBreakerOptions, RegExp][] = [
        [{ openMs: 0 }, /"openMs"/],
        [{ openBackoffFactor: 0.5 }, /"openBackoffFactor"/],
        [{ openMs: 1000, maxOpenMs: 999 }, /"maxOpenMs"/],
        [{ openJitter: 1.5 }, /"openJitter"/],
        [{ halfOpenProbes: 0 }, /"halfOpenProbes"/],
        [{ halfOpenWindow: 1.5 }, /"halfOpenWindow"/],
        [{ halfOpenWindow: 0 }, /"halfOpenWindow"/],
        [{ halfOpenWindow: 1e7 }, /"halfOpenWindow" must be an integer in \[1, 1000000\]/],
        [{ halfOpenFailureRateThreshold: 0 }, /"halfOpenFailureRateThreshold"/],
        [{ halfOpenFailureRateThreshold: 50 }, /"halfOpenFailureRateThreshold"/],
        [{ halfOpenDeadFailures: 0 }, /"halfOpenDeadFailures"/],
        [{ halfOpenSuccessThreshold: 3 } as never, /unknown option "halfOpenSuccessThreshold"/],
        [{ halfOpenMaxWaitMs: 0 }, /"halfOpenMaxWaitMs"/],
        [{ halfOpenMaxWaitMs: -1 }, /"halfOpenMaxWaitMs"/],
        [{ isFailure: true as never }, /"isFailure"/],
        [{ isResultFailure: 'x' as never }, /"isResultFailure"/],
        [{ countLocalRejections: 1 as never }, /"countLocalRejections"/],
        [{ dryRun: 'yes' as never }, /"dryRun"/],
        [{ strategy: {} as never }, /"strategy"/],
        [{ name: '' }, /"name"/],
        [{ clock: {} as never }, /"clock"/],
      ];
      for (const [options, message] of bad) expect(() => circuitBreaker(options), JSON.stringify(options)).toThrow(message);
      expect(() => circuitBreaker(42 as never)).toThrow(TypeError);
    });

    it('regression: an unknown option name is refused, naming the closest known one', () => {
      expect(() => circuitBreaker({ openMS: 100 } as never)).toThrow(/circuitBreaker: unknown option "openMS" \(did you mean "openMs"\?\)/);
      expect(() => circuitBreaker({ isFailur: () => true } as never)).toThrow(/did you mean "isFailure"/);
      expect(() => circuitBreaker({ maxQueue: 10 } as never)).toThrow(TypeError);
      expect(() => circuitBreaker({ initalState: null } as never)).toThrow(/did you mean "initialState"/);
    });

    it('regression: an unknown field of initialState is refused instead of being restored as a default', () => {
      const saved = { version: 1, state: 'open', openRemainingMs: 100, consecutiveOpens: 1, opens: 1, window: null };
      expect(circuitBreaker({ initialState: saved as never }).state).toBe('open');
      expect(() => circuitBreaker({ initialState: { ...saved, openRemaningMs: 5 } as never })).toThrow(/unknown option "openRemaningMs" \(did you mean "openRemainingMs"\?\)/);
    });

    it('regression: a random source outside [0, 1) cannot make the open interval NaN or negative', async () => {
      for (const r of [NaN, 1.5, -3]) {
        const clock = new ManualClock();
        const breaker = circuitBreaker({ clock, random: () => r, strategy: consecutiveFailures({ threshold: 1 }), openMs: 100, openJitter: 1 });
        await failTimes(breaker, 1);
        expect(breaker.stats().retryAfterMs, String(r)).toBe(100);
        await clock.advance(100);
        expect(breaker.state, String(r)).toBe('half-open');
      }
    });

    it('refuses a strategy instance that another breaker already uses', () => {
      const strategy = countWindow();
      circuitBreaker({ strategy });
      expect(() => circuitBreaker({ strategy })).toThrow(/already used by another breaker/);
    });

    it('the defaults open a dead dependency quickly but not on 10 % noise', async () => {
      const clock = new ManualClock();
      const breaker = circuitBreaker({ clock });
      const random = seededRandom(1);
      for (let i = 0; i < 2000; i++) await breaker.execute(random() < 0.1 ? down : up).catch(() => {});
      expect(breaker.stats().opens).toBe(0);
      let calls = 0;
      while (breaker.state === 'closed') {
        calls++;
        await breaker.execute(down).catch(() => {});
      }
      expect(calls).toBeLessThanOrEqual(50); // at 800 calls/s: ≤ 63 ms
      expect(breaker.stats().retryAfterMs).toBeGreaterThanOrEqual(400);
      expect(breaker.stats().retryAfterMs).toBeLessThanOrEqual(500);
    });

    it('leaves no timer behind, whatever happened', async () => {
      const { clock, breaker } = make({ halfOpenMaxWaitMs: 10 });
      await failTimes(breaker, 2);
      await clock.advance(500);
      void breaker.execute(() => deferred().promise);
      await clock.advance(20);
      void breaker.state;
      await flushMicrotasks();
      expect(clock.pendingTimers()).toBe(0);
    });
  });
});
