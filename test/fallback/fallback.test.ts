import { describe, expect, it } from 'vitest';
import { fallback } from '../../src/fallback/index.js';
import { timeout } from '../../src/timeout/index.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';
import { RateLimitedError, TimeoutError, isRejectedError } from '../../src/core/errors.js';
import type { ExecutionContext } from '../../src/core/context.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { ManualClock, collectEvents, flushMicrotasks } from '../../src/testing/index.js';

const boom = (): never => {
  throw new Error('boom');
};

describe('fallback', () => {
  it('returns the fallback value when fn throws or rejects', async () => {
    const fb = fallback({ value: 'cached', clock: new ManualClock() });
    await expect(fb.execute(boom)).resolves.toBe('cached');
    await expect(fb.execute(() => Promise.reject(new Error('down')))).resolves.toBe('cached');
    await expect(fb.execute(async () => 'fresh')).resolves.toBe('fresh');
    expect(fb.stats()).toMatchObject({ calls: 3, fallbacks: 2, fallbacksOnResult: 0 });
  });

  it('returns an explicitly given undefined or null value', async () => {
    await expect(fallback({ value: undefined }).execute(boom)).resolves.toBeUndefined();
    await expect(fallback({ value: null }).execute(boom)).resolves.toBeNull();
  });

  it('calls the handler with the error, the context and the kind, and returns what it returns', async () => {
    const seen: Array<[unknown, ExecutionContext, string]> = [];
    const fb = fallback({
      handler: async (error, ctx, kind) => {
        seen.push([error, ctx, kind]);
        return `degraded: ${(error as Error).message}`;
      },
    });
    await expect(fb.execute(boom, { tenant: 't1' })).resolves.toBe('degraded: boom');
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toEqual(new Error('boom'));
    expect(seen[0]![1].tenant).toBe('t1');
    expect(seen[0]![2]).toBe('error');
  });

  it('replaces only the errors the predicate selects and passes others through unchanged', async () => {
    const fb = fallback({ value: 0, when: (e) => e instanceof RangeError });
    await expect(fb.execute(() => Promise.reject(new RangeError('r')))).resolves.toBe(0);
    const other = new TypeError('t');
    await expect(fb.execute(() => Promise.reject(other))).rejects.toBe(other);
    expect(fb.stats()).toMatchObject({ calls: 2, fallbacks: 1 });
  });

  it('rejects with the predicate error when the predicate throws', async () => {
    const bad = new Error('predicate');
    const fb = fallback({
      value: 0,
      when: () => {
        throw bad;
      },
    });
    await expect(fb.execute(boom)).rejects.toBe(bad);
  });

  it('catches local rejections by default: an inner tokenBucket RATE_LIMITED becomes the fallback value', async () => {
    const clock = new ManualClock();
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
    const seen: unknown[] = [];
    const guarded = pipeline(fallback({ handler: (e) => (seen.push(e), 'from cache'), clock }), bucket);
    await expect(guarded.execute(() => 'live')).resolves.toBe('live');
    await expect(guarded.execute(() => 'live')).resolves.toBe('from cache');
    expect(isRejectedError(seen[0])).toBe(true);
    expect(seen[0]).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1_000 });
  });

  it('serves the fallback for a timed-out call at the deadline when placed outside the timeout', async () => {
    const clock = new ManualClock();
    const guarded = pipeline(fallback({ value: 'stale', clock }), timeout({ timeoutMs: 100, clock }));
    let settledAt: number | undefined;
    const p = guarded.execute(() => new Promise<string>(() => {})).then((v) => ((settledAt = clock.now()), v));
    await clock.advance(100);
    await expect(p).resolves.toBe('stale');
    expect(settledAt).toBe(100);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('can select only local rejections with isRejectedError', async () => {
    const fb = fallback({ value: 'shed', when: isRejectedError });
    await expect(fb.execute(() => Promise.reject(new RateLimitedError('bucket', 10)))).resolves.toBe('shed');
    const slow = new TimeoutError('t', 100);
    await expect(fb.execute(() => Promise.reject(slow))).rejects.toBe(slow);
  });

  it('does not swallow the caller abort: abort before start rejects with signal.reason and never calls fn', async () => {
    const fb = fallback({ value: 'x' });
    const reason = new Error('gone');
    let called = 0;
    await expect(fb.execute(() => ++called, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(called).toBe(0);
  });

  it('does not replace a failure that arrives after the caller aborted: it rejects with signal.reason', async () => {
    const fb = fallback({ value: 'x' });
    const ac = new AbortController();
    const reason = new Error('client left');
    const p = fb.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('fn saw the abort')))),
      { signal: ac.signal },
    );
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(fb.stats()).toMatchObject({ fallbacks: 0, aborted: 1 });
  });

  it('falls back on results selected by whenResult, passing the result to the handler', async () => {
    const seen: Array<[unknown, string]> = [];
    const fb = fallback<{ status: number; body: string }>({
      whenResult: (r) => (r as { status: number }).status >= 500,
      handler: (result, _ctx, kind) => (seen.push([result, kind]), { status: 200, body: 'cached' }),
    });
    await expect(fb.execute(async () => ({ status: 200, body: 'live' }))).resolves.toEqual({ status: 200, body: 'live' });
    await expect(fb.execute(async () => ({ status: 503, body: '' }))).resolves.toEqual({ status: 200, body: 'cached' });
    expect(seen).toEqual([[{ status: 503, body: '' }, 'result']]);
    expect(fb.stats()).toMatchObject({ calls: 2, fallbacks: 1, fallbacksOnResult: 1 });
  });

  it('rejects with the handler error when the handler throws or rejects, and counts it', async () => {
    const bad = new Error('no cache either');
    const sync = fallback({
      handler: () => {
        throw bad;
      },
    });
    await expect(sync.execute(boom)).rejects.toBe(bad);
    const async_ = fallback({ handler: () => Promise.reject(bad) });
    await expect(async_.execute(boom)).rejects.toBe(bad);
    expect(sync.stats().handlerErrors).toBe(1);
    expect(async_.stats().handlerErrors).toBe(1);
  });

  it('emits a fallback event only when someone listens, and registers its counters', async () => {
    const metrics = createMetricsRegistry();
    const fb = fallback({ value: 0, whenResult: (r) => r === 'bad', name: 'fb', metrics });
    await fb.execute(boom);
    const events = collectEvents(fb.events, ['fallback']);
    await fb.execute(boom);
    await fb.execute(() => 'bad');
    await flushMicrotasks();
    expect(events.of('fallback')).toEqual([
      { policy: 'fb', kind: 'error', error: new Error('boom'), result: undefined },
      { policy: 'fb', kind: 'result', error: undefined, result: 'bad' },
    ]);
    const count = (on: string) => metrics.snapshot().find((s) => s.name === 'sluice_fallbacks_total' && s.labels.on === on);
    expect(count('error')).toMatchObject({ value: 2 });
    expect(count('result')).toMatchObject({ value: 1 });
    expect(fb.stats()).toEqual({ name: 'fb', calls: 3, fallbacks: 3, fallbacksOnResult: 1, handlerErrors: 0, aborted: 0, rejected: 0, disposed: false });
  });

  it('types execute() on the fallback itself as the union of both results', async () => {
    const fb = fallback({ value: null });
    const r: number | null = await fb.execute(async () => 1);
    expect(r).toBe(1);
  });

  it('validates its options, naming the option', () => {
    expect(() => fallback({} as never)).toThrow(new TypeError('fallback: option "value" or option "handler" is required'));
    expect(() => fallback(undefined as never)).toThrow(new TypeError('fallback: option "value" or option "handler" is required'));
    expect(() => fallback({ value: 1, handler: () => 2 })).toThrow(new TypeError('fallback: give option "value" or option "handler", not both'));
    expect(() => fallback({ handler: 5 as never })).toThrow(new TypeError('fallback: option "handler" must be a function, got 5'));
    expect(() => fallback({ value: 1, when: 'all' as never })).toThrow(new TypeError('fallback: option "when" must be a function, got "all"'));
    expect(() => fallback({ value: 1, whenResult: {} as never })).toThrow(new TypeError('fallback: option "whenResult" must be a function, got {}'));
    expect(() => fallback('x' as never)).toThrow(new TypeError('fallback: options must be an object, got "x"'));
    expect(() => fallback({ value: 1, clock: 5 as never })).toThrow(TypeError);
  });
});
