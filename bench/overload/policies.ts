/**
 * The policies the overload suite compares. Adding one is one entry in `candidates`. Families that have not landed
 * yet are loaded optionally, so the suite runs with whatever sluice has at the time.
 */
import type { ExecuteOptions, Task } from '../../src/core/context.js';
import type { Policy } from '../../src/core/index.js';
import { bulkhead, type BulkheadOptions } from '../../src/concurrency/index.js';
import { leakyBucket, tokenBucket } from '../../src/rate/index.js';
import type { SimEnvironment } from '../../src/sim/index.js';
import { runThrough, wrapPolicy } from './wrap.js';

/** One policy under test. `build` runs once per simulation, on the simulation's clock. */
export interface PolicyEntry {
  id: string;
  /** What the row is called in the report. */
  label: string;
  /** Builds the pipeline; undefined means no protection. */
  build: (env: SimEnvironment) => Policy | undefined;
  /** Shown in charts as the protected line when true. */
  featured?: boolean;
}

type Factory = (options: Record<string, unknown>) => Policy;

/** Imports a sluice family if it exists in this checkout (typed loosely on purpose: it may not exist yet). */
async function optional(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(new URL(path, import.meta.url).href)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Every policy that exists in this checkout. */
export async function availablePolicies(): Promise<{ policies: PolicyEntry[]; missing: string[] }> {
  const concurrency = await optional('../../src/concurrency/index.ts');
  const breaker = await optional('../../src/breaker/index.ts');
  const missing: string[] = [];
  const policies: PolicyEntry[] = [{ id: 'none', label: 'none (unprotected)', build: () => undefined }];

  const bulkhead = concurrency?.bulkhead as Factory | undefined;
  if (bulkhead !== undefined) {
    for (const limit of [40, 100, 200]) {
      policies.push({
        id: `static-${limit}`,
        label: `bulkhead L=${limit}`,
        featured: limit === 40,
        build: ({ clock }) => bulkhead({ limit, maxQueue: 0, clock }),
      });
    }
  } else {
    missing.push('bulkhead (src/concurrency): static limits L ∈ {40, 100, 200}');
  }

  // Sized for the canonical model (C = 1000 rps): a rate a little under capacity, a burst of one worker pool.
  policies.push({
    id: 'token-bucket',
    label: 'token bucket 950/s, burst 40',
    build: ({ clock }) => tokenBucket({ capacity: 40, refillPerSecond: 950, clock }),
  });
  policies.push({
    id: 'leaky-bucket',
    label: 'leaky bucket 950/s, queue 50',
    build: ({ clock }) => leakyBucket({ ratePerSecond: 950, burst: 10, maxQueue: 50, clock }),
  });

  const circuitBreaker = breaker?.circuitBreaker as Factory | undefined;
  if (circuitBreaker !== undefined) {
    policies.push({ id: 'breaker', label: 'circuit breaker (defaults)', build: ({ clock, random }) => circuitBreaker({ clock, random }) });
    if (bulkhead !== undefined) {
      const { pipeline } = await import('../../src/core/index.js');
      policies.push({
        id: 'breaker+static-40',
        label: 'breaker → bulkhead L=40',
        build: ({ clock, random }) => pipeline(circuitBreaker({ clock, random }), bulkhead({ limit: 40, maxQueue: 0, clock })),
      });
    }
  } else {
    missing.push('circuit breaker (src/breaker)');
  }
  if ((await optional('../../src/retry/index.ts')) === undefined) missing.push('retry policy and budgets (src/retry)');
  const adaptive = await adaptivePolicies();
  if (adaptive.length === 0) missing.push('adaptive limiters (src/concurrency: adaptiveLimiter)');
  policies.push(...adaptive);
  return { policies, missing };
}

/**
 * The adaptive limiter with each algorithm sluice ships, at its published defaults (the windowed ones as their
 * authors run them: one sample per window): sluice's own default, AIMD, Vegas, Gradient2 and Envoy's gradient
 * controller. `extra` options are added to each `adaptiveLimiter` (a queue, for the queue-aware scenarios).
 */
export async function adaptivePolicies(extra: Record<string, unknown> = {}, idSuffix = '', labelSuffix = ''): Promise<PolicyEntry[]> {
  const concurrency = await optional('../../src/concurrency/index.ts');
  const adaptiveLimiter = concurrency?.adaptiveLimiter as Factory | undefined;
  if (adaptiveLimiter === undefined) return [];
  type Algo = (o?: Record<string, unknown>) => unknown;
  const c = concurrency as Record<string, Algo> & { windowedLimit: (a: unknown) => unknown };
  const algorithms: { id: string; label: string; make: (env: SimEnvironment) => unknown }[] = [
    { id: 'sluice', label: 'adaptive: sluice (default)', make: () => c.sluiceLimit!() },
    { id: 'aimd', label: 'adaptive: AIMD', make: () => c.aimdLimit!() },
    { id: 'vegas', label: 'adaptive: Vegas, windowed', make: (env) => c.windowedLimit(c.vegasLimit!({ random: env.random })) },
    { id: 'gradient2', label: 'adaptive: Gradient2, windowed', make: () => c.windowedLimit(c.gradient2Limit!()) },
    { id: 'envoy', label: 'adaptive: Envoy gradient', make: (env) => c.envoyGradientLimit!({ random: env.random }) },
  ];
  return algorithms.map((a) => ({
    id: `adaptive-${a.id}${idSuffix}`,
    label: `${a.label}${labelSuffix}`,
    featured: a.id === 'sluice' && idSuffix === '',
    build: (env: SimEnvironment) => adaptiveLimiter({ ...extra, algorithm: a.make(env), clock: env.clock, random: env.random }),
  }));
}

/**
 * Pipelines with sluice's retry policy, for the retry-storm scenario (S5): retry (4 attempts, full jitter 50 ms..1 s,
 * the default token budget) → [bulkhead] → timeout 1 s per attempt.
 */
export async function retryPipelines(): Promise<PolicyEntry[]> {
  const retryMod = await optional('../../src/retry/index.ts');
  const timeoutMod = await optional('../../src/timeout/index.ts');
  const concurrency = await optional('../../src/concurrency/index.ts');
  if (retryMod === undefined || timeoutMod === undefined) return [];
  const { pipeline } = await import('../../src/core/index.js');
  const retry = retryMod.retry as Factory;
  const fullJitter = retryMod.fullJitter as (o: Record<string, unknown>) => unknown;
  const timeout = timeoutMod.timeout as Factory;
  const bulkhead = concurrency?.bulkhead as Factory | undefined;
  const ratioBudget = retryMod.ratioBudget as (o: Record<string, unknown>) => unknown;
  const tokenBudget = retryMod.tokenBudget as (o: Record<string, unknown>) => unknown;
  const r = (env: SimEnvironment, budget: boolean | (() => unknown)): Policy =>
    retry({
      maxAttempts: 4,
      backoff: fullJitter({ baseMs: 50, capMs: 1000 }),
      ...(budget === true ? {} : { budget: budget === false ? false : budget() }),
      clock: env.clock,
      random: env.random,
    });
  const withTimeout = (env: SimEnvironment, policy: Policy): Policy => pipeline(policy, timeout({ timeoutMs: 1000, clock: env.clock }));
  const out: PolicyEntry[] = [
    { id: 'retry-nobudget', label: 'retry(4, jitter, no budget) → timeout 1 s', build: (env) => withTimeout(env, r(env, false)) },
    { id: 'retry', label: 'retry(4, jitter, token budget) → timeout 1 s', build: (env) => withTimeout(env, r(env, true)) },
    // Published retry budgets, built from sluice's own: a 10 % ratio (Google SRE book, ch. 22 "Addressing Cascading
    // Failures"), Finagle's RetryBudget defaults (20 % + 10/s over 10 s, twitter/finagle RetryBudget.scala) and a token
    // bucket of 0.1 per success (M. Brooker, "Fixing retries with token buckets and circuit breakers", 2022).
    {
      id: 'retry-ratio10',
      label: 'retry(4, jitter, 10 % ratio budget) → timeout 1 s',
      build: (env) => withTimeout(env, r(env, () => ratioBudget({ ratio: 0.1, minPerSecond: 0 }))),
    },
    {
      id: 'retry-finagle',
      label: 'retry(4, jitter, Finagle budget 20 % + 10/s) → timeout 1 s',
      build: (env) => withTimeout(env, r(env, () => ratioBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }))),
    },
    {
      id: 'retry-brooker',
      label: 'retry(4, jitter, token bucket 0.1/success, capacity 10) → timeout 1 s',
      build: (env) =>
        withTimeout(env, r(env, () => tokenBudget({ capacity: 10, retryCost: 1, timeoutCost: 1, successRefund: 0.1, refundRetryCost: false }))),
    },
  ];
  const adaptiveLimiter = concurrency?.adaptiveLimiter as Factory | undefined;
  if (adaptiveLimiter !== undefined) {
    // T7: a retry budget in front of the adaptive limiter; the limiter measures each attempt (it sits inside the retry).
    out.push({
      id: 'retry+adaptive-sluice',
      label: 'retry(4, jitter, token budget) → adaptive: sluice → timeout 1 s',
      build: (env) => pipeline(r(env, true), adaptiveLimiter({ clock: env.clock, random: env.random }), timeout({ timeoutMs: 1000, clock: env.clock })),
    });
  }
  if (bulkhead !== undefined) {
    out.push({
      id: 'retry+static-40',
      label: 'retry(4, jitter, token budget) → bulkhead L=40 → timeout 1 s',
      featured: true,
      build: (env) => pipeline(r(env, true), bulkhead({ limit: 40, maxQueue: 0, clock: env.clock }), timeout({ timeoutMs: 1000, clock: env.clock })),
    });
  }
  return out;
}

