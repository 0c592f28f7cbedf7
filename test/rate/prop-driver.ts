/**
 * Drives a rate limiter with a random arrival schedule on a ManualClock, for the fast-check properties of both
 * buckets: each call arrives at its time, uses tryAcquire, acquire or execute, may carry a timeout, may be aborted
 * later, and the limiter may be disposed midway. Records every outcome so the properties can check bounds, order and
 * accounting after everything settles.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { isRejectedError, type RejectionCode } from '../../src/core/errors.js';
import type { Limiter } from '../../src/core/policy.js';
import type { QueueingStats } from '../../src/core/limiter-base.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

/** Seed and run count for fast-check: printed, overridable with FC_SEED / FC_RUNS. */
export function fcParams(file: string, numRuns: number): { seed: number; numRuns: number } {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  const runs = Number(process.env.FC_RUNS ?? numRuns);
  console.log(`${file}: fast-check seed ${seed} (reproduce with FC_SEED=${seed}), ${runs} runs`);
  return { seed, numRuns: runs };
}

export type CallKind = 'try' | 'acquire' | 'execute';

export interface Arrival {
  /** Ms since the previous arrival. */
  gapMs: number;
  kind: CallKind;
  cost: number;
  /** Abort the call's signal this long after it arrived (acquire/execute only). */
  abortAfterMs: number | undefined;
  timeoutMs: number | undefined;
}

export interface Scenario {
  arrivals: Arrival[];
  /** Dispose the limiter at this time (ms from the start), or never. */
  disposeAtMs: number | undefined;
}

export const arrivalArb: fc.Arbitrary<Arrival> = fc.record({
  gapMs: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 400 }), weight: 3 },
    { arbitrary: fc.double({ min: 0, max: 100, noNaN: true }), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 4000 }), weight: 1 },
  ),
  kind: fc.constantFrom<CallKind>('try', 'acquire', 'execute'),
  cost: fc.oneof(
    { arbitrary: fc.constant(1), weight: 3 },
    { arbitrary: fc.double({ min: 0.05, max: 2, noNaN: true }), weight: 3 },
    { arbitrary: fc.double({ min: 0.05, max: 8, noNaN: true }), weight: 1 },
  ),
  abortAfterMs: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: 2000 }), weight: 1 }),
  timeoutMs: fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 3000 }), weight: 1 }),
});

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  arrivals: fc.array(arrivalArb, { minLength: 1, maxLength: 40, size: 'medium' }),
  disposeAtMs: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 20_000 }), weight: 1 }),
});

export const maxQueueArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 2 },
  { arbitrary: fc.constant(Infinity), weight: 2 },
);
export const maxWaitMsArb = fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 3000 }));

export interface CallRecord {
  index: number;
  kind: CallKind;
  cost: number;
  arrivedAt: number;
  arrived: boolean;
  deadline: number | undefined;
  /** The abort reason, when the call's signal was aborted. */
  abortReason: Error | undefined;
  outcome: 'admitted' | 'refused' | 'aborted' | 'invalid' | undefined;
  code: RejectionCode | undefined;
  admittedAt: number | undefined;
  /** How many times an outcome was recorded: must end at exactly 1. */
  settlements: number;
  unexpected: unknown;
}

export interface Run {
  calls: CallRecord[];
  /** Admitted calls, in the order they were admitted. */
  admissions: CallRecord[];
  /** Most timers armed at once, sampled after every event. */
  maxTimers: number;
  disposed: boolean;
}

export type DrivenLimiter = Limiter & { stats(): QueueingStats };

type Event = { at: number; act: () => void };

/**
 * Called after every event once promise reactions have run, with the calls still waiting (in arrival order, which is
 * queue order): the place to check the limiter's queue and its one timer against what the waiters need.
 */
export type Probe = (waiting: CallRecord[]) => void;

/** Something else to do at a time (ms from the start), e.g. reconfigure the limiter. */
export interface ExtraEvent {
  atMs: number;
  act: () => void;
}

