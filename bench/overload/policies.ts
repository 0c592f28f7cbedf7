/**
 * The policies the overload suite compares. Adding one is one entry in `candidates`. Families that have not landed
 * yet are loaded optionally, so the suite runs with whatever sluice has at the time.
 */
import type { Policy } from '../../src/core/index.js';
import { leakyBucket, tokenBucket } from '../../src/rate/index.js';
import type { SimEnvironment } from '../../src/sim/index.js';

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
  missing.push('adaptive limiters (not built yet)');
  return { policies, missing };
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
  const r = (env: SimEnvironment, budget: boolean): Policy =>
    retry({ maxAttempts: 4, backoff: fullJitter({ baseMs: 50, capMs: 1000 }), ...(budget ? {} : { budget: false }), clock: env.clock, random: env.random });
  const out: PolicyEntry[] = [
    { id: 'retry-nobudget', label: 'retry(4, jitter, no budget) → timeout 1 s', build: (env) => pipeline(r(env, false), timeout({ timeoutMs: 1000, clock: env.clock })) },
    { id: 'retry', label: 'retry(4, jitter, token budget) → timeout 1 s', build: (env) => pipeline(r(env, true), timeout({ timeoutMs: 1000, clock: env.clock })) },
  ];
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