/**
 * The adaptive throttle (Google SRE book client-side throttling) as S10 compares it: the book's K = 2 and K = 1.1 over
 * a 120 s window with no cap, sluice's defaults (K = 2, 10 s, at most 0.9), and sluice's defaults behind the
 * default breaker (the pairing the docs recommend for a dependency that may go hard down). [] when missing.
 */
export async function throttlePolicies(): Promise<PolicyEntry[]> {
  const breaker = await optional('../../src/breaker/index.ts');
  const adaptiveThrottle = breaker?.adaptiveThrottle as Factory | undefined;
  if (adaptiveThrottle === undefined) return [];
  const circuitBreaker = breaker!.circuitBreaker as Factory;
  const { pipeline } = await import('../../src/core/index.js');
  const book = { windowMs: 120_000, buckets: 120, maxRejectionProbability: 1 };
  return [
    { id: 'throttle-sre-k2', label: 'adaptive throttle: SRE book K = 2, 120 s window', build: ({ clock, random }) => adaptiveThrottle({ ...book, k: 2, clock, random }) },
    { id: 'throttle-sre-k1.1', label: 'adaptive throttle: K = 1.1, 120 s window', build: ({ clock, random }) => adaptiveThrottle({ ...book, k: 1.1, clock, random }) },
    { id: 'throttle', label: 'adaptive throttle: sluice defaults (K = 2, 10 s, ≤ 0.9)', build: ({ clock, random }) => adaptiveThrottle({ clock, random }) },
    {
      // The breaker outside: while it is open the throttle sees no calls and forgets the outage, so nothing holds the
      // dependency back once it has healed (the other way round, the throttle's own refusals would keep it refusing).
      id: 'breaker+throttle',
      label: 'circuit breaker (defaults) → adaptive throttle (defaults)',
      build: ({ clock, random }) => pipeline(circuitBreaker({ clock, random }), adaptiveThrottle({ clock, random })),
    },
  ];
}

