/**
 * Timeout properties, over random sets of calls (start times, durations, failures, context deadlines, caller aborts,
 * signal reads) and clock advances:
 * - every call settles no later than its effective deadline plus one clock tick (the finest step used here);
 * - it settles with the outcome of whichever comes first: fn's result, the caller's abort, or the deadline
 *   (a call that finishes before its deadline resolves with its value);
 * - a call whose context deadline has passed at entry is refused with DEADLINE_EXCEEDED and fn is not called;
 * - with nothing to enforce (timeoutMs: Infinity, no context deadline) a call passes straight through;
 * - ctx.signal, read early or late, aborts with the TimeoutError or the caller's reason, and only then;
 * - at most one timer is armed at any moment, and none once every call settled.
 * The deadline heap is checked against a sorted-array model.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeout } from '../../src/timeout/index.js';
import { DeadlineHeap, type DeadlineEntry } from '../../src/core/deadline-heap.js';
import { TimeoutError } from '../../src/core/errors.js';
import type { ExecuteOptions } from '../../src/core/context.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 150);
console.log(`timeout.prop: FC_SEED=${seed} (runs: ${numRuns})`);

/** Finest time step of the generated schedules, ms: every time below is a multiple of it. */
const TICK = 0.25;
const ms = (max: number, min = 0): fc.Arbitrary<number> => fc.integer({ min: min / TICK, max: max / TICK }).map((n) => n * TICK);

interface CallSpec {
  startAt: number;
  /** null: fn never settles. */
  durationMs: number | null;
  fails: boolean;
  deadline: null | { kind: 'absolute'; at: number } | { kind: 'relative'; ms: number };
  /** null: the caller passes no signal. */
  abortAfterMs: number | null;
  readsSignalAtStart: boolean;
}

const arbCall: fc.Arbitrary<CallSpec> = fc.record({
  startAt: ms(2_000),
  durationMs: fc.option(ms(1_500), { freq: 5 }),
  fails: fc.boolean(),
  deadline: fc.oneof(
    fc.constant(null),
    ms(3_000).map((at) => ({ kind: 'absolute' as const, at })),
    ms(1_500).map((d) => ({ kind: 'relative' as const, ms: d })),
  ),
  abortAfterMs: fc.option(ms(1_500), { freq: 3 }),
  readsSignalAtStart: fc.boolean(),
});

const arbScenario = fc.record({
  timeoutMs: fc.oneof({ weight: 5, arbitrary: ms(1_000, TICK) }, { weight: 1, arbitrary: fc.constant(Infinity) }),
  calls: fc.array(arbCall, { minLength: 1, maxLength: 25 }),
  advances: fc.array(ms(4_000), { maxLength: 8 }),
});

/** A manual clock that records the most timers ever armed at once. */
class WatchedClock extends ManualClock {
  maxPending = 0;
  override setTimeout(callback: () => void, delayMs: number): unknown {
    const h = super.setTimeout(callback, delayMs);
    this.maxPending = Math.max(this.maxPending, this.pendingTimers());
    return h;
  }
}

interface Outcome {
  settledAt?: number;
  value?: unknown;
  error?: unknown;
}