/** Plays `scenario` (and `extra` events) against `limiter` and waits until every call has settled. */
export async function drive(limiter: DrivenLimiter, clock: ManualClock, scenario: Scenario, probe?: Probe, extra: ExtraEvent[] = []): Promise<Run> {
  const run: Run = { calls: [], admissions: [], maxTimers: 0, disposed: false };
  const settle = (c: CallRecord, outcome: NonNullable<CallRecord['outcome']>, code?: RejectionCode): void => {
    c.settlements++;
    c.outcome = outcome;
    c.code = code;
    if (outcome === 'admitted') {
      c.admittedAt = clock.now();
      run.admissions.push(c);
    }
  };
  const fail = (c: CallRecord, e: unknown): void => {
    if (c.abortReason !== undefined && e === c.abortReason) settle(c, 'aborted');
    else if (isRejectedError(e)) settle(c, 'refused', e.code);
    else if (e instanceof RangeError) settle(c, 'invalid');
    else {
      c.settlements++;
      c.unexpected = e;
    }
  };

  const events: Event[] = [];
  const controllers: AbortController[] = [];
  let t = clock.now();
  scenario.arrivals.forEach((a, index) => {
    t += a.gapMs;
    const arriveAt = t;
    const ac = a.abortAfterMs !== undefined && a.kind !== 'try' ? new AbortController() : undefined;
    const c: CallRecord = {
      index,
      kind: a.kind,
      cost: a.cost,
      arrivedAt: arriveAt,
      arrived: false,
      deadline: undefined,
      abortReason: undefined,
      outcome: undefined,
      code: undefined,
      admittedAt: undefined,
      settlements: 0,
      unexpected: undefined,
    };
    run.calls.push(c);
    events.push({
      at: arriveAt,
      act: () => {
        c.arrivedAt = clock.now();
        c.arrived = true;
        c.deadline = a.timeoutMs === undefined ? undefined : c.arrivedAt + a.timeoutMs;
        const options = { cost: a.cost, timeoutMs: a.timeoutMs, signal: ac?.signal };
        if (a.kind === 'try') {
          try {
            const r = limiter.tryAcquire(options);
            if (r.ok) settle(c, 'admitted');
            else settle(c, 'refused', r.reason);
          } catch (e) {
            fail(c, e);
          }
        } else if (a.kind === 'acquire') {
          limiter.acquire(options).then(
            () => settle(c, 'admitted'),
            (e: unknown) => fail(c, e),
          );
        } else {
          limiter
            .execute(() => settle(c, 'admitted'), options)
            .catch((e: unknown) => fail(c, e));
        }
      },
    });
    if (ac !== undefined) {
      controllers.push(ac);
      events.push({
        at: arriveAt + a.abortAfterMs!,
        act: () => {
          c.abortReason = new Error(`abort #${index}`);
          ac.abort(c.abortReason);
        },
      });
    }
  });
  if (scenario.disposeAtMs !== undefined) {
    events.push({
      at: clock.now() + scenario.disposeAtMs,
      act: () => {
        run.disposed = true;
        limiter.dispose();
      },
    });
  }
  const start = clock.now();
  for (const x of extra) events.push({ at: start + x.atMs, act: x.act });
  // Stable: at equal times, arrivals (pushed first, in order) come before aborts, then dispose, then extra events.
  events.sort((x, y) => x.at - y.at);
  for (const e of events) {
    await clock.advanceTo(e.at);
    e.act();
    await flushMicrotasks();
    run.maxTimers = Math.max(run.maxTimers, clock.pendingTimers());
    const waiting = run.calls.filter((c) => c.arrived && c.settlements === 0);
    expect(limiter.stats().queued).toBe(waiting.length);
    if (waiting.length === 0) expect(clock.pendingTimers()).toBe(0);
    else probe?.(waiting);
  }
  await clock.runAll();
  return run;
}