/** What an instrumented breaker saw in one simulation (times on the simulation clock, ms). */
export interface BreakerLog {
  /** When the breaker opened (each opening). */
  opens: number[];
  /** When it closed. */
  closes: number[];
  /** Calls it let through (their start time) and whether they ran as half-open probes. */
  calls: { at: number; probe: boolean }[];
}

/** A breaker configuration compared in S10. */
export interface BreakerConfig {
  id: string;
  label: string;
  /** Extra `circuitBreaker` options (clock and random are added). */
  options: () => Record<string, unknown>;
}

/**
 * The named breaker configurations compared in S10, built with sluice's `circuitBreaker` options and strategies:
 * sluice's defaults; Resilience4j's defaults (count window 100, 50 %, minimum 100 calls, open 60 s, 10 half-open
 * calls, no half-open wait limit); failsafe-go's defaults (opens after 1 failure, closes after 1 success, delay
 * 1 min). Returns [] when the breaker family is missing.
 */
export async function breakerConfigs(): Promise<BreakerConfig[]> {
  const breaker = await optional('../../src/breaker/index.ts');
  if (breaker === undefined) return [];
  const countWindow = breaker.countWindow as (o: Record<string, unknown>) => unknown;
  const consecutiveFailures = breaker.consecutiveFailures as (o: Record<string, unknown>) => unknown;
  const fixedOpen = (ms: number): Record<string, unknown> => ({ openMs: ms, maxOpenMs: ms, openBackoffFactor: 1, openJitter: 0 });
  return [
    { id: 'sluice', label: 'sluice defaults (count 100, 50 %, min 20; open 0.5 → 1 → 1.5 s; half-open: 5 in flight, judged at 50 % over 20, 3 failures while dead reopen)', options: () => ({}) },
    {
      id: 'r4j',
      label: 'Resilience4j defaults (count 100, 50 %, min 100; open 60 s; 10 half-open calls)',
      // R4J judges its 10 permitted half-open calls by the failure-rate threshold: sluice's halfOpenWindow rule, with
      // the dead-dependency shortcut off (a value above the window's reopen count acts as that count).
      options: () => ({
        strategy: countWindow({ size: 100, minimumCalls: 100, failureRateThreshold: 0.5 }),
        ...fixedOpen(60_000),
        halfOpenProbes: 10,
        halfOpenWindow: 10,
        halfOpenDeadFailures: 10,
        halfOpenMaxWaitMs: Infinity,
      }),
    },
    {
      id: 'failsafe-go',
      label: 'failsafe-go defaults (1 failure opens; delay 60 s; 1 success closes)',
      options: () => ({ strategy: consecutiveFailures({ threshold: 1 }), ...fixedOpen(60_000), halfOpenProbes: 1, halfOpenWindow: 1, halfOpenMaxWaitMs: Infinity }),
    },
  ];
}

