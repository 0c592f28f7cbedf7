/**
 * Failure-side policies, uncontended success path: what wrapping a call that succeeds at once costs in a
 * circuit breaker, a retry, a timeout and the four-policy pipeline, side by side with the bare call, the least any
 * wrapper that observes the outcome must do, cockatiel 3 and opossum 9. Four suites: `breaker`, `retry`, `timeout`,
 * `pipeline`. Each checks afterwards that no call was refused, tripped, retried or timed out, and that no timer is
 * left behind (sluice stats, peer events, and the process's active ref'd timers).
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead as cBulkhead,
  circuitBreaker as cCircuitBreaker,
  handleAll,
  retry as cRetry,
  timeout as cTimeout,
  wrap,
  type IPolicy,
} from 'cockatiel';
import OpossumBreaker from 'opossum';
import {
  circuitBreaker,
  coarseClock,
  consecutiveFailures,
  pipeline,
  retry,
  systemClock,
  timeout,
  tokenBucket,
  type CircuitBreaker,
  type Clock,
  type ExecutionContext,
  type Policy,
  type Retry,
  type Timeout,
  type TokenBucket,
} from '../../src/index.js';
import { RUN } from '../../src/core/policy.js';
import { asyncTask, type BenchTask, type Suite } from '../harness.js';

// ---- shared by the four suites -----------------------------------------------------------------------------------

/** The protected function: the cheapest async function there is. */
const fn = async (): Promise<number> => 1;
/** The same, but it reads `ctx.signal` (so a policy that creates the signal lazily has to create it). */
const readsSignal = (ctx: ExecutionContext): Promise<boolean> => Promise.resolve(ctx.signal.aborted);