/** The checks both buckets share: settlement, accounting, FIFO order, wait bounds, timers. */
export function checkCommon(run: Run, limiter: DrivenLimiter, clock: ManualClock, maxWaitMs: number, maxCost: number): void {
  for (const c of run.calls) {
    expect(c.unexpected).toBeUndefined();
    expect(c.settlements, `call #${c.index} settled once`).toBe(1);
    if (c.outcome === 'invalid') expect(c.cost).toBeGreaterThan(maxCost);
    if (c.outcome === 'aborted') expect(c.abortReason).toBeDefined();
  }
  const count = (o: CallRecord['outcome']) => run.calls.filter((c) => c.outcome === o).length;
  const s = limiter.stats();
  expect(s.admitted).toBe(count('admitted'));
  expect(s.rejected).toBe(count('refused'));
  expect(s.aborted).toBe(count('aborted'));
  expect(Object.values(s.rejectedBy).reduce((a, b) => a + b, 0)).toBe(s.rejected);
  for (const [code, n] of Object.entries(s.rejectedBy)) {
    expect(n, code).toBe(run.calls.filter((c) => c.code === code).length);
  }
  expect(s.queued).toBe(0);
  expect(run.maxTimers).toBeLessThanOrEqual(1);
  expect(clock.pendingTimers()).toBe(0);
  // FIFO: nobody is admitted ahead of an earlier arrival that was still waiting, so admissions follow arrival order:
  // in time, and within each kind in the order observed. (Across kinds at one instant the observed order may differ:
  // an execute's task starts at its grant, an acquire's permit is seen a promise reaction later.)
  const byArrival = [...run.admissions].sort((a, b) => a.index - b.index);
  for (let i = 1; i < byArrival.length; i++) expect(byArrival[i]!.admittedAt!).toBeGreaterThanOrEqual(byArrival[i - 1]!.admittedAt!);
  for (const kind of ['try', 'acquire', 'execute']) {
    const order = run.admissions.filter((c) => c.kind === kind).map((c) => c.index);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  }
  for (const c of run.admissions) {
    // A timer fires at a double: allow a few float steps of the clock (~2e-4 ms each at a Date.now-like origin).
    expect(c.admittedAt! - c.arrivedAt).toBeLessThanOrEqual(maxWaitMs + 1e-6 + 4 * Math.abs(c.arrivedAt) * Number.EPSILON);
    if (c.deadline !== undefined) expect(c.admittedAt!).toBeLessThan(c.deadline);
  }
}

/**
 * Admitted cost in every window [t_i, t_j] spanned by two admission times is at most `limit(t_j - t_i)`.
 * Admissions are in time order, so checking every pair covers every window that matters.
 */
/** Sum of the costs of `calls`. */
export const totalCost = (calls: CallRecord[]): number => calls.reduce((a, c) => a + c.cost, 0);

export function checkWindows(run: Run, limit: (windowMs: number) => number): void {
  const a = run.admissions;
  for (let i = 0; i < a.length; i++) {
    if (i > 0 && a[i - 1]!.admittedAt === a[i]!.admittedAt) continue; // start each window at the first call of its instant
    let sum = 0;
    for (let j = i; j < a.length; j++) {
      sum += a[j]!.cost;
      const w = a[j]!.admittedAt! - a[i]!.admittedAt!;
      if (sum > limit(w) + 1e-6) {
        throw new Error(`window [${a[i]!.admittedAt}, ${a[j]!.admittedAt}] admitted ${sum} > ${limit(w)}`);
      }
    }
  }
}

/**
 * Checks that a refused `tryAcquire` of `cost` is admitted exactly `retryAfterMs` later and not 1 ms earlier, when
 * nothing else takes capacity meanwhile. Uses absolute clock targets so that no extra float rounding creeps in.
 */
export async function checkRetryAfterExact(limiter: Limiter, clock: ManualClock, cost: number): Promise<void> {
  let guard = 0;
  while (limiter.tryAcquire({ cost }).ok) if (++guard > 10_000) throw new Error('bucket never ran dry');
  const t0 = clock.now();
  const r = limiter.tryAcquire({ cost });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe('RATE_LIMITED');
  expect(r.retryAfterMs).toBeGreaterThan(0);
  if (r.retryAfterMs > 1) {
    await clock.advanceTo(t0 + r.retryAfterMs - 1);
    expect(limiter.tryAcquire({ cost }).ok).toBe(false);
  }
  await clock.advanceTo(t0 + r.retryAfterMs);
  expect(limiter.tryAcquire({ cost }).ok).toBe(true);
}

/** Times (ms from the start) at which to reconfigure, with a value in [0, 1) to pick the new settings from. */
export const reconfigureArb = fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 15_000 }), pick: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) }), {
  minLength: 1,
  maxLength: 4,
});

/** Clock origins: zero, arbitrary, and Date.now-like (where one float time step is ~2e-4 ms). */
export const originArb = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double({ min: 1.6e12, max: 1.8e12, noNaN: true }));

/** Prefix of tryAcquire calls that puts the bucket into an arbitrary state. */
export const prefixArb = fc.array(fc.record({ gapMs: fc.double({ min: 0, max: 800, noNaN: true }), costFrac: fc.double({ min: 0.01, max: 1, noNaN: true }) }), { maxLength: 12 });

