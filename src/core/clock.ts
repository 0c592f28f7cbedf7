/**
 * Time source used by every sluice primitive.
 *
 * Library code reads time and arms timers only through a `Clock`, so tests and the simulator can drive time by hand.
 * This file and `random.ts` are the only places in `src/` allowed to touch the host's timers and clocks.
 */

/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * A monotonic millisecond clock with one-shot timers.
 *
 * `now()` must never go backwards. Timers fire no earlier than requested, in order of due time and then of
 * arming. A cleared timer never fires.
 *
 * @example
 * ```ts
 * const bucket = tokenBucket({ capacity: 10, refillPerSecond: 5, clock: systemClock });
 * ```
 */
export interface Clock {
  /** Current time in milliseconds (fractional), on a monotonic scale with an arbitrary origin. */
  now(): number;
  /** Calls `callback` once, `delayMs` milliseconds from now (0 when negative). */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer armed by {@link Clock.setTimeout}. Clearing twice, or clearing a fired timer, is a no-op. */
  clearTimeout(handle: TimerHandle): void;
}

const hostSetTimeout = globalThis.setTimeout;
/** Longest delay host timers accept (about 24.8 days). */
const MAX_TIMER_DELAY_MS = 2_147_483_647;
const hostClearTimeout = globalThis.clearTimeout;
const hostPerformance = globalThis.performance;

/**
 * The process clock: `performance.now()` and the host's `setTimeout`.
 *
 * Timers are not `unref`'d: a timer exists only while a caller is waiting on it, and every primitive clears its
 * timer when nothing waits, so an idle process can exit.
 */
export const systemClock: Clock = {
  now: () => hostPerformance.now(),
  // Node fires any delay above 2^31-1 ms after 1 ms; clamp, and let the owner re-arm when it wakes early.
  setTimeout: (callback, delayMs) => hostSetTimeout(callback, delayMs > 0 ? (delayMs < MAX_TIMER_DELAY_MS ? delayMs : MAX_TIMER_DELAY_MS) : 0),
  clearTimeout: (handle) => hostClearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Wall-clock milliseconds since the Unix epoch, for converting HTTP dates (`Retry-After: <date>`) into delays.
 * Kept apart from {@link Clock} on purpose: admission decisions never depend on wall time.
 */
export const wallClockNow = (): number => Date.now();