/**
 * A breaker of the given configuration (optionally followed by a bulkhead L=40) that logs its openings, closings
 * and the calls it let through. `log()` returns the log of the latest simulation built.
 */
export async function instrumentedBreaker(config: BreakerConfig, withBulkhead: boolean): Promise<{ entry: PolicyEntry; log: () => BreakerLog }> {
  const breaker = (await optional('../../src/breaker/index.ts'))!;
  const concurrency = await optional('../../src/concurrency/index.ts');
  const { pipeline } = await import('../../src/core/index.js');
  const circuitBreaker = breaker.circuitBreaker as (o: Record<string, unknown>) => Policy & {
    events: { on(event: string, fn: (e: { at: number; durationMs: number }) => void): void };
  };
  const bulkhead = concurrency?.bulkhead as Factory | undefined;
  let current: BreakerLog = { opens: [], closes: [], calls: [] };
  const entry: PolicyEntry = {
    id: `breaker-${config.id}${withBulkhead ? '+static-40' : ''}`,
    label: `breaker: ${config.label}${withBulkhead && bulkhead !== undefined ? ' → bulkhead L=40' : ''}`,
    build: ({ clock, random }) => {
      const log: BreakerLog = { opens: [], closes: [], calls: [] };
      current = log;
      const b = circuitBreaker({ ...config.options(), clock, random });
      // Half-open intervals [from, to): a call that started inside one ran as a probe.
      const halfOpen: [number, number][] = [];
      const endHalfOpen = (at: number): void => {
        const last = halfOpen[halfOpen.length - 1];
        if (last !== undefined && last[1] === Infinity) last[1] = at;
      };
      b.events.on('open', (e) => {
        endHalfOpen(e.at);
        log.opens.push(e.at);
      });
      b.events.on('halfOpen', (e) => void halfOpen.push([e.at, Infinity]));
      b.events.on('close', (e) => {
        endHalfOpen(e.at);
        log.closes.push(e.at);
      });
      // Outcome events carry the call's duration, so its start is now − duration (listeners are attached before
      // the first call, so it is never NaN).
      const call = (e: { durationMs: number }): void => {
        const at = clock.now() - e.durationMs;
        let probe = false;
        for (let k = halfOpen.length - 1; k >= 0 && !probe; k--) probe = at >= halfOpen[k]![0] && at < halfOpen[k]![1];
        log.calls.push({ at, probe });
      };
      b.events.on('success', call);
      b.events.on('failure', call);
      return withBulkhead && bulkhead !== undefined ? pipeline(b, bulkhead({ limit: 40, maxQueue: 0, clock })) : b;
    },
  };
  return { entry, log: () => current };
}

