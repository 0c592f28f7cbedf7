/**
 * Model-based test: over random sequences of calls, outcomes, durations, clock advances and manual commands, the
 * breaker agrees with a naive reference model (plain arrays, recomputed windows, eager transitions) for every
 * strategy, in enforcing and dry-run mode. Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circuitBreaker, type CircuitBreaker } from '../../src/breaker/circuit-breaker.js';
import type { CircuitState } from '../../src/breaker/state.js';
import { consecutiveFailures } from '../../src/breaker/strategies/consecutive-failures.js';
import { countWindow } from '../../src/breaker/strategies/count-window.js';
import { slowCallRate } from '../../src/breaker/strategies/slow-call-rate.js';
import type { BreakerStrategy } from '../../src/breaker/strategies/strategy.js';
import { timeWindow } from '../../src/breaker/strategies/time-window.js';
import { RateLimitedError, TimeoutError } from '../../src/core/errors.js';
import { ManualClock, flushMicrotasks, seededRandom } from '../../src/testing/index.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 150);
console.log(`circuit-breaker.prop: FC_SEED=${seed} (runs per strategy: ${numRuns})`);

// ---- configuration ------------------------------------------------------------------------------------------------

type StrategySpec =
  | { kind: 'consecutiveFailures'; threshold: number }
  | { kind: 'countWindow'; size: number; minimumCalls: number; failureRateThreshold: number; slowCallDurationMs?: number; slowCallRateThreshold?: number }
  | { kind: 'timeWindow'; windowMs: number; buckets: number; minimumCalls: number; failureRateThreshold: number; slowCallDurationMs?: number; slowCallRateThreshold?: number }
  | { kind: 'slowCallRate'; slowCallDurationMs: number; slowCallRateThreshold: number; minimumCalls: number; size?: number; windowMs?: number; buckets?: number };

interface Config {
  strategy: StrategySpec;
  openMs: number;
  openBackoffFactor: number;
  maxOpenMs: number;
  openJitter: number;
  halfOpenProbes: number;
  halfOpenWindow: number;
  /** undefined: the strategy's own rate threshold (0.5 for consecutiveFailures). */
  halfOpenFailureRateThreshold: number | undefined;
  halfOpenDeadFailures: number;
  halfOpenMaxWaitMs: number;
  dryRun: boolean;
  randomSeed: number;
}

const rate = fc.constantFrom(0.2, 0.5, 2 / 3, 1);
const slowRule = fc.option(fc.record({ slowCallDurationMs: fc.integer({ min: 1, max: 300 }), slowCallRateThreshold: rate }), { nil: undefined });

const strategyArbs: Record<StrategySpec['kind'], fc.Arbitrary<StrategySpec>> = {
  consecutiveFailures: fc.record({ kind: fc.constant('consecutiveFailures' as const), threshold: fc.integer({ min: 1, max: 4 }) }),
  countWindow: fc
    .record({ size: fc.integer({ min: 1, max: 8 }), minimumCalls: fc.integer({ min: 1, max: 8 }), failureRateThreshold: rate, slow: slowRule })
    .map(({ size, minimumCalls, failureRateThreshold, slow }) => ({ kind: 'countWindow' as const, size, minimumCalls: Math.min(size, minimumCalls), failureRateThreshold, ...slow })),
  timeWindow: fc
    .record({ windowMs: fc.integer({ min: 10, max: 2000 }), buckets: fc.integer({ min: 1, max: 5 }), minimumCalls: fc.integer({ min: 1, max: 5 }), failureRateThreshold: rate, slow: slowRule })
    .map(({ slow, ...rest }) => ({ kind: 'timeWindow' as const, ...rest, ...slow })),
  slowCallRate: fc
    .record({
      slowCallDurationMs: fc.integer({ min: 1, max: 300 }),
      slowCallRateThreshold: rate,
      minimumCalls: fc.integer({ min: 1, max: 4 }),
      window: fc.oneof(fc.record({ size: fc.integer({ min: 4, max: 8 }) }), fc.record({ windowMs: fc.integer({ min: 10, max: 2000 }), buckets: fc.integer({ min: 1, max: 5 }) })),
    })
    .map(({ window, ...rest }) => ({ kind: 'slowCallRate' as const, ...rest, ...window })),
};