const pass = <T>(x: T): T => x;
/** A caller's signal that never fires, for the per-call-options rows. */
const signal = new AbortController().signal;
/** A clock whose now() is a constant: the rows on it pay for everything but the time read. */
const fixedClock: Clock = { now: () => 1, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
const BIG = 1e12;

const FLOOR = 'await fn()';
const floorTask = (): BenchTask =>
  asyncTask(FLOOR, () => fn(), { role: 'floor', note: '`fn = async () => 1`, awaited in a sequential loop: the cost of the call itself.' });
/** Any wrapper that sees the outcome (to count it, classify it or retry it) needs at least one more promise and reaction. */
const thenTask = (): BenchTask =>
  asyncTask('fn().then(x => x)', () => fn().then(pass), {
    role: 'reference',
    note: 'one promise reaction on fn\'s promise: the least a wrapper that observes the outcome can do.',
  });

const NOTES = [
  'Async rows await 1000 calls in sequence per tinybench iteration (never more than one in flight) and report the mean per call; the table shows the median over iterations.',
  'B/op: JS heap bytes allocated per call (heap used after a batch minus before, no gc in between); `fn` itself allocates its promise.',
];

function fail(what: string): never {
  throw new Error(`bench: ${what}`);
}

/** Ref'd timers keep a process alive: after a suite every call has settled, so none may remain. */
function checkNoTimers(suite: string): void {
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
  if (timers !== 0) fail(`${suite}: ${timers} timer(s) still armed after every call settled`);
}

function checkBreaker(b: CircuitBreaker): void {
  const s = b.stats();
  if (s.state !== 'closed' || s.opens !== 0 || s.failed !== 0 || s.ignored !== 0 || s.rejected !== 0) {
    fail(`${s.name} left the success path (state ${s.state}, opens ${s.opens}, failed ${s.failed}, ignored ${s.ignored}, rejected ${s.rejected}, succeeded ${s.succeeded})`);
  }
  b.dispose();
}

function checkRetry(r: Retry): void {
  const s = r.stats();
  if (s.retries !== 0 || s.failures !== 0 || s.sleeping !== 0 || s.attempts !== s.calls || (s.budget !== undefined && s.budget.retriesRefused !== 0)) {
    fail(`${s.name} left the success path (calls ${s.calls}, attempts ${s.attempts}, retries ${s.retries}, failures ${s.failures}, sleeping ${s.sleeping})`);
  }
  r.dispose();
}

function checkTimeout(t: Timeout): void {
  const s = t.stats();
  if (s.timedOut !== 0 || s.pending !== 0 || s.aborted !== 0 || s.rejected !== 0) {
    fail(`${s.name} left the success path (calls ${s.calls}, timedOut ${s.timedOut}, pending ${s.pending}, aborted ${s.aborted}, rejected ${s.rejected})`);
  }
}

function checkBucket(b: TokenBucket): void {
  const s = b.stats();
  if (s.rejected !== 0 || s.queued !== 0) fail(`${s.name} was contended (rejected ${s.rejected}, queued ${s.queued})`);
  b.dispose();
}

/** Counts every cockatiel event that means a call left the success path. */
class CockatielWatch {
  private n = 0;
  private readonly what: string[] = [];
  constructor(readonly label: string) {}
  on(event: { (listener: (e: unknown) => void): unknown }, name: string): this {
    event(() => {
      this.n++;
      this.what.push(name);
    });
    return this;
  }
  check(): void {
    if (this.n !== 0) fail(`${this.label} left the success path: ${this.what.slice(0, 5).join(', ')} (${this.n} events)`);
  }
}

function watchBreaker(label: string, p: ReturnType<typeof cCircuitBreaker>): CockatielWatch {
  return new CockatielWatch(label).on(p.onBreak, 'break').on(p.onFailure, 'failure').on(p.onHalfOpen, 'halfOpen');
}
function watchRetry(label: string, p: ReturnType<typeof cRetry>): CockatielWatch {
  return new CockatielWatch(label).on(p.onRetry, 'retry').on(p.onGiveUp, 'giveUp').on(p.onFailure, 'failure');
}
function watchTimeout(label: string, p: ReturnType<typeof cTimeout>): CockatielWatch {
  return new CockatielWatch(label).on(p.onTimeout, 'timeout').on(p.onFailure, 'failure');
}

/**
 * An opossum breaker, created on first use: opossum starts its rolling-window intervals in the constructor, and
 * only the breaker suite should have them.
 */
function lazyOpossum(options: OpossumBreaker.Options): { fire: () => Promise<number>; check: (label: string) => void } {
  let b: OpossumBreaker<[], number> | undefined;
  return {
    fire: () => (b ??= new OpossumBreaker(fn, options)).fire(),
    check(label) {
      if (b === undefined) return;
      const s = b.stats;
      if (!b.closed || s.failures !== 0 || s.rejects !== 0 || s.timeouts !== 0 || s.semaphoreRejections !== 0) {
        fail(`${label} left the success path (closed ${b.closed}, failures ${s.failures}, rejects ${s.rejects}, timeouts ${s.timeouts})`);
      }
      b.shutdown(); // clears its rolling-window intervals
    },
  };
}

// ---- breaker -----------------------------------------------------------------------------------------------------

const breakerDefault = circuitBreaker({ name: 'bench-breaker' });
const breakerConsecutive = circuitBreaker({ name: 'bench-breaker-consecutive', strategy: consecutiveFailures({ threshold: 5 }) });
const breakerSignal = circuitBreaker({ name: 'bench-breaker-signal' });
const cockBreaker = cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
const cockBreakerWatch = watchBreaker('cockatiel circuitBreaker', cockBreaker);
const opossumDefault = lazyOpossum({});
const opossumNoTimeout = lazyOpossum({ timeout: false });
const opossumBare = lazyOpossum({ timeout: false, rollingPercentilesEnabled: false, enableSnapshots: false });

export const breakerSuite: Suite = {
  name: 'breaker',
  title: 'Circuit breaker, closed, success path',
  floor: FLOOR,
  tasks: [
    floorTask(),
    thenTask(),
    asyncTask('circuitBreaker.execute(fn)', () => breakerDefault.execute(fn), {
      note: 'default options (count window of 100, minimum 20 calls, 50 %), closed.',
    }),
    asyncTask('circuitBreaker.execute(fn) [consecutiveFailures(5)]', () => breakerConsecutive.execute(fn), {
      note: "the strategy cockatiel's row uses: open after 5 failures in a row.",
    }),
    asyncTask('circuitBreaker.execute(fn, { signal })', () => breakerSignal.execute(fn, { signal }), {
      note: "a caller's signal (a fresh `{ signal }` each call): a per-call context and the general (async) path.",
    }),
    asyncTask('cockatiel circuitBreaker.execute(fn)', () => cockBreaker.execute(fn), {
      role: 'peer',
      note: 'cockatiel 3.2.1 `circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })`.',
    }),
    asyncTask('opossum fire() [defaults: timeout 10 s]', () => opossumDefault.fire(), {
      role: 'peer',
      note: 'opossum 9.0.0 `new CircuitBreaker(fn)`: its default `timeout` (10 000 ms) arms and clears a timer per call, plus a Promise with executor closure, Date.now() twice and the rolling stats.',
    }),
    asyncTask('opossum fire() [timeout: false]', () => opossumNoTimeout.fire(), {
      role: 'peer',
      note: 'opossum with `{ timeout: false }`: no timer per call, still the rolling-window stats and latency percentiles.',
    }),
    asyncTask('opossum fire() [breaker only]', () => opossumBare.fire(), {
      role: 'peer',
      note: 'opossum as close to "breaker only" as its options allow: `{ timeout: false, rollingPercentilesEnabled: false, enableSnapshots: false }` (no timer per call, no latency array, no snapshot interval; the semaphore `capacity` defaults to MAX_SAFE_INTEGER and cannot be switched off).',
    }),
  ],
  targets: [{ task: 'circuitBreaker.execute(fn)', maxRatioToFloor: 2 }],
  notes: NOTES,
  dispose() {
    for (const b of [breakerDefault, breakerConsecutive, breakerSignal]) checkBreaker(b);
    cockBreakerWatch.check();
    if (cockBreaker.state !== CircuitState.Closed) fail(`cockatiel circuitBreaker is ${CircuitState[cockBreaker.state]}`);
    opossumDefault.check('opossum [defaults]');
    opossumNoTimeout.check('opossum [timeout: false]');
    opossumBare.check('opossum [breaker only]');
    checkNoTimers('breaker');
  },
};

// ---- retry -------------------------------------------------------------------------------------------------------

const retryDefault = retry({ name: 'bench-retry' });
const retryNoBudget = retry({ name: 'bench-retry-nobudget', budget: false });
const retrySignal = retry({ name: 'bench-retry-signal' });
const cockRetry = cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
const cockRetryWatch = watchRetry('cockatiel retry', cockRetry);

export const retrySuite: Suite = {
  name: 'retry',
  title: 'Retry, first attempt succeeds',
  floor: FLOOR,
  tasks: [
    floorTask(),
    thenTask(),
    asyncTask('retry.execute(fn)', () => retryDefault.execute(fn), {
      note: 'default options: 3 attempts, full-jitter backoff, its own token budget (`tokenBudget()`: a success refunds a token).',
    }),
    asyncTask('retry.execute(fn) [budget: false]', () => retryNoBudget.execute(fn), { note: 'no retry budget: bounded by maxAttempts only.' }),
    asyncTask('retry.execute(fn, { signal })', () => retrySignal.execute(fn, { signal }), {
      note: "a caller's signal (a fresh `{ signal }` each call): a per-call context and a derived attempt context.",
    }),
    asyncTask('cockatiel retry.execute(fn)', () => cockRetry.execute(fn), {
      role: 'peer',
      note: 'cockatiel 3.2.1 `retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() })`.',
    }),
  ],
  targets: [{ task: 'retry.execute(fn)', maxRatioToFloor: 2 }],
  notes: NOTES,
  dispose() {
    for (const r of [retryDefault, retryNoBudget, retrySignal]) checkRetry(r);
    cockRetryWatch.check();
    checkNoTimers('retry');
  },
};

// ---- timeout -----------------------------------------------------------------------------------------------------

const timeoutPlain = timeout({ name: 'bench-timeout', timeoutMs: 1_000 });
const timeoutReads = timeout({ name: 'bench-timeout-signal', timeoutMs: 1_000 });
const timeoutFixed = timeout({ name: 'bench-timeout-fixed', timeoutMs: 1_000, clock: fixedClock });
const timeoutCaller = timeout({ name: 'bench-timeout-caller', timeoutMs: 1_000 });
const cockCooperative = cTimeout(1_000, TimeoutStrategy.Cooperative);
const cockAggressive = cTimeout(1_000, TimeoutStrategy.Aggressive);
const cockNoAbort = cTimeout(1_000, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
const cockTimeoutWatches = [
  watchTimeout('cockatiel timeout [Cooperative]', cockCooperative),
  watchTimeout('cockatiel timeout [Aggressive]', cockAggressive),
  watchTimeout('cockatiel timeout [abortOnReturn: false]', cockNoAbort),
];

// The least a timeout can do without a timer: hand back a promise of its own (one it could reject at the deadline)
// and subscribe to fn's. A lower bound for any design, not a timeout.
let capturedResolve: (v: unknown) => void = pass;
let capturedReject: (e: unknown) => void = pass;
const capture = (resolve: (v: unknown) => void, reject: (e: unknown) => void): void => {
  capturedResolve = resolve;
  capturedReject = reject;
};
function ownPromise(): Promise<unknown> {
  const p = new Promise(capture);
  fn().then(capturedResolve, capturedReject);
  return p;
}

/** A shared timer armed only for calls that outlive their first microtask needs that microtask: the skeleton. */
const RESOLVED = Promise.resolve();
const noop = (): void => {};
function timerSharingSkeleton(): Promise<unknown> {
  const p = new Promise(capture);
  const resolve = capturedResolve;
  const reject = capturedReject;
  fn().then(
    (v) => resolve(v),
    (e: unknown) => reject(e),
  );
  void RESOLVED.then(noop);
  return p;
}

export const timeoutSuite: Suite = {
  name: 'timeout',
  title: 'Timeout, call settles in time',
  floor: FLOOR,
  tasks: [
    floorTask(),
    thenTask(),
    asyncTask('own promise + fn().then(resolve, reject)', ownPromise, {
      role: 'reference',
      note: 'a promise of its own that it could reject at the deadline, subscribed to fn\'s: the least a timeout that rejects on time whether or not fn settles can do.',
    }),
    asyncTask('own promise + fn().then(2 closures) + 1 microtask', timerSharingSkeleton, {
      role: 'reference',
      note: "the skeleton of a timeout that shares one timer and arms it only for calls still running after their first microtask (sluice's design): the own promise, handlers that know the call, and that microtask; no bookkeeping at all.",
    }),
    asyncTask('timeout.execute(fn)', () => timeoutPlain.execute(fn), { note: '`timeout({ timeoutMs: 1000 })`; fn ignores ctx.signal.' }),
    asyncTask('timeout.execute(fn reads ctx.signal)', () => timeoutReads.execute(readsSignal), {
      note: '`fn = (ctx) => Promise.resolve(ctx.signal.aborted)`: reading the signal forces it (an AbortController) to exist.',
    }),
    asyncTask('timeout.execute(fn) [fixed clock]', () => timeoutFixed.execute(fn), { note: 'on a clock whose now() is a constant: everything but the time read.' }),
    asyncTask('timeout.execute(fn, { signal })', () => timeoutCaller.execute(fn, { signal }), {
      note: "a caller's signal (a fresh `{ signal }` each call): a per-call context and an abort listener added and removed.",
    }),
    asyncTask('cockatiel timeout(1000, Cooperative).execute(fn)', () => cockCooperative.execute(fn), {
      role: 'peer',
      note: 'cockatiel 3.2.1: an AbortController and a timer per call, and (its default `abortOnReturn: true`) the signal aborted when fn returns; fn is trusted to honour the signal.',
    }),
    asyncTask('cockatiel timeout(1000, Aggressive).execute(fn)', () => cockAggressive.execute(fn), {
      role: 'peer',
      note: 'cockatiel 3.2.1: as Cooperative, plus a Promise.race so the caller is released at the deadline.',
    }),
    asyncTask('cockatiel timeout(1000, { Cooperative, abortOnReturn: false })', () => cockNoAbort.execute(fn), {
      role: 'peer',
      note: "cockatiel's cheapest timeout: no abort when fn returns (an abort builds a DOMException with a stack trace and dispatches an event), still an AbortController and a timer per call.",
    }),
  ],
  targets: [{ task: 'timeout.execute(fn)', maxRatioToFloor: 2 }],
  notes: NOTES,
  dispose() {
    for (const t of [timeoutPlain, timeoutReads, timeoutFixed, timeoutCaller]) checkTimeout(t);
    for (const w of cockTimeoutWatches) w.check();
    checkNoTimers('timeout');
  },
};

// ---- pipeline ----------------------------------------------------------------------------------------------------

/** The policy with only `[RUN]`: a pipeline cannot fuse it, so it runs the general path (one promise per layer). */
function unfused(p: Policy): Policy {
  return {
    name: p.name,
    clock: p.clock,
    execute: (f, o) => p.execute(f, o),
    [RUN]: (next, ctx) => p[RUN](next, ctx),
    dispose: (reason) => p.dispose(reason),
    [Symbol.dispose]: () => p.dispose(),
  };
}

/** `pipeline(retry(), circuitBreaker(), tokenBucket(huge), timeout({ timeoutMs: 1000 }))`, or its first `layers` policies. */
function sluicePipeline(name: string, layers = 4, how: { general?: boolean; clock?: Clock } = {}): { policy: ReturnType<typeof pipeline>; check: () => void } {
  const clock = how.clock;
  const r = retry({ name: `${name}-retry`, clock });
  const b = circuitBreaker({ name: `${name}-breaker`, clock });
  const bucket = tokenBucket({ name: `${name}-bucket`, capacity: BIG, refillPerSecond: BIG, clock });
  const t = timeout({ name: `${name}-timeout`, timeoutMs: 1_000, clock });
  const layered: Policy[] = [r, b, bucket, t].slice(0, layers);
  return {
    policy: pipeline(...(how.general === true ? layered.map(unfused) : layered)),
    check() {
      checkTimeout(t);
      checkBucket(bucket);
      checkBreaker(b);
      checkRetry(r);
    },
  };
}

const sluicePiped = sluicePipeline('bench-pipeline');
const sluicePipedSignal = sluicePipeline('bench-pipeline-signal');
const sluicePipedDeadline = sluicePipeline('bench-pipeline-deadline');
const sluiceLayers = [1, 2, 3].map((n) => sluicePipeline(`bench-pipeline-${n}`, n));
const sluicePipedGeneral = sluicePipeline('bench-pipeline-general', 4, { general: true });
const sluicePipedCoarse = sluicePipeline('bench-pipeline-coarse', 4, { clock: coarseClock() });

/**
 * The least these four layers can cost whatever the design: the clock read a rate limiter must make, a promise of
 * the timeout's own subscribed to fn's, and one reaction each for the breaker and the retry to see the outcome.
 */
function pipelineLowerBound(): Promise<unknown> {
  systemClock.now();
  return ownPromise().then(pass).then(pass);
}

function cockatielWrap(label: string, timeoutOptions: TimeoutStrategy | { strategy: TimeoutStrategy; abortOnReturn: boolean }): { policy: IPolicy; watches: CockatielWatch[] } {
  const r = cRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
  const b = cCircuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const bh = cBulkhead(1_000_000);
  const t = cTimeout(1_000, timeoutOptions);
  const bulkheadWatch = new CockatielWatch(`${label} bulkhead`).on(bh.onReject, 'reject');
  return {
    policy: wrap(r, b, bh, t),
    watches: [watchRetry(`${label} retry`, r), watchBreaker(`${label} breaker`, b), bulkheadWatch, watchTimeout(`${label} timeout`, t)],
  };
}

const cockWrap = cockatielWrap('cockatiel wrap [Cooperative]', TimeoutStrategy.Cooperative);
const cockWrapNoAbort = cockatielWrap('cockatiel wrap [abortOnReturn: false]', { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });

export const pipelineSuite: Suite = {
  name: 'pipeline',
  title: 'pipeline(retry, circuitBreaker, tokenBucket, timeout), success path',
  floor: FLOOR,
  tasks: [
    floorTask(),
    thenTask(),
    asyncTask('clock read + own promise + 2 reactions', pipelineLowerBound, {
      role: 'reference',
      note: "`systemClock.now()`, then a promise of the timeout's own subscribed to fn's, then `.then(x => x)` twice: the least a retry, a breaker, a rate limiter and a timeout that rejects on time can add together (no bookkeeping at all).",
    }),
    asyncTask('pipeline(retry, breaker, bucket, timeout).execute(fn)', () => sluicePiped.policy.execute(fn), {
      note: '`pipeline(retry(), circuitBreaker(), tokenBucket({ capacity: 1e12, refillPerSecond: 1e12 }), timeout({ timeoutMs: 1000 }))`, all defaults otherwise (retry with its token budget).',
    }),
    asyncTask('pipeline(...).execute(fn reads ctx.signal)', () => sluicePipedSignal.policy.execute(readsSignal), {
      note: 'the same pipeline; fn reads ctx.signal, so the timeout creates its AbortController.',
    }),
    asyncTask('pipeline(...).execute(fn, { timeoutMs: 5000 })', () => sluicePipedDeadline.policy.execute(fn, { timeoutMs: 5_000 }), {
      note: 'the same pipeline with an overall deadline per call (a fresh options object): a per-call context, a clock read for the deadline, derived attempt contexts.',
    }),
    asyncTask('pipeline(...).execute(fn) [general path]', () => sluicePipedGeneral.policy.execute(fn), {
      note: 'the same four policies, each hidden behind a wrapper that offers only `[RUN]`, so the pipeline cannot fuse them: one promise (or two) per layer, as before the fused path existed.',
    }),
    asyncTask('pipeline(...).execute(fn) [coarseClock()]', () => sluicePipedCoarse.policy.execute(fn), {
      note: 'the same pipeline on the opt-in `coarseClock()` (time cached by a 1 ms ticker): the bucket\'s clock read costs ~7 ns instead of ~35.',
    }),
    asyncTask('pipeline(retry).execute(fn)', () => sluiceLayers[0]!.policy.execute(fn), { note: 'the first layer alone, then the first two and three: where the time goes.' }),
    asyncTask('pipeline(retry, breaker).execute(fn)', () => sluiceLayers[1]!.policy.execute(fn)),
    asyncTask('pipeline(retry, breaker, bucket).execute(fn)', () => sluiceLayers[2]!.policy.execute(fn)),
    asyncTask('cockatiel wrap(retry, breaker, bulkhead, timeout [Cooperative])', () => cockWrap.policy.execute(fn), {
      role: 'peer',
      note: 'cockatiel 3.2.1 `wrap(retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }), circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }), bulkhead(1e6), timeout(1000, Cooperative))`. cockatiel has no rate limiter: its bulkhead (limit 1e6, never full) stands in for the token bucket as the admission layer.',
    }),
    asyncTask('cockatiel wrap(..., timeout [abortOnReturn: false])', () => cockWrapNoAbort.policy.execute(fn), {
      role: 'peer',
      note: "the same wrap with cockatiel's cheapest timeout, `timeout(1000, { strategy: Cooperative, abortOnReturn: false })`.",
    }),
  ],
  targets: [{ task: 'pipeline(retry, breaker, bucket, timeout).execute(fn)', maxRatioToFloor: 5 }],
  notes: NOTES,
  dispose() {
    for (const p of [sluicePiped, sluicePipedSignal, sluicePipedDeadline, sluicePipedGeneral, sluicePipedCoarse, ...sluiceLayers]) p.check();
    for (const w of [...cockWrap.watches, ...cockWrapNoAbort.watches]) w.check();
    checkNoTimers('pipeline');
  },
};
