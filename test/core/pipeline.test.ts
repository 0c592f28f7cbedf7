import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/core/pipeline.js';
import { RUN, type Policy } from '../../src/core/policy.js';
import type { Clock } from '../../src/core/clock.js';
import type { Context, ExecuteOptions, ExecutionContext, Task } from '../../src/core/context.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { ManualClock } from '../../src/testing/index.js';

/**
 * A minimal Policy that logs entry and exit. It is keyed by `Symbol.for('sluice.run')` directly, as a policy from
 * another copy of sluice would be.
 */
function recorder(name: string, log: string[], clock: Clock): Policy {
  const policy = {
    name,
    clock,
    execute: <T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> => pipeline(policy).execute(fn, options),
    [Symbol.for('sluice.run')]<T>(next: Task<T>, ctx: Context): Promise<T> {
      log.push(`enter ${name}`);
      return Promise.resolve(next(ctx)).finally(() => log.push(`exit ${name}`));
    },
  } as unknown as Policy;
  return policy;
}

describe('pipeline', () => {
  it('composes outermost first: pipeline(a, b, c) runs a around b around c around fn', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const p = pipeline(recorder('a', log, clock), recorder('b', log, clock), recorder('c', log, clock));
    await expect(p.execute(() => log.push('fn'))).resolves.toBe(4);
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'fn', 'exit c', 'exit b', 'exit a']);
  });

  it('with token buckets: the outer bucket decides first, and its refusal never reaches the inner one', async () => {
    const clock = new ManualClock();
    const outer = tokenBucket({ capacity: 1, refillPerSecond: 1, clock, name: 'outer' });
    const inner = tokenBucket({ capacity: 5, refillPerSecond: 1, clock, name: 'inner' });
    const p = pipeline(outer, inner);
    await p.execute(() => 1);
    await expect(p.execute(() => 2)).rejects.toMatchObject({ code: 'RATE_LIMITED', policy: 'outer' });
    expect(outer.stats()).toMatchObject({ admitted: 1, rejected: 1 });
    expect(inner.stats()).toMatchObject({ admitted: 1, rejected: 0 });

    const outer2 = tokenBucket({ capacity: 5, refillPerSecond: 1, clock, name: 'outer2' });
    const inner2 = tokenBucket({ capacity: 1, refillPerSecond: 1, clock, name: 'inner2' });
    const q = pipeline(outer2, inner2);
    await q.execute(() => 1);
    await expect(q.execute(() => 2)).rejects.toMatchObject({ code: 'RATE_LIMITED', policy: 'inner2' });
    expect(outer2.stats().admitted).toBe(2);
  });

  it('a pipeline nested in the middle keeps the order: pipeline(a, pipeline(b, c), d)', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const p = pipeline(recorder('a', log, clock), pipeline(recorder('b', log, clock), recorder('c', log, clock)), recorder('d', log, clock));
    expect(p.name).toBe('pipeline(a, pipeline(b, c), d)');
    await p.execute(() => log.push('fn'));
    expect(log).toEqual(['enter a', 'enter b', 'enter c', 'enter d', 'fn', 'exit d', 'exit c', 'exit b', 'exit a']);
  });

  it("nested pipeline with a queued inner stage still runs each caller's own function (regression: shared context task)", async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 20, clock, name: 'queued' });
    const inner = pipeline(recorder('inner', log, clock), bucket);
    // The same inner pipeline, nested first and last in two outer pipelines and used on its own, all at once.
    const shapes = { first: pipeline(inner, recorder('after', log, clock)), last: pipeline(recorder('before', log, clock), inner), alone: inner };
    const calls: string[] = [];
    const results: Promise<string>[] = [];
    const expected: string[] = [];
    for (const i of [1, 2, 3]) {
      for (const [shape, p] of Object.entries(shapes)) {
        const id = `${shape}${i}`;
        expected.push(id);
        const fn = (ctx: ExecutionContext) => {
          calls.push(id);
          expect(ctx.tenant).toBe(id);
          return id;
        };
        results.push(p.execute(fn, { tenant: id }));
      }
    }
    expect(bucket.stats().queued).toBe(8);
    await clock.advance(10_000);
    await expect(Promise.all(results)).resolves.toEqual(expected);
    expect(calls).toEqual(expected);
    // Each outer layer ran for its own calls only.
    expect(log.filter((l) => l === 'enter after')).toHaveLength(3);
    expect(log.filter((l) => l === 'enter before')).toHaveLength(3);
    expect(log.filter((l) => l === 'enter inner')).toHaveLength(9);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('an outer layer that runs the nested pipeline twice with one context reaches fn exactly twice (context not mutated)', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, initialTokens: 0, maxQueue: 10, clock });
    const log: string[] = [];
    // A hedging layer: starts its inner stage twice at once with the same context.
    const hedge: Policy = {
      name: 'hedge',
      clock,
      execute: (fn, options) => pipeline(hedge).execute(fn, options),
      dispose: () => {},
      [Symbol.dispose]: () => {},
      [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
        return Promise.all([next(ctx), next(ctx)]).then(([first]) => first);
      },
    };
    let calls = 0;
    const p = pipeline(hedge, pipeline(bucket), recorder('after', log, clock));
    const result = p.execute(() => ++calls);
    expect(bucket.stats().queued).toBe(2);
    await clock.advance(5000);
    await expect(result).resolves.toBe(1);
    expect(calls).toBe(2);
    expect(log).toEqual(['enter after', 'exit after', 'enter after', 'exit after']);
  });

  it("hands fn a context built from the call's options", async () => {
    const clock = new ManualClock(100);
    const ac = new AbortController();
    const p = pipeline(recorder('a', [], clock));
    const ctx = await p.execute((c) => c, { signal: ac.signal, priority: 2, tenant: 't', cost: 3, timeoutMs: 50 });
    expect(ctx).toMatchObject({ signal: ac.signal, priority: 2, tenant: 't', cost: 3, deadline: 150, attempt: 1 });
  });

  it('passes results and errors through every layer, which all exit', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const p = pipeline(recorder('a', log, clock), recorder('b', log, clock));
    const boom = new Error('boom');
    await expect(
      p.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(log).toEqual(['enter a', 'enter b', 'exit b', 'exit a']);
  });

  it('is itself a Policy: named after its parts, on their clock', () => {
    const clock = new ManualClock();
    const a = recorder('a', [], clock);
    const p = pipeline(a, recorder('b', [], clock));
    expect(p.name).toBe('pipeline(a, b)');
    expect(p.clock).toBe(clock);
    expect(typeof p[RUN]).toBe('function');
    expect(RUN).toBe(Symbol.for('sluice.run'));
  });

  it('refuses policies on different clocks with a TypeError naming them', () => {
    const a = recorder('a', [], new ManualClock());
    const b = recorder('b', [], new ManualClock());
    expect(() => pipeline(a, b)).toThrow(TypeError);
    expect(() => pipeline(a, b)).toThrow(/"b" uses another clock than "a": pass the same `clock` option to every policy/);
  });

  it('refuses no policies, and anything that is not a policy', () => {
    expect(() => pipeline()).toThrow(TypeError);
    expect(() => pipeline()).toThrow(/needs at least one policy/);
    const a = recorder('a', [], new ManualClock());
    expect(() => pipeline(a, {} as Policy)).toThrow(/argument 1 is not a sluice policy/);
    expect(() => pipeline(null as unknown as Policy)).toThrow(TypeError);
  });

  it('rejects (never throws) a non-function or malformed options', async () => {
    const p = pipeline(recorder('a', [], new ManualClock()));
    await expect(p.execute(42 as never)).rejects.toBeInstanceOf(TypeError);
    await expect(p.execute(() => 1, { timeoutMs: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(p.execute(() => 1, [] as never)).rejects.toBeInstanceOf(TypeError);
  });
});