function configArb(strategy: fc.Arbitrary<StrategySpec>): fc.Arbitrary<Config> {
  return fc
    .record({
      strategy,
      openMs: fc.integer({ min: 1, max: 1000 }),
      openBackoffFactor: fc.constantFrom(1, 1.5, 2),
      capFactor: fc.integer({ min: 1, max: 8 }),
      openJitter: fc.constantFrom(0, 0.2, 1),
      halfOpenProbes: fc.integer({ min: 1, max: 3 }),
      halfOpenWindow: fc.integer({ min: 1, max: 5 }),
      halfOpenFailureRateThreshold: fc.option(rate, { nil: undefined }),
      halfOpenDeadFailures: fc.integer({ min: 1, max: 4 }),
      halfOpenMaxWaitMs: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 2000 })),
      dryRun: fc.boolean(),
      randomSeed: fc.integer(),
    })
    .map(({ capFactor, ...c }) => ({ ...c, maxOpenMs: c.openMs * capFactor }));
}

function buildStrategy(s: StrategySpec): BreakerStrategy {
  switch (s.kind) {
    case 'consecutiveFailures':
      return consecutiveFailures({ threshold: s.threshold });
    case 'countWindow': {
      const { kind: _, ...o } = s;
      return countWindow(o);
    }
    case 'timeWindow': {
      const { kind: _, ...o } = s;
      return timeWindow(o);
    }
    case 'slowCallRate': {
      const { kind: _, ...o } = s;
      return slowCallRate(o);
    }
  }
}

// ---- the reference model ------------------------------------------------------------------------------------------

type Outcome = 'success' | 'failure' | 'resultFailure' | 'timeout' | 'localRejection';
interface Entry {
  at: number;
  failed: boolean;
  slow: boolean;
}
interface ModelCall {
  start: number;
  /** Generation it was admitted in; -1 = never counted (dry-run shadow call); -2 = not observed at all (disabled). */
  gen: number;
  probe: boolean;
}

/** The strategies, naively: every outcome since the last reset in a list, windows recomputed from scratch. */
class RefStrategy {
  entries: Entry[] = [];
  constructor(readonly s: StrategySpec) {}

  get slowMs(): number {
    return this.s.kind === 'consecutiveFailures' ? Infinity : (this.s.slowCallDurationMs ?? Infinity);
  }

  window(now: number): { calls: number; failures: number; slowCalls: number } {
    const s = this.s;
    let inWindow: Entry[];
    if (s.kind === 'consecutiveFailures') {
      let run = 0;
      for (let i = this.entries.length - 1; i >= 0 && this.entries[i]!.failed; i--) run++;
      return { calls: run, failures: run, slowCalls: 0 };
    }
    const shape = s as { windowMs?: number; buckets?: number; size?: number };
    if (shape.windowMs !== undefined) {
      const buckets = shape.buckets ?? 10;
      const bucketMs = shape.windowMs / buckets;
      const newest = Math.floor(now / bucketMs);
      inWindow = this.entries.filter((e) => Math.floor(e.at / bucketMs) > newest - buckets);
    } else {
      inWindow = this.entries.slice(-(shape.size ?? 100));
    }
    return { calls: inWindow.length, failures: inWindow.filter((e) => e.failed).length, slowCalls: inWindow.filter((e) => e.slow).length };
  }

  /** Records and answers "open now?". */
  record(e: Entry): boolean {
    this.entries.push(e);
    const s = this.s;
    const w = this.window(e.at);
    if (s.kind === 'consecutiveFailures') return w.failures >= s.threshold;
    if (w.calls < s.minimumCalls) return false;
    const failureRule = s.kind === 'slowCallRate' ? Infinity : s.failureRateThreshold;
    const slowRule = s.slowCallDurationMs === undefined ? Infinity : (s.slowCallRateThreshold ?? 0.5);
    return w.failures / w.calls >= failureRule || w.slowCalls / w.calls >= slowRule;
  }
}

class Model {
  now = 0;
  mode: CircuitState = 'closed';
  gen = 0;
  openUntil = 0;
  consecutiveOpens = 0;
  opens = 0;
  probes = 0;
  probeSuccesses = 0;
  probeFailures = 0;
  /** A probe succeeded since the last trip from closed. */
  alive = false;
  waitStart = 0;
  admitted = 0;
  rejected = { CIRCUIT_OPEN: 0, CIRCUIT_ISOLATED: 0 };
  wouldReject = { CIRCUIT_OPEN: 0, CIRCUIT_ISOLATED: 0 };
  succeeded = 0;
  failed = 0;
  ignored = 0;
  pending: ModelCall[] = [];
  /** Every transition as [from, to, at]. */
  log: [CircuitState, CircuitState, number][] = [];
  readonly strategy: RefStrategy;
  readonly random: () => number;

