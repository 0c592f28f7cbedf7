/**
 * Helpers shared by the rate-family tests: tracking a call's outcome on the manual clock, checking option errors,
 * and the option cases every queueing limiter validates the same way.
 */
import { expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import type { Clock } from '../../src/core/clock.js';
import { isRejectedError, type RejectionCode } from '../../src/core/errors.js';
import type { AcquireResult, Limiter } from '../../src/core/policy.js';
import type { MetricSample } from '../../src/metrics/registry.js';
import { flushMicrotasks, type ManualClock } from '../../src/testing/index.js';

/** A promise whose settlement (and the clock time of it) is recorded, so no rejection goes unhandled. */
export interface Tracked<T> {
  status: 'pending' | 'fulfilled' | 'rejected';
  value: T | undefined;
  reason: unknown;
  /** Clock time at settlement. */
  at: number | undefined;
  readonly promise: Promise<void>;
}

export function track<T>(clock: Clock, p: Promise<T>, order?: Tracked<unknown>[]): Tracked<T> {
  const t: Tracked<T> = {
    status: 'pending',
    value: undefined,
    reason: undefined,
    at: undefined,
    promise: p.then(
      (value) => {
        t.status = 'fulfilled';
        t.value = value;
        t.at = clock.now();
        order?.push(t as Tracked<unknown>);
      },
      (reason: unknown) => {
        t.status = 'rejected';
        t.reason = reason;
        t.at = clock.now();
        order?.push(t as Tracked<unknown>);
      },
    ),
  };
  return t;
}

/** Asserts that `t` was refused with `code` (and, when given, exactly `retryAfterMs`). */
export function expectRejected(t: Tracked<unknown>, code: RejectionCode, retryAfterMs?: number): void {
  expect(t.status).toBe('rejected');
  expect(isRejectedError(t.reason) && t.reason.code).toBe(code);
  if (retryAfterMs !== undefined && isRejectedError(t.reason)) expect(t.reason.retryAfterMs).toBeCloseTo(retryAfterMs, 9);
}

/** Asserts a `tryAcquire` refusal. */
export function expectRefusal(r: AcquireResult, reason: RejectionCode, retryAfterMs?: number): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  if (retryAfterMs !== undefined) expect(r.retryAfterMs).toBeCloseTo(retryAfterMs, 9);
}

/** Lets promise reactions run without moving the clock: what settles now was decided without waiting. */
export const settleMicrotasks = flushMicrotasks;

/** Runs `build`, expecting it to throw `Kind` with a message naming `option` and showing `shown` (the bad value). */
export function expectOptionError(build: () => unknown, Kind: typeof TypeError | typeof RangeError, option: string, shown?: string): void {
  let error: unknown;
  try {
    build();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Kind);
  const message = (error as Error).message;
  expect(message).toContain(`"${option}"`);
  if (shown !== undefined) expect(message).toContain(`got ${shown}`);
}

/** One invalid option: its name, the bad value, the error class, and how the message shows the value. */
export type OptionCase = readonly [option: string, value: unknown, kind: typeof TypeError | typeof RangeError, shown: string];

/** Rows for `it.each`, named for readable test titles. */
export function optionTable(cases: readonly OptionCase[]) {
  return cases.map(([option, value, Kind, shown]) => ({ option, value, Kind, shown, kind: Kind.name }));
}

/** A required finite number > 0 (a size or a rate): the bad values every such option refuses. */
export function positiveNumberCases(option: string): OptionCase[] {
  return [
    [option, Number.NaN, RangeError, 'NaN'],
    [option, -1, RangeError, '-1'],
    [option, 0, RangeError, '0'],
    [option, Infinity, RangeError, 'Infinity'],
    [option, '2', TypeError, '"2"'],
    [option, null, TypeError, 'null'],
  ];
}

/** A factory refuses an options argument that is not a plain object, with a TypeError naming itself. */
export function expectRejectsNonObjectOptions(factory: (options: never) => unknown, name: string): void {
  for (const bad of [null, 5, 'fast', [1]]) {
    expect(() => factory(bad as never)).toThrow(TypeError);
    expect(() => factory(bad as never)).toThrow(`${name}: options must be an object`);
  }
}

/** One test per bad option: `build(option, value)` must throw the case's error, naming the option and the value. */
export function itRejectsEachOption(cases: readonly OptionCase[], build: (option: string, value: unknown) => unknown): void {
  it.each(optionTable(cases))('rejects $option = $shown with a $kind naming the option and the value', ({ option, value, Kind, shown }) => {
    expectOptionError(() => build(option, value), Kind, option, shown);
  });
}