export async function playPrefix(limiter: Limiter, clock: ManualClock, prefix: { gapMs: number; costFrac: number }[], maxCost: number): Promise<void> {
  for (const p of prefix) {
    await clock.advance(p.gapMs);
    limiter.tryAcquire({ cost: p.costFrac * maxCost });
  }
}

/** Log-uniform doubles in [min, max] (both > 0), with the ends themselves weighted in. */
export function logUniform(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
    { arbitrary: fc.double({ min: Math.log10(min), max: Math.log10(max), noNaN: true }).map((e) => Math.min(max, Math.max(min, 10 ** e))), weight: 4 },
  );
}

/** Clock origins up to ±1e13 ms (where one float time step is ~2e-3 ms), Date.now-like ones and zero. */
export const wideOriginArb = fc.oneof(
  fc.constant(0),
  fc.constant(1e13),
  fc.double({ min: 1.6e12, max: 1.8e12, noNaN: true }),
  logUniform(1, 1e13),
  fc.double({ min: -1e13, max: 1e13, noNaN: true }),
);

/** A ManualClock that remembers every delay a timer was armed with (a zero delay would be a spin in virtual time). */
export class SpyClock extends ManualClock {
  readonly delays: number[] = [];
  override setTimeout(callback: () => void, delayMs: number): unknown {
    this.delays.push(delayMs);
    return super.setTimeout(callback, delayMs);
  }
}

/**
 * Repeated `tryAcquire({ cost })` at one instant; returns the cost admitted. Stops at the first refusal, which must
 * carry a finite retryAfterMs > 0.
 */
export function burstAtOneInstant(limiter: Limiter, cost: number, guard = 100_000): number {
  let admitted = 0;
  for (let i = 0; i < guard; i++) {
    const r = limiter.tryAcquire({ cost });
    if (!r.ok) {
      expect(r.reason).toBe('RATE_LIMITED');
      expect(Number.isFinite(r.retryAfterMs) && r.retryAfterMs > 0, `retryAfterMs ${r.retryAfterMs}`).toBe(true);
      return admitted;
    }
    admitted += cost;
  }
  throw new Error(`admitted ${admitted} at one instant and still admitting`);
}

/** Costs (fractions of the largest admissible cost) for {@link checkBehaves}. */
export const behaveArb = fc.record({
  burstFrac: fc.double({ min: 0.01, max: 1, noNaN: true }),
  queued: fc.array(fc.oneof(fc.constant(1), fc.double({ min: 1e-6, max: 1, noNaN: true })), { minLength: 1, maxLength: 8 }),
  gapMs: fc.oneof(fc.constant(0), logUniform(1e-6, 1e9)),
});

/**
 * Every accepted option value must behave: a burst at one instant, then waiters of random costs. Every refusal
 * carries a finite retryAfterMs, no stat is NaN, every timer is armed with a finite delay > 0 (a zero delay on a
 * virtual clock is a spin), every waiter settles within a bounded number of timers, and nothing is left armed.
 */
export async function checkBehaves(limiter: DrivenLimiter, clock: SpyClock, plan: { burstFrac: number; queued: number[]; gapMs: number }, maxCost: number): Promise<void> {
  const noNaN = (): void => {
    for (const [k, x] of Object.entries(limiter.stats())) if (typeof x === 'number') expect(Number.isNaN(x), `stats().${k}`).toBe(false);
  };
  burstAtOneInstant(limiter, plan.burstFrac * maxCost);
  noNaN();
  await clock.advance(plan.gapMs);
  const settled: unknown[] = [];
  for (const frac of plan.queued) {
    limiter.acquire({ cost: frac * maxCost }).then(
      (p) => {
        p.release();
        settled.push('ok');
      },
      (e: unknown) => settled.push(e),
    );
  }
  await flushMicrotasks();
  noNaN();
  await clock.runAll(3 * plan.queued.length + 5);
  expect(settled).toHaveLength(plan.queued.length);
  for (const e of settled) {
    if (e === 'ok') continue;
    expect(isRejectedError(e), String(e)).toBe(true);
    if (isRejectedError(e)) expect(Number.isFinite(e.retryAfterMs) && e.retryAfterMs >= 0, `${e.code} retryAfterMs ${e.retryAfterMs}`).toBe(true);
  }
  for (const d of clock.delays) expect(Number.isFinite(d) && d > 0, `timer delay ${d}`).toBe(true);
  noNaN();
  expect(limiter.stats().queued).toBe(0);
  expect(clock.pendingTimers()).toBe(0);
}