  constructor(readonly c: Config) {
    this.strategy = new RefStrategy(c.strategy);
    this.random = seededRandom(c.randomSeed);
  }

  /** The rate the half-open probes are judged against. */
  get probeThreshold(): number {
    const c = this.c;
    if (c.halfOpenFailureRateThreshold !== undefined) return c.halfOpenFailureRateThreshold;
    const s = c.strategy;
    if (s.kind === 'countWindow' || s.kind === 'timeWindow') return s.failureRateThreshold;
    if (s.kind === 'slowCallRate') return s.slowCallRateThreshold;
    return 0.5;
  }

  private to(mode: CircuitState, at: number): void {
    const from = this.mode;
    this.log.push([this.mode, mode, at]);
    this.mode = mode;
    this.gen++;
    this.probes = 0;
    this.probeSuccesses = 0;
    this.probeFailures = 0;
    if (mode === 'open' && from !== 'half-open') this.alive = false;
    if (mode === 'open') {
      this.opens++;
      this.consecutiveOpens++;
      const c = this.c;
      const nominal = Math.min(c.maxOpenMs, c.openMs * c.openBackoffFactor ** (this.consecutiveOpens - 1));
      this.openUntil = at + nominal * (1 - c.openJitter * this.random());
    } else if (mode === 'closed') {
      this.consecutiveOpens = 0;
      this.strategy.entries = [];
    }
  }

  /** Applies the transitions due by `now`, eagerly, in time order. */
  due(): void {
    for (;;) {
      if (this.mode === 'open' && this.now >= this.openUntil) this.to('half-open', this.openUntil);
      else if (this.mode === 'half-open' && this.probes > 0 && this.now >= this.waitStart + this.c.halfOpenMaxWaitMs) this.to('open', this.waitStart + this.c.halfOpenMaxWaitMs);
      else return;
    }
  }

  /** A call arrives: admitted, or refused with a code and retryAfterMs. */
  start(): { admitted: true } | { admitted: false; code: 'CIRCUIT_OPEN' | 'CIRCUIT_ISOLATED'; retryAfterMs: number } {
    this.due();
    const admit = (gen: number, probe: boolean) => {
      this.admitted++;
      this.pending.push({ start: this.now, gen, probe });
      return { admitted: true as const };
    };
    const refuse = (code: 'CIRCUIT_OPEN' | 'CIRCUIT_ISOLATED', retryAfterMs: number) => {
      if (this.c.dryRun) {
        this.wouldReject[code]++;
        return admit(-1, false);
      }
      this.rejected[code]++;
      return { admitted: false as const, code, retryAfterMs };
    };
    switch (this.mode) {
      case 'closed':
        return admit(this.gen, false);
      case 'disabled':
        return admit(-2, false);
      case 'isolated':
        return refuse('CIRCUIT_ISOLATED', Infinity);
      case 'open':
        return refuse('CIRCUIT_OPEN', this.openUntil - this.now);
      case 'half-open':
        if (this.probes < this.c.halfOpenProbes && this.probes + this.probeSuccesses + this.probeFailures < this.c.halfOpenWindow) {
          if (this.probes++ === 0) this.waitStart = this.now;
          return admit(this.gen, true);
        }
        return refuse('CIRCUIT_OPEN', 0);
    }
  }