/** Options of every queueing limiter (name, clock, random, metrics, maxQueue, maxWaitMs, dryRun). */
export const COMMON_OPTION_CASES: readonly OptionCase[] = [
  ['maxQueue', -1, RangeError, '-1'],
  ['maxQueue', 1.5, RangeError, '1.5'],
  ['maxQueue', Number.NaN, RangeError, 'NaN'],
  ['maxQueue', -Infinity, RangeError, '-Infinity'],
  ['maxQueue', '3', TypeError, '"3"'],
  ['maxWaitMs', -1, RangeError, '-1'],
  ['maxWaitMs', Number.NaN, RangeError, 'NaN'],
  ['maxWaitMs', -Infinity, RangeError, '-Infinity'],
  ['maxWaitMs', '100', TypeError, '"100"'],
  ['dryRun', 'yes', TypeError, '"yes"'],
  ['dryRun', 1, TypeError, '1'],
  ['name', '', TypeError, '""'],
  ['name', 5, TypeError, '5'],
  ['clock', {}, TypeError, '{}'],
  ['clock', { now: () => 0 }, TypeError, '{}'],
  ['random', 0.5, TypeError, '0.5'],
  ['metrics', { counter: () => () => {} }, TypeError, '{}'],
];

/** Finds one series in a registry snapshot by name and (a subset of) labels. */
export function findSample(snapshot: MetricSample[], name: string, labels: Record<string, string> = {}): MetricSample | undefined {
  return snapshot.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of a counter or gauge series, or undefined when absent. */
export function sampleValue(snapshot: MetricSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = findSample(snapshot, name, labels);
  return s === undefined || s.type === 'histogram' ? undefined : s.value;
}

/** Asserts a histogram reading within hdr-histogram's precision (3 significant digits) of `expected`. */
export function expectWithinHdr(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(expected * 1e-3);
}

/** Queues 40 waiters of costs 1 to 3, then drains them in `stepMs` steps: never more than one timer armed. */
export async function expectOneTimerWhileDraining(limiter: Limiter, clock: ManualClock, stepMs: number): Promise<void> {
  const calls: Tracked<unknown>[] = [];
  for (let i = 0; i < 40; i++) {
    calls.push(track(clock, limiter.acquire({ cost: 1 + (i % 3) })));
    expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
  }
  for (let step = 0; step < 1000 && calls.some((c) => c.status === 'pending'); step++) {
    await clock.advance(stepMs);
    expect(clock.pendingTimers()).toBeLessThanOrEqual(1);
  }
  expect(calls.every((c) => c.status === 'fulfilled')).toBe(true);
  expect(clock.pendingTimers()).toBe(0);
}

/** 20 waiters share one long-lived signal: one listener each while queued, none once they have been admitted. */
export async function expectNoListenersAfterSettle(limiter: Limiter & { stats(): { queued: number } }, clock: ManualClock): Promise<void> {
  const ac = new AbortController();
  const calls = Array.from({ length: 20 }, () => track(clock, limiter.acquire({ signal: ac.signal })));
  expect(limiter.stats().queued).toBeGreaterThanOrEqual(calls.length - 1);
  expect(getEventListeners(ac.signal, 'abort')).toHaveLength(limiter.stats().queued);
  await clock.runAll();
  expect(calls.every((c) => c.status === 'fulfilled')).toBe(true);
  expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
}

/**
 * With the limiter arranged so that a cost-3 call waits until 3000 ms and each unit takes 1000 ms after that, queues
 * costs 3, 1, 1: the small calls never pass the big head, even when one of them alone would fit (checked at 1000 ms,
 * where `midway` may look further). They are admitted in order at 3000, 4000 and 5000 ms.
 */
export async function expectBigHeadBlocks(limiter: Limiter, clock: ManualClock, midway: () => void = () => {}): Promise<void> {
  const order: Tracked<unknown>[] = [];
  const a = track(clock, limiter.acquire({ cost: 3 }), order);
  const b = track(clock, limiter.acquire({ cost: 1 }), order);
  const c = track(clock, limiter.acquire({ cost: 1 }), order);
  await clock.advance(1000);
  expect(b.status).toBe('pending');
  midway();
  await clock.advance(4000);
  expect(order).toEqual([a, b, c]);
  expect([a.at, b.at, c.at]).toEqual([3000, 4000, 5000]);
}
