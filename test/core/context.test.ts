import { PRIORITY } from '../../src/core/queue.js';
import { describe, expect, it } from 'vitest';
import { Context, DEFAULT_CONTEXT, NEVER_ABORTED, createContext, executeContext } from '../../src/core/context.js';
import { ManualClock } from '../../src/testing/index.js';

describe('createContext', () => {
  it('without options: a fresh context with the defaults', () => {
    const ctx = createContext('p', new ManualClock(), undefined);
    expect(ctx).toBeInstanceOf(Context);
    expect(ctx).toMatchObject({ signal: NEVER_ABORTED, attempt: 1, deadline: undefined, priority: 0, tenant: undefined, cost: 1, task: undefined, retryDepth: 0 });
    expect(createContext('p', new ManualClock(), undefined)).not.toBe(ctx);
  });

  it('maps the named priority classes to their numbers', () => {
    for (const [name, n] of Object.entries(PRIORITY)) {
      expect(createContext('p', new ManualClock(), { priority: name as keyof typeof PRIORITY }).priority).toBe(n);
    }
    expect(PRIORITY).toEqual({ critical: 200, high: 100, default: 0, low: -100, sheddable: -200 });
    expect(() => createContext('p', new ManualClock(), { priority: 'toString' as never })).toThrow(/must be a finite number or one of "critical"/);
  });

  it('carries signal, priority, tenant, cost and deadline through', () => {
    const ac = new AbortController();
    const ctx = createContext('p', new ManualClock(), { signal: ac.signal, priority: -2.5, tenant: 'acme', cost: 0.25, deadline: 900 });
    expect(ctx).toMatchObject({ signal: ac.signal, priority: -2.5, tenant: 'acme', cost: 0.25, deadline: 900, attempt: 1 });
  });

  it('turns timeoutMs into a deadline on the clock, and keeps the earlier of timeoutMs and deadline', () => {
    const clock = new ManualClock(1000);
    expect(createContext('p', clock, { timeoutMs: 250 }).deadline).toBe(1250);
    expect(createContext('p', clock, { timeoutMs: 0 }).deadline).toBe(1000);
    expect(createContext('p', clock, { timeoutMs: 250, deadline: 1100 }).deadline).toBe(1100);
    expect(createContext('p', clock, { timeoutMs: 250, deadline: 5000 }).deadline).toBe(1250);
  });

  it.each([
    ['signal', { aborted: 'no' }, TypeError],
    ['signal', 'stop', TypeError],
    ['priority', Number.NaN, RangeError],
    ['priority', Infinity, RangeError],
    ['priority', '1', RangeError],
    ['priority', 'urgent', RangeError],
    ['priority', true, TypeError],
    ['tenant', '', TypeError],
    ['tenant', 5, TypeError],
    ['cost', 0, RangeError],
    ['cost', -1, RangeError],
    ['cost', Number.NaN, RangeError],
    ['cost', Infinity, RangeError],
    ['deadline', Number.NaN, RangeError],
    ['deadline', '10', TypeError],
    ['timeoutMs', -1, RangeError],
    ['timeoutMs', Number.NaN, RangeError],
    ['timeoutMs', '5', TypeError],
  ] as const)('rejects %s = %s with an error naming the option and the owner', (option, value, Kind) => {
    const build = () => createContext('myPolicy', new ManualClock(), { [option]: value });
    expect(build).toThrow(Kind);
    expect(build).toThrow(new RegExp(`^myPolicy: option "${option}"`));
  });

  it('rejects an options argument that is not an object', () => {
    expect(() => createContext('p', new ManualClock(), 'fast' as never)).toThrow(TypeError);
    expect(() => createContext('p', new ManualClock(), null as never)).toThrow(/p: options must be an object/);
  });
});

describe('Context', () => {
  it('derive() replaces signal, deadline and attempt and keeps the task, priority, tenant, cost and retry depth', () => {
    const base = new Context(NEVER_ABORTED, 100, 3, 't', 2, 1, 1);
    const task = () => 1;
    base.task = task;
    const ac = new AbortController();
    const next = base.derive(ac.signal, 50, 2);
    expect(next).toMatchObject({ signal: ac.signal, deadline: 50, attempt: 2, priority: 3, tenant: 't', cost: 2, retryDepth: 1 });
    expect(next.task).toBe(task);
    expect(base.derive(NEVER_ABORTED, undefined, 1, 4).retryDepth).toBe(4);
    expect(base).toMatchObject({ deadline: 100, attempt: 1 }); // the original is untouched
  });

  it('NEVER_ABORTED never aborts', () => {
    expect(NEVER_ABORTED.aborted).toBe(false);
  });
});

describe('executeContext', () => {
  const policy = { name: 'p', clock: new ManualClock(10) };

  it('gives the shared frozen DEFAULT_CONTEXT for calls without options', () => {
    expect(executeContext(policy, () => 1, undefined)).toBe(DEFAULT_CONTEXT);
    expect(Object.isFrozen(DEFAULT_CONTEXT)).toBe(true);
    expect(DEFAULT_CONTEXT).toMatchObject({ signal: NEVER_ABORTED, deadline: undefined, cost: 1, attempt: 1 });
  });

  it('builds a context from options', () => {
    const ctx = executeContext(policy, () => 1, { timeoutMs: 5 });
    expect(ctx).toBeInstanceOf(Context);
    expect((ctx as Context).deadline).toBe(15);
  });

  it('never throws: a non-function or bad options come back as a rejected promise', async () => {
    const notFn = executeContext(policy, 'nope', undefined);
    await expect(notFn).rejects.toThrow(/p: execute\(fn\) needs a function, got string/);
    await expect(executeContext(policy, () => 1, { cost: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});