  settle(index: number, outcome: Outcome): void {
    const call = this.pending.splice(index, 1)[0]!;
    if (call.gen === -2) return;
    const kind = outcome === 'success' ? 'success' : outcome === 'localRejection' ? 'ignored' : 'failure';
    const slow = kind !== 'ignored' && this.now - call.start > this.strategy.slowMs;
    if (kind === 'success') this.succeeded++;
    else if (kind === 'failure') this.failed++;
    else this.ignored++;
    this.due();
    if (call.gen !== this.gen || (kind === 'ignored' && !call.probe)) return;
    if (this.mode === 'closed') {
      if (this.strategy.record({ at: this.now, failed: kind === 'failure', slow })) this.to('open', this.now);
      return;
    }
    if (this.mode !== 'half-open' || !call.probe) return;
    this.probes--;
    const n = this.c.halfOpenWindow;
    const threshold = this.probeThreshold;
    if (kind === 'failure' || slow) {
      this.probeFailures++;
      // Reopen once the failures alone reach the threshold over the window, or (dead dependency) once
      // halfOpenDeadFailures failed with no success since the trip.
      if (this.probeFailures / n >= threshold || (!this.alive && this.probeFailures >= this.c.halfOpenDeadFailures)) {
        this.to('open', this.now);
        return;
      }
    } else if (kind === 'success') {
      this.alive = true;
      this.probeSuccesses++;
      // Close once the failures cannot reach the threshold even if every remaining probe of the window failed.
      if ((n - this.probeSuccesses) / n < threshold) {
        this.to('closed', this.now);
        return;
      }
    }
    this.waitStart = this.now;
  }

  command(to: 'isolated' | 'closed' | 'disabled'): void {
    this.due();
    if (this.mode !== to) this.to(to, this.now);
    else if (to === 'closed') {
      this.gen++;
      this.strategy.entries = [];
    }
  }
}

// ---- the real system and the commands -----------------------------------------------------------------------------

const FAILED_RESULT = { status: 500 };

interface RealCall {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  done: Promise<unknown>;
}
interface Real {
  clock: ManualClock;
  breaker: CircuitBreaker;
  pending: RealCall[];
  log: [CircuitState, CircuitState, number][];
}

type Cmd = fc.AsyncCommand<Model, Real>;

class StartCall implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const expected = m.start();
    let called = false;
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const work = new Promise((a, b) => {
      resolve = a;
      reject = b;
    });
    const p = r.breaker.execute(() => {
      called = true;
      return work;
    });
    const done = p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(called, 'admitted').toBe(expected.admitted);
    if (expected.admitted) {
      r.pending.push({ resolve, reject, done });
    } else {
      const e = (await done) as { code: string; retryAfterMs: number };
      expect(e.code).toBe(expected.code);
      expect(e.retryAfterMs).toBe(expected.retryAfterMs);
    }
  }
  toString(): string {
    return 'start';
  }
}

class SettleCall implements Cmd {
  constructor(
    readonly index: number,
    readonly outcome: Outcome,
  ) {}
  check(m: Model): boolean {
    return m.pending.length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const i = this.index % m.pending.length;
    m.settle(i, this.outcome);
    const call = r.pending.splice(i, 1)[0]!;
    switch (this.outcome) {
      case 'success':
        call.resolve('ok');
        break;
      case 'resultFailure':
        call.resolve(FAILED_RESULT);
        break;
      case 'failure':
        call.reject(new Error('down'));
        break;
      case 'timeout':
        call.reject(new TimeoutError('inner', 10));
        break;
      case 'localRejection':
        call.reject(new RateLimitedError('inner', 5));
        break;
    }
    await call.done;
  }
  toString(): string {
    return `settle(${this.index}, ${this.outcome})`;
  }
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    m.now += this.ms;
    await r.clock.advance(this.ms);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class Manual implements Cmd {
  constructor(readonly action: 'isolate' | 'reset' | 'disable') {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    m.command(this.action === 'isolate' ? 'isolated' : this.action === 'reset' ? 'closed' : 'disabled');
    r.breaker[this.action]();
  }
  toString(): string {
    return this.action;
  }
}

/** Compares everything observable; reading it applies lazy transitions, which must not change the outcome. */
class Check implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await flushMicrotasks();
    m.due();
    const s = r.breaker.stats();
    const w = m.strategy.window(m.now);
    expect({
      state: s.state,
      probesInFlight: s.probesInFlight,
      probeSuccesses: s.probeSuccesses,
      probeFailures: s.probeFailures,
      consecutiveOpens: s.consecutiveOpens,
      opens: s.opens,
      retryAfterMs: s.retryAfterMs,
      calls: s.calls,
      failures: s.failures,
      slowCalls: s.slowCalls,
      admitted: s.admitted,
      rejectedOpen: s.rejectedBy.CIRCUIT_OPEN,
      rejectedIsolated: s.rejectedBy.CIRCUIT_ISOLATED,
      wouldOpen: s.wouldRejectBy.CIRCUIT_OPEN,
      wouldIsolated: s.wouldRejectBy.CIRCUIT_ISOLATED,
      succeeded: s.succeeded,
      failed: s.failed,
      ignored: s.ignored,
    }).toEqual({
      state: m.mode,
      probesInFlight: m.probes,
      probeSuccesses: m.probeSuccesses,
      probeFailures: m.probeFailures,
      consecutiveOpens: m.consecutiveOpens,
      opens: m.opens,
      retryAfterMs: m.mode === 'open' ? m.openUntil - m.now : 0,
      calls: w.calls,
      failures: w.failures,
      slowCalls: w.slowCalls,
      admitted: m.admitted,
      rejectedOpen: m.rejected.CIRCUIT_OPEN,
      rejectedIsolated: m.rejected.CIRCUIT_ISOLATED,
      wouldOpen: m.wouldReject.CIRCUIT_OPEN,
      wouldIsolated: m.wouldReject.CIRCUIT_ISOLATED,
      succeeded: m.succeeded,
      failed: m.failed,
      ignored: m.ignored,
    });
    expect(r.log).toEqual(m.log);
    expect(r.clock.pendingTimers()).toBe(0);
  }
  toString(): string {
    return 'check';
  }
}

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { arbitrary: fc.constant('success' as const), weight: 5 },
  { arbitrary: fc.constant('failure' as const), weight: 3 },
  { arbitrary: fc.constantFrom('resultFailure' as const, 'timeout' as const, 'localRejection' as const), weight: 2 },
);