/**
 * The 3-layer nested-retry stacks of S5 (3 retries at each layer): three retry policies, one per layer, around a
 * 1 s per-attempt timeout. `sluice` uses each layer's defaults but `maxAttempts: 4` (full jitter 100 ms..10 s, a
 * token budget of its own, `nested: 'single-attempt'`); `naive` retries at once, without budget, and multiplies
 * (`nested: 'multiply'`), like a hand-written loop at every layer.
 */
export async function nestedRetryPipelines(): Promise<PolicyEntry[]> {
  const retryMod = await optional('../../src/retry/index.ts');
  const timeoutMod = await optional('../../src/timeout/index.ts');
  if (retryMod === undefined || timeoutMod === undefined) return [];
  const { pipeline } = await import('../../src/core/index.js');
  const retry = retryMod.retry as Factory;
  const constantBackoff = retryMod.constantBackoff as (o: Record<string, unknown>) => unknown;
  const timeout = timeoutMod.timeout as Factory;
  const layers = (env: SimEnvironment, options: () => Record<string, unknown>): Policy =>
    pipeline(
      ...[1, 2, 3].map((k) => retry({ name: `layer${k}`, maxAttempts: 4, ...options(), clock: env.clock, random: env.random })),
      timeout({ timeoutMs: 1000, clock: env.clock }),
    );
  return [
    { id: 'nested-sluice', label: '3 layers × retry(4) with per-layer defaults → timeout 1 s', build: (env) => layers(env, () => ({})) },
    {
      id: 'nested-naive',
      label: '3 layers × naive loop (4 attempts, no backoff, no budget, multiply) → timeout 1 s',
      build: (env) => layers(env, () => ({ backoff: constantBackoff({ delayMs: 0 }), budget: false, nested: 'multiply' })),
    },
  ];
}

/** A bulkhead with a queue, for the queue-aware scenarios (S7–S9): `options` are `bulkhead` options other than `clock`. */
export function queued(id: string, label: string, options: Omit<BulkheadOptions, 'clock'>): PolicyEntry {
  return { id, label, build: ({ clock }) => bulkhead({ ...options, clock }) };
}

/** Priority inversions of one simulation (see {@link countInversions}). */
export interface InversionLog {
  /** Calls that ended without starting (refused, shed, or given up) while a call of lower priority was waiting. */
  refusedOverLower: number;
  /** Calls that started while a call of higher priority was waiting. */
  startedOverHigher: number;
}

/**
 * Wraps a policy to count priority inversions. A call *waits* from the moment it enters `execute` until its
 * protected function starts or its promise settles, whichever comes first. An inversion is a call that ends without
 * starting while a call of strictly lower priority waits, or a call that starts while a call of strictly higher
 * priority waits. `log()` returns the counts of the latest simulation built.
 */
export function countInversions(entry: PolicyEntry): PolicyEntry & { log: () => InversionLog } {
  let current: InversionLog = { refusedOverLower: 0, startedOverHigher: 0 };
  const build: PolicyEntry['build'] = (env) => {
    const inner = entry.build(env);
    const log: InversionLog = { refusedOverLower: 0, startedOverHigher: 0 };
    current = log;
    // Waiting calls per priority; there are few priorities, so a scan is cheap.
    const waiting = new Map<number, number>();
    const any = (test: (q: number) => boolean): boolean => {
      for (const [q, n] of waiting) if (n > 0 && test(q)) return true;
      return false;
    };
    return wrapPolicy(env, inner, 'inversions', <T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> => {
      const p = typeof options?.priority === 'number' ? options.priority : 0;
      waiting.set(p, (waiting.get(p) ?? 0) + 1);
      let waits = true;
      const leave = (): void => {
        waits = false;
        waiting.set(p, waiting.get(p)! - 1);
      };
      const promise = runThrough(inner, (ctx) => {
        if (waits) {
          leave();
          if (any((q) => q > p)) log.startedOverHigher++;
        }
        return fn(ctx);
      }, options);
      const settle = (): void => {
        if (!waits) return;
        leave();
        if (any((q) => q < p)) log.refusedOverLower++;
      };
      promise.then(settle, settle);
      return promise;
    });
  };
  return { ...entry, build, log: () => current };
}
