/**
 * Bulkhead properties over random schedules of execute / acquire / tryAcquire calls with random hold times, costs,
 * priorities, tenants, aborts, deadlines, queue bounds, `maxWaitMs`, limit changes and a dispose at a random point,
 * with every queue discipline, on a manual clock:
 * - in-flight units (counting cost) ≤ the limit in force at every admission;
 * - every permit is released exactly once (the bulkhead's in-flight count always equals the permits held);
 * - every call ends exactly once, as admitted, refused or aborted, and the stats agree with what callers saw;
 * - a waiter evicted for its wait or deadline leaves at exactly that virtual time (or is refused at once, when the
 *   measured service rate says it could not start in time);
 * - with the FIFO discipline, waiters are admitted in FIFO order; only disciplines that shed ever shed;
 * - the bulkhead never has more than one timer armed, and none is left at the end.
 * Reproduce a failure with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../../src/concurrency/bulkhead.js';
import type { Clock, TimerHandle } from '../../src/core/clock.js';
import type { ExecuteOptions } from '../../src/core/context.js';
import { isRejectedError } from '../../src/core/errors.js';
import { codelQueue, fairQueue, fifoQueue, lifoQueue, priorityQueue, type QueueDiscipline, type QueuedCall } from '../../src/concurrency/queues/index.js';
import { ManualClock } from '../../src/testing/index.js';

const DISCIPLINES = { fifo: fifoQueue, lifo: lifoQueue, priority: priorityQueue, codel: codelQueue, fair: fairQueue } as const;

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 150);
console.log(`bulkhead.prop: FC_SEED=${seed} (runs: ${numRuns})`);

type QueueName = 'fifo' | 'lifo' | 'priority' | 'codel' | 'fair';

interface Op {
  /** Virtual time between the previous call and this one, ms. */
  gapMs: number;
  kind: 'execute' | 'acquire' | 'tryAcquire' | 'configure';
  /** Units of the limit the call holds (capped at the limit in force); for `configure`, the new limit. */
  cost: number;
  priority: number;
  tenant: string | undefined;
  /** How long the call holds its permit once admitted, ms. */
  holdMs: number;
  /** The caller aborts this long after the call, ms (0 = synchronously right after it). */
  abortAfterMs: number | undefined;
  /** Deadline relative to the call, ms. */
  deadlineInMs: number | undefined;
  /** Release the permit twice (acquire / tryAcquire). */
  doubleRelease: boolean;
  /** fn throws after its hold (execute). */
  throws: boolean;
}

interface Scenario {
  queue: QueueName;
  limit: number;
  maxQueue: number;
  maxWaitMs: number;
  ops: Op[];
  /** Dispose before this op (or after the last one when ≥ ops.length). */
  disposeAt: number | undefined;
}

/** `x` one time in four, else undefined. */
const sometimes = (x: fc.Arbitrary<number>): fc.Arbitrary<number | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: x });

const arbOp: fc.Arbitrary<Op> = fc.record({
  gapMs: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 30 }) }),
  kind: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('execute', 'acquire', 'tryAcquire') }, { weight: 1, arbitrary: fc.constant('configure') }) as fc.Arbitrary<Op['kind']>,
  cost: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
  priority: fc.constantFrom(-200, 0, 0, 100, 200),
  tenant: fc.constantFrom(undefined, 'a', 'b', 'c'),
  holdMs: fc.integer({ min: 0, max: 150 }),
  abortAfterMs: sometimes(fc.integer({ min: 0, max: 100 })),
  deadlineInMs: sometimes(fc.integer({ min: 0, max: 150 })),
  doubleRelease: fc.boolean(),
  throws: fc.boolean(),
});

const arbScenario: fc.Arbitrary<Scenario> = fc.record({
  queue: fc.constantFrom<QueueName>('fifo', 'lifo', 'priority', 'codel', 'fair'),
  limit: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)),
  maxWaitMs: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 100 })),
  ops: fc.array(arbOp, { minLength: 1, maxLength: 40, size: 'medium' }),
  disposeAt: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat({ max: 45 }) }),
});

const ABORTED = new Error('caller aborted');
const FN_FAILED = new Error('fn failed');