const advanceArb = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3000 })).map((ms): Cmd => new Advance(ms));
const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.constant<Cmd>(new StartCall()), weight: 60 },
  { arbitrary: fc.record({ index: fc.nat(), outcome: outcomeArb }).map(({ index, outcome }): Cmd => new SettleCall(index, outcome)), weight: 60 },
  { arbitrary: advanceArb, weight: 40 },
  { arbitrary: fc.constant<Cmd>(new Check()), weight: 16 },
  { arbitrary: fc.constant<Cmd>(new Manual('reset')), weight: 2 },
  { arbitrary: fc.constantFrom('isolate' as const, 'disable' as const).map((a): Cmd => new Manual(a)), weight: 1 },
);

describe('circuitBreaker (model-based)', () => {
  for (const kind of Object.keys(strategyArbs) as StrategySpec['kind'][]) {
    it(`agrees with the reference model over random calls, outcomes and clock advances: ${kind}`, async () => {
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(configArb(strategyArbs[kind]), fc.commands([commandArb], { maxCommands: 100, size: 'max' }), async (config, cmds) => {
          const clock = new ManualClock();
          const breaker = circuitBreaker({
            clock,
            random: seededRandom(config.randomSeed),
            strategy: buildStrategy(config.strategy),
            openMs: config.openMs,
            openBackoffFactor: config.openBackoffFactor,
            maxOpenMs: config.maxOpenMs,
            openJitter: config.openJitter,
            halfOpenProbes: config.halfOpenProbes,
            halfOpenWindow: config.halfOpenWindow,
            halfOpenFailureRateThreshold: config.halfOpenFailureRateThreshold,
            halfOpenDeadFailures: config.halfOpenDeadFailures,
            halfOpenMaxWaitMs: config.halfOpenMaxWaitMs,
            dryRun: config.dryRun,
            isResultFailure: (r) => r === FAILED_RESULT,
          });
          const real: Real = { clock, breaker, pending: [], log: [] };
          breaker.events.on('stateChange', (e) => {
            real.log.push([e.from, e.to, e.at]);
            seen.set(e.reason, (seen.get(e.reason) ?? 0) + 1);
          });
          await fc.asyncModelRun(() => ({ model: new Model(config), real }), [...cmds, new Check()]);
          // settle what is left so nothing dangles
          for (const call of real.pending) call.resolve('ok');
          await Promise.all(real.pending.map((c) => c.done));
        }),
        { seed, numRuns },
      );
      console.log(`circuit-breaker.prop ${kind}: transitions by reason ${JSON.stringify(Object.fromEntries(seen))}`);
      // Guard against a vacuous run: the sequences must have driven the breaker through every automatic transition.
      for (const reason of ['openElapsed', 'probesSucceeded', 'probeFailed', 'halfOpenTimeout']) expect(seen.get(reason), reason).toBeGreaterThan(0);
    });
  }
});
