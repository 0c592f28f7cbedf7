/**
 * The fused path of pipeline() against the general path, as a differential property: the same random pipeline of
 * real policies, driven by the same random calls on two ManualClocks, once as `pipeline(...policies)` (fused where
 * the policies allow it) and once with every policy hidden behind an opaque wrapper that only offers `[RUN]` (the
 * general path, the reference). Every call must end the same way at the same virtual time, `fn` must run the same
 * attempts, every policy must report the same stats, and no timer may be left once everything settled.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  consecutiveFailures,
  constantBackoff,
  countWindow,
  fallback,
  isRejectedError,
  leakyBucket,
  pipeline,
  retry,
  timeout,
  tokenBucket,
  type Clock,
  type ExecutionContext,
  type Policy,
} from '../../src/index.js';
import { RUN } from '../../src/core/policy.js';
import { fcParams } from '../rate/prop-driver.js';
import { ManualClock, flushMicrotasks, seededRandom } from '../../src/testing/index.js';

const { seed, numRuns } = fcParams('pipeline-fused.prop', 300);

type StageSpec =
  | { kind: 'retry'; maxAttempts: number; delayMs: number; budget: boolean; retryResults: boolean }
  | { kind: 'breaker'; consecutive: boolean; threshold: number; openMs: number }
  | { kind: 'bucket'; capacity: number; refillPerSecond: number; maxQueue: number }
  | { kind: 'leaky'; ratePerSecond: number; maxQueue: number }
  | { kind: 'bulkhead'; limit: number; maxQueue: number }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'fallback'; onlyRejections: boolean; onResult: boolean };

const stageArb: fc.Arbitrary<StageSpec> = fc.oneof(
  fc.record({ kind: fc.constant('retry' as const), maxAttempts: fc.integer({ min: 1, max: 4 }), delayMs: fc.integer({ min: 0, max: 30 }), budget: fc.boolean(), retryResults: fc.boolean() }),
  fc.record({ kind: fc.constant('breaker' as const), consecutive: fc.boolean(), threshold: fc.integer({ min: 1, max: 4 }), openMs: fc.integer({ min: 10, max: 200 }) }),
  fc.record({ kind: fc.constant('bucket' as const), capacity: fc.integer({ min: 1, max: 5 }), refillPerSecond: fc.integer({ min: 5, max: 200 }), maxQueue: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('leaky' as const), ratePerSecond: fc.integer({ min: 20, max: 500 }), maxQueue: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('bulkhead' as const), limit: fc.integer({ min: 1, max: 3 }), maxQueue: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant('timeout' as const), timeoutMs: fc.integer({ min: 5, max: 80 }) }),
  fc.record({ kind: fc.constant('fallback' as const), onlyRejections: fc.boolean(), onResult: fc.boolean() }),
);

/** What one attempt of `fn` does. */
interface AttemptSpec {
  /** 'sync' returns/throws at once; 'async' settles after `ms`; 'never' never settles. */
  how: 'sync' | 'async' | 'never';
  fails: boolean;
  /** A result the retry/fallback predicates flag ("bad"), when it succeeds. */
  bad: boolean;
  ms: number;
}

interface CallSpec {
  gapMs: number;
  attempts: AttemptSpec[];
  timeoutMs: number | undefined;
  abortAfterMs: number | undefined;
  /** fn reads ctx.signal and ctx.deadline (so lazily built parts get built). */
  reads: boolean;
}

const attemptArb: fc.Arbitrary<AttemptSpec> = fc.record({
  how: fc.constantFrom('sync', 'async', 'async', 'async', 'never'),
  fails: fc.boolean(),
  bad: fc.boolean(),
  ms: fc.integer({ min: 0, max: 60 }),
});