interface Call {
  kind: 'execute' | 'acquire';
  issuedAt: number;
  deadline: number | undefined;
  queued: boolean;
  /** Virtual time of admission (fn start or permit in hand), for calls that got a permit through acquire/execute. */
  admittedAt: number | undefined;
  /** Each settlement; exactly one expected. */
  outcomes: { kind: string; at: number }[];
}

/** Runs one scenario, asserts every property, and returns the outcome kinds it produced. */
async function check(s: Scenario): Promise<Set<string>> {
  const manual = new ManualClock();
  // The bulkhead's own timers, told apart from the test's (hold times, aborts).
  const own = new Set<TimerHandle>();
  const clock: Clock = {
    now: () => manual.now(),
    setTimeout(callback, delayMs) {
      const handle: TimerHandle = manual.setTimeout(() => {
        own.delete(handle);
        callback();
      }, delayMs);
      own.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      own.delete(handle);
      manual.clearTimeout(handle);
    },
  };
  // The discipline, watched: which op's call it was handed to queue (exact, where a count of stats would be fooled by a
  // grant or a shed in the same call).
  let currentOp = -1;
  const enqueued = new Set<number>();
  const watched = new Proxy(DISCIPLINES[s.queue]() as QueueDiscipline<QueuedCall>, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      // Methods run on the discipline itself (it compares `this` with what it stored).
      if (key !== 'enqueue') return (value as (...a: unknown[]) => unknown).bind(target);
      return (w: QueuedCall, now: number) => {
        enqueued.add(currentOp);
        return (value as QueueDiscipline<QueuedCall>['enqueue']).call(target, w, now);
      };
    },
  });
  const b = bulkhead({ limit: s.limit, maxQueue: s.maxQueue, maxWaitMs: s.maxWaitMs, queue: watched, clock });
  let limit = s.limit;
  const violations: string[] = [];
  let running = 0; // units of fns running under execute
  let held = 0; // units of permits held by acquire / tryAcquire callers
  const enqueueOrder: number[] = [];
  const admitOrder: number[] = [];
  const calls: Call[] = [];
  /** The call each op index issued (configure ops issue none). */
  const callOf = new Map<number, Call>();

  const expiryOf = (c: Call): number => Math.min(c.issuedAt + s.maxWaitMs, c.deadline ?? Infinity);
  /** At an admission: the units in flight fit the limit in force (a lowered limit never revokes running calls). */
  const admission = (where: string): void => {
    const st = b.stats();
    if (st.inflight > limit) violations.push(`${where}: inflight ${st.inflight} > limit ${limit}`);
    if (running + held > limit) violations.push(`${where}: ${running} running + ${held} held > limit ${limit}`);
    invariant(where);
  };
  const invariant = (where: string): void => {
    if (own.size > 1) violations.push(`${where}: ${own.size} timers armed by the bulkhead`);
  };
  /** At a quiet point (microtasks flushed) the bulkhead's count equals the permits actually held. */
  const quiet = (where: string): void => {
    invariant(where);
    const st = b.stats();
    if (st.inflight !== running + held) violations.push(`${where}: inflight ${st.inflight} != ${running} running + ${held} held`);
    const expiring = calls.filter((c) => c.queued && c.outcomes.length === 0 && c.admittedAt === undefined && expiryOf(c) < Infinity);
    // CoDel's own wake-ups (interval ends, sloughing) also arm the one timer while anyone waits.
    const waiting = s.queue === 'codel' && st.queued > 0;
    if (expiring.length === 0 && !waiting && own.size > 0) violations.push(`${where}: a timer is armed but no waiter can expire`);
  };
  const hold = (ms: number, units: number, permitRelease: () => void): void => {
    held += units;
    admission('admit');
    manual.setTimeout(() => {
      held -= units;
      permitRelease();
      invariant('release');
    }, ms);
  };

  for (let i = 0; i <= s.ops.length; i++) {
    if (s.disposeAt !== undefined && Math.min(s.disposeAt, s.ops.length) === i) b.dispose();
    if (i === s.ops.length) break;
    const op = s.ops[i]!;
    await manual.advance(op.gapMs);
    quiet(`before op ${i}`);
    if (op.kind === 'configure') {
      limit = op.cost;
      b.configure({ limit });
      invariant(`configure ${i}`);
      continue;
    }
    const cost = Math.min(op.cost, limit);
    const call: Call = { kind: op.kind === 'execute' ? 'execute' : 'acquire', issuedAt: manual.now(), deadline: undefined, queued: false, admittedAt: undefined, outcomes: [] };
    calls.push(call);
    callOf.set(i, call);
    const settle = (kind: string): void => {
      call.outcomes.push({ kind, at: manual.now() });
    };
    const classify = (e: unknown): void => {
      if (e === ABORTED) settle('aborted');
      else if (e === FN_FAILED) settle('failed');
      else if (isRejectedError(e)) settle(`refused:${e.code}`);
      else settle(`unexpected:${String(e)}`);
    };

    const perCall: ExecuteOptions = { cost, priority: op.priority, ...(op.tenant === undefined ? {} : { tenant: op.tenant }) };
    if (op.kind === 'tryAcquire') {
      const r = b.tryAcquire(perCall);
      if (r.ok) {
        settle('ok');
        hold(op.holdMs, cost, () => {
          r.permit.release();
          if (op.doubleRelease) r.permit.release();
        });
      } else settle(`refused:${r.reason}`);
      continue;
    }

    const ac = op.abortAfterMs === undefined ? undefined : new AbortController();
    const options: ExecuteOptions = { ...perCall };
    if (ac !== undefined) options.signal = ac.signal;
    if (op.deadlineInMs !== undefined) options.deadline = call.deadline = manual.now() + op.deadlineInMs;
    currentOp = i;
    const p =
      op.kind === 'execute'
        ? b.execute(async () => {
            admitOrder.push(i);
            call.admittedAt = manual.now();
            running += cost;
            admission('fn start');
            await new Promise<void>((resolve) => manual.setTimeout(resolve, op.holdMs));
            running -= cost;
            if (op.throws) throw FN_FAILED;
            return 'done';
          }, options)
        : b.acquire(options).then((permit) => {
            admitOrder.push(i);
            call.admittedAt = manual.now();
            hold(op.holdMs, cost, () => {
              permit.release();
              if (op.doubleRelease) permit.release();
            });
          });
    p.then(() => settle('ok'), classify);
    currentOp = -1;
    if (enqueued.has(i)) {
      call.queued = true;
      enqueueOrder.push(i);
    }
    if (ac !== undefined) {
      if (op.abortAfterMs === 0) ac.abort(ABORTED);
      else manual.setTimeout(() => ac.abort(ABORTED), op.abortAfterMs!);
    }
    invariant(`after op ${i}`);
  }

  await manual.runAll();
  quiet('end');
  const st = b.stats();
  const count = (pred: (k: string) => boolean) => calls.filter((c) => pred(c.outcomes[0]?.kind ?? '')).length;

  // Every call ended exactly once, in a known way.
  expect(calls.filter((c) => c.outcomes.length !== 1)).toEqual([]);
  expect(calls.filter((c) => c.outcomes[0]!.kind.startsWith('unexpected'))).toEqual([]);
  // The stats agree with the callers: refusals one for one; admissions and queue aborts together cover the rest.
  expect(st.rejected).toBe(count((k) => k.startsWith('refused:')));
  expect(st.admitted + st.aborted).toBe(count((k) => k === 'ok' || k === 'failed' || k === 'aborted'));
  expect(st).toMatchObject({ inflight: 0, queued: 0 });
  expect(running + held).toBe(0);
  // Evictions happen at exactly the waiter's expiry, and nobody is admitted at or after theirs.
  for (const c of calls) {
    const o = c.outcomes[0]!;
    const expiry = expiryOf(c);
    if (c.queued && c.admittedAt !== undefined && c.admittedAt >= expiry) {
      violations.push(`call issued at ${c.issuedAt} admitted at ${c.admittedAt}, after its expiry ${expiry}`);
    }
    // Refused at once (never queued: the estimated wait did not fit), or evicted at exactly its expiry.
    if (o.kind === 'refused:MAX_WAIT_EXCEEDED') expect(o.at).toBe(c.queued ? c.issuedAt + s.maxWaitMs : c.issuedAt);
    if (o.kind === 'refused:DEADLINE_EXCEEDED') expect(o.at).toBe(c.queued ? c.deadline : c.issuedAt);
    if (o.kind === 'refused:SHED') expect(c.queued).toBe(true);
  }
  expect(violations).toEqual([]);
  if (s.queue === 'fifo') {
    // FIFO: waiters that were admitted were admitted in the order they queued, and nobody is ever shed.
    // In time; and within each kind in the order observed (at one instant an execute's fn starts at its grant, an
    // acquire's permit is seen a promise reaction later, so across kinds the observed order may differ).
    const queued = new Set(enqueueOrder);
    const admitted = new Set(admitOrder);
    const inQueueOrder = enqueueOrder.filter((i) => admitted.has(i));
    for (let k = 1; k < inQueueOrder.length; k++) {
      expect(callOf.get(inQueueOrder[k]!)!.admittedAt!).toBeGreaterThanOrEqual(callOf.get(inQueueOrder[k - 1]!)!.admittedAt!);
    }
    for (const kind of ['execute', 'acquire']) {
      const ofKind = (i: number): boolean => callOf.get(i)!.kind === kind;
      expect(admitOrder.filter((i) => queued.has(i) && ofKind(i))).toEqual(inQueueOrder.filter(ofKind));
    }
    expect(st.rejectedBy.SHED).toBe(0);
  }
  // No timer left, the bulkhead's or anyone's.
  expect(own.size).toBe(0);
  expect(manual.pendingTimers()).toBe(0);
  const kinds = new Set(calls.map((c) => c.outcomes[0]!.kind));
  if (enqueueOrder.length > 0) kinds.add('queued');
  return kinds;
}