describe('timeout', () => {
  it('settles every call by its deadline with the first of result, abort and timeout, keeping at most one timer', async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, async ({ timeoutMs, calls, advances }) => {
        const clock = new WatchedClock();
        const t = timeout({ timeoutMs, clock });
        const outcomes: Outcome[] = calls.map(() => ({}));
        const finishers: Array<((ok: boolean) => void) | undefined> = [];
        const controllers = calls.map((c) => (c.abortAfterMs === null ? undefined : new AbortController()));
        const abortReasons = calls.map((_, i) => new Error(`abort ${i}`));
        const signals: Array<AbortSignal | undefined> = [];
        const contexts: Array<{ signal: AbortSignal } | undefined> = [];
        const called = calls.map(() => false);

        type Ev = { at: number; rank: number; run: () => void };
        const events: Ev[] = [];
        calls.forEach((c, i) => {
          events.push({
            at: c.startAt,
            rank: 0,
            run: () => {
              const options: ExecuteOptions = {};
              if (c.deadline?.kind === 'absolute') options.deadline = c.deadline.at;
              if (c.deadline?.kind === 'relative') options.timeoutMs = c.deadline.ms;
              if (controllers[i]) options.signal = controllers[i].signal;
              t.execute((ctx) => {
                called[i] = true;
                contexts[i] = ctx;
                if (c.readsSignalAtStart) signals[i] = ctx.signal;
                return new Promise((resolve, reject) => {
                  finishers[i] = (ok) => (ok ? resolve(i) : reject(new Error(`fail ${i}`)));
                });
              }, options).then(
                (value) => Object.assign(outcomes[i]!, { value, settledAt: clock.now() }),
                (error: unknown) => Object.assign(outcomes[i]!, { error, settledAt: clock.now() }),
              );
            },
          });
          if (c.durationMs !== null) events.push({ at: c.startAt + c.durationMs, rank: 1, run: () => finishers[i]?.(!c.fails) });
          if (c.abortAfterMs !== null) events.push({ at: c.startAt + c.abortAfterMs, rank: 2, run: () => controllers[i]!.abort(abortReasons[i]) });
        });
        for (const at of advances) events.push({ at, rank: 3, run: () => {} });
        events.sort((a, b) => a.at - b.at || a.rank - b.rank);

        for (const ev of events) {
          await clock.advanceTo(ev.at);
          expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
          ev.run();
          await flushMicrotasks();
          expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
          // fn's completions are driven from here, so every timer on the clock is the policy's: none may outlive
          // the last pending call.
          if (t.stats().pending === 0) expect(clock.pendingTimers()).toBe(0);
        }
        await clock.runAll();
        await flushMicrotasks();

        calls.forEach((c, i) => {
          const o = outcomes[i]!;
          const ctxDeadline =
            c.deadline === null ? Infinity : c.deadline.kind === 'absolute' ? c.deadline.at : c.startAt + c.deadline.ms;
          if (ctxDeadline <= c.startAt) {
            expect(o.error).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
            expect(o.settledAt).toBe(c.startAt);
            expect(called[i]).toBe(false);
            return;
          }
          const deadline = Math.min(c.startAt + timeoutMs, ctxDeadline);
          const finishAt = c.durationMs === null ? Infinity : c.startAt + c.durationMs;
          // With nothing to enforce (timeoutMs: Infinity, no context deadline) the call passes straight through: only
          // fn settles it, and fn sees the caller's own signal.
          const passThrough = deadline === Infinity;
          const abortAt = c.abortAfterMs === null || passThrough ? Infinity : c.startAt + c.abortAfterMs;
          const first = Math.min(deadline, finishAt, abortAt);
          if (first === Infinity) {
            // No timeout, no deadline, no abort and fn never settles: nothing may settle it.
            expect(o.settledAt).toBeUndefined();
            return;
          }
          expect(o.settledAt).toBeLessThanOrEqual(deadline + TICK);
          expect(o.settledAt).toBe(first);
          // Which outcomes are allowed: every one that happens at `first` (ties may go either way).
          const allowed: string[] = [];
          if (finishAt === first) allowed.push(c.fails ? 'fail' : 'value');
          if (abortAt === first) allowed.push('abort');
          if (deadline === first) allowed.push('timeout');
          const got =
            o.error === undefined
              ? 'value'
              : o.error === abortReasons[i]
                ? 'abort'
                : o.error instanceof TimeoutError
                  ? 'timeout'
                  : (o.error as Error).message === `fail ${i}`
                    ? 'fail'
                    : `unexpected ${String(o.error)}`;
          expect(allowed, `call ${i}: got ${got}`).toContain(got);
          if (got === 'value') expect(o.value).toBe(i);
          // The signal fn saw (read at start, or read only now) tells the same story.
          const early = signals[i];
          const late = contexts[i]!.signal;
          if (passThrough) {
            expect(late).toBe(controllers[i]?.signal ?? late);
          } else if (got === 'timeout' || got === 'abort') {
            for (const s of [early, late]) {
              if (s === undefined) continue;
              expect(s.aborted).toBe(true);
              expect(s.reason).toBe(o.error);
            }
          } else {
            if (early !== undefined) expect(early.aborted).toBe(false);
          }
        });
        expect(clock.maxPending).toBeLessThanOrEqual(1);
        expect(clock.pendingTimers()).toBe(0);
      }),
      { seed, numRuns },
    );
  });
});

describe('DeadlineHeap', () => {
  type Op = { kind: 'push'; deadline: number } | { kind: 'remove'; pick: number } | { kind: 'pop' };
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 50 }).map((deadline): Op => ({ kind: 'push', deadline })) },
    { weight: 2, arbitrary: fc.nat().map((pick): Op => ({ kind: 'remove', pick })) },
    { weight: 1, arbitrary: fc.constant<Op>({ kind: 'pop' }) },
  );

  it('always yields the earliest deadline, oldest first among equals, whatever is removed', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 200 }), (ops) => {
        const heap = new DeadlineHeap<DeadlineEntry>();
        let model: DeadlineEntry[] = [];
        const gone: DeadlineEntry[] = [];
        const sort = (): void => void model.sort((a, b) => a.due - b.due || a.seq - b.seq);
        for (const op of ops) {
          if (op.kind === 'push') {
            const e = { due: op.deadline, seq: -1, heapIndex: -1 };
            heap.push(e);
            model.push(e);
          } else if (op.kind === 'remove') {
            const pool = [...model, ...gone];
            if (pool.length === 0) continue;
            const e = pool[op.pick % pool.length]!;
            expect(heap.remove(e)).toBe(model.includes(e));
            model = model.filter((x) => x !== e);
            gone.push(e);
          } else {
            sort();
            const expected = model.shift();
            expect(heap.pop()).toBe(expected);
            if (expected) gone.push(expected);
          }
          sort();
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model[0]);
          for (const e of gone) expect(e.heapIndex).toBe(-1);
        }
      }),
      { seed, numRuns: numRuns * 2 },
    );
  });
});