const callArb: fc.Arbitrary<CallSpec> = fc.record({
  gapMs: fc.integer({ min: 0, max: 25 }),
  attempts: fc.array(attemptArb, { minLength: 1, maxLength: 4 }),
  timeoutMs: fc.option(fc.integer({ min: 1, max: 150 }), { nil: undefined }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  reads: fc.boolean(),
});

const isBad = (r: unknown): boolean => typeof r === 'string' && r.startsWith('bad');

function build(spec: StageSpec, clock: Clock, i: number): Policy & { stats(): unknown } {
  const name = `s${i}`;
  switch (spec.kind) {
    case 'retry':
      return retry({
        name,
        clock,
        random: seededRandom(i + 1),
        maxAttempts: spec.maxAttempts,
        backoff: constantBackoff({ delayMs: spec.delayMs + 0.0013 }),
        budget: spec.budget ? undefined : false,
        shouldRetryResult: spec.retryResults ? isBad : undefined,
      });
    case 'breaker':
      return circuitBreaker({
        name,
        clock,
        random: seededRandom(i + 1),
        openMs: spec.openMs,
        strategy: spec.consecutive ? consecutiveFailures({ threshold: spec.threshold }) : countWindow({ size: 4, minimumCalls: spec.threshold }),
      });
    case 'bucket':
      return tokenBucket({ name, clock, capacity: spec.capacity, refillPerSecond: spec.refillPerSecond, maxQueue: spec.maxQueue });
    case 'leaky':
      return leakyBucket({ name, clock, ratePerSecond: spec.ratePerSecond, maxQueue: spec.maxQueue });
    case 'bulkhead':
      return bulkhead({ name, clock, limit: spec.limit, maxQueue: spec.maxQueue });
    case 'timeout':
      return timeout({ name, clock, timeoutMs: spec.timeoutMs + 0.00037 });
    case 'fallback':
      return fallback<string>({ name, clock, value: 'fallback', when: spec.onlyRejections ? isRejectedError : undefined, whenResult: spec.onResult ? isBad : undefined });
  }
}

/** The policy with only `[RUN]`: a pipeline cannot fuse it. */
function opaque(p: Policy): Policy {
  return {
    name: p.name,
    clock: p.clock,
    execute: (fn, o) => p.execute(fn, o),
    dispose: (reason) => p.dispose(reason),
    [Symbol.dispose]: () => p[Symbol.dispose](),
    [RUN]: (next, ctx) => p[RUN](next, ctx),
  };
}

/** A comparable description of how a call ended. */
function describeOutcome(ok: boolean, x: unknown): string {
  if (ok) return `ok:${String(x)}`;
  if (typeof x === 'object' && x !== null) {
    const e = x as { name?: string; code?: string; message?: string; retryAfterMs?: number };
    return `err:${e.name}:${e.code ?? ''}:${e.message}:${e.retryAfterMs ?? ''}`;
  }
  return `err:${String(x)}`;
}

async function run(specs: StageSpec[], calls: CallSpec[], fused: boolean): Promise<{ log: string[]; stats: unknown[]; timers: number }> {
  const clock = new ManualClock(1000);
  const policies = specs.map((s, i) => build(s, clock, i));
  const p = pipeline(...(fused ? policies : policies.map(opaque)));
  const log: string[] = [];
  const settled: Promise<void>[] = [];
  for (const [k, c] of calls.entries()) {
    await clock.advance(c.gapMs);
    const ac = c.abortAfterMs === undefined ? undefined : new AbortController();
    if (ac !== undefined) clock.setTimeout(() => ac.abort(new Error(`abort ${k}`)), c.abortAfterMs!);
    let n = 0;
    const fn = (ctx: ExecutionContext): unknown => {
      const a = c.attempts[Math.min(n, c.attempts.length - 1)]!;
      const attempt = ++n;
      log.push(`t=${clock.now()} call ${k} attempt ${attempt} (ctx.attempt ${ctx.attempt})${c.reads ? ` deadline ${ctx.deadline} aborted ${ctx.signal.aborted}` : ''}`);
      const value = `${a.bad ? 'bad' : 'good'}-${k}-${attempt}`;
      const error = new Error(`fail ${k}/${attempt}`);
      if (a.how === 'sync') {
        if (a.fails) throw error;
        return value;
      }
      if (a.how === 'never') return new Promise(() => {});
      return new Promise((resolve, reject) => clock.setTimeout(() => (a.fails ? reject(error) : resolve(value)), a.ms + 0.000011 * (k + 1)));
    };
    const options = c.timeoutMs === undefined && ac === undefined ? undefined : { timeoutMs: c.timeoutMs, signal: ac?.signal };
    settled.push(
      p.execute(fn, options).then(
        (v) => void log.push(`t=${clock.now()} call ${k} ${describeOutcome(true, v)}`),
        (e: unknown) => void log.push(`t=${clock.now()} call ${k} ${describeOutcome(false, e)}`),
      ),
    );
    await flushMicrotasks();
  }
  // Let every timer run: backoffs, deadlines, refills, aborts. Calls whose fn never settles end by their timeout, or not at all.
  await clock.runAll();
  await flushMicrotasks();
  return { log, stats: policies.map((x) => x.stats()), timers: clock.pendingTimers() };
}

/**
 * The log with the lines of each instant sorted: events due at the very same virtual time (a timeout and another
 * call's backoff ending together) have no specified order, and the two paths arm their timers in different orders.
 * Ties are made rare by the fractional delays below, so an order that changed an outcome would still show.
 */
function sameInstantUnordered(log: readonly string[]): string[] {
  const at = (line: string): number => Number(/^t=([^ ]+)/.exec(line)![1]);
  return [...log].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
}

describe('pipeline fused path', () => {
  it('behaves exactly like the general path: outcomes, times, attempts, stats, timers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stageArb, { minLength: 1, maxLength: 5 }), fc.array(callArb, { minLength: 1, maxLength: 12 }), async (specs, calls) => {
        const general = await run(specs, calls, false);
        const fused = await run(specs, calls, true);
        expect(sameInstantUnordered(fused.log)).toEqual(sameInstantUnordered(general.log));
        expect(fused.stats).toEqual(general.stats);
        expect(fused.timers).toBe(general.timers);
      }),
      { seed, numRuns },
    );
  });

  it('fuses the recommended order (the test above compares something)', () => {
    const clock = new ManualClock();
    const p = pipeline(retry({ clock }), circuitBreaker({ clock }), tokenBucket({ capacity: 1, refillPerSecond: 1, clock }), timeout({ timeoutMs: 10, clock }));
    expect((p as unknown as { fast: unknown[] }).fast).toHaveLength(4);
    const q = pipeline(timeout({ timeoutMs: 10, clock }), retry({ clock }));
    expect((q as unknown as { fast: unknown[] }).fast).toHaveLength(0); // a racer fuses only as the innermost policy
  });
});