/** Outcomes a meaningful run of the property must have produced at least once. */
const EXPECTED_KINDS = ['ok', 'failed', 'aborted', 'queued', 'refused:CONCURRENCY_LIMITED', 'refused:QUEUE_FULL', 'refused:MAX_WAIT_EXCEEDED', 'refused:DEADLINE_EXCEEDED', 'refused:DISPOSED'];

describe('bulkhead', () => {
  it('keeps in-flight within the limit, releases every permit once, settles every call once, in FIFO order, on one timer', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(arbScenario, async (s) => {
        for (const k of await check(s)) seen.set(k, (seen.get(k) ?? 0) + 1);
      }),
      { seed, numRuns },
    );
    // Coverage guard: the generator still reaches every path (queueing, expiry, abort, dispose, failure).
    if (process.env.BULKHEAD_PROP_STATS !== undefined) console.log(Object.fromEntries(seen));
    if (numRuns >= 100) expect([...EXPECTED_KINDS].filter((k) => !seen.has(k))).toEqual([]);
  });

  it('holds on a fixed schedule that queues, expires, aborts, fails and disposes', async () => {
    const op = (o: Partial<Op>): Op => ({ gapMs: 0, kind: 'execute', cost: 1, priority: 0, tenant: undefined, holdMs: 50, abortAfterMs: undefined, deadlineInMs: undefined, doubleRelease: true, throws: false, ...o });
    const kinds = await check({
      queue: 'fifo',
      limit: 1,
      maxQueue: 3,
      maxWaitMs: 40,
      disposeAt: 7,
      ops: [
        op({}),
        op({ kind: 'acquire' }),
        op({ deadlineInMs: 20 }),
        op({ abortAfterMs: 5 }),
        op({ kind: 'tryAcquire' }),
        op({ gapMs: 60, holdMs: 10, throws: true }),
        op({ kind: 'acquire' }),
        op({ kind: 'acquire' }),
      ],
    });
    expect([...kinds].sort()).toEqual(['aborted', 'failed', 'ok', 'queued', 'refused:CONCURRENCY_LIMITED', 'refused:DEADLINE_EXCEEDED', 'refused:DISPOSED', 'refused:MAX_WAIT_EXCEEDED']);
  });
});
