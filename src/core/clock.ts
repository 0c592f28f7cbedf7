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
 * Global (registered) symbol under which the first copy of sluice loaded in a process stores {@link systemClock}.
 * Every later copy (the CommonJS build next to the ESM one, a second install in another `node_modules`) takes that
 * object instead of making its own, so policies from different copies share one default clock and compose in one
 * `pipeline()`, which requires one clock.
 */
const SYSTEM_CLOCK_KEY = Symbol.for('sluice.systemClock');

function isClock(x: unknown): x is Clock {
  const c = x as Clock | null | undefined;
  return typeof c === 'object' && c !== null && typeof c.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function';
}

function ownSystemClock(): Clock {
  return Object.freeze<Clock>({
    now: () => hostPerformance.now(),
    // Node fires any delay above 2^31-1 ms after 1 ms; clamp, and let the owner re-arm when it wakes early.
    setTimeout: (callback, delayMs) => hostSetTimeout(callback, delayMs > 0 ? (delayMs < MAX_TIMER_DELAY_MS ? delayMs : MAX_TIMER_DELAY_MS) : 0),
    clearTimeout: (handle) => hostClearTimeout(handle as ReturnType<typeof setTimeout>),
  });
}

function sharedSystemClock(): Clock {
  const registry = globalThis as { [SYSTEM_CLOCK_KEY]?: unknown };
  const existing = registry[SYSTEM_CLOCK_KEY];
  if (isClock(existing)) return existing;
  const own = ownSystemClock();
  try {
    Object.defineProperty(globalThis, SYSTEM_CLOCK_KEY, { value: own, configurable: false, enumerable: false, writable: false });
  } catch {
    // The key holds something else that cannot be replaced: keep a clock of our own (this copy does not compose).
  }
  return own;
}

/**
 * The process clock: `performance.now()` and the host's `setTimeout`. Frozen, and one object per process: every
 * copy of sluice loaded (ESM and CommonJS builds, or two installs) uses the same `systemClock`, so their policies
 * can share a pipeline.
 *
 * Timers are not `unref`'d: a timer exists only while a caller is waiting on it, and every primitive clears its
 * timer when nothing waits, so an idle process can exit.
 */
export const systemClock: Clock = sharedSystemClock();

/** What {@link coarseClock} needs from the host; injectable so its logic can be tested without real time. */
export interface CoarseClockHost {
  now(): number;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realHost: CoarseClockHost = {
  now: () => hostPerformance.now(),
  setInterval: (callback, ms) => {
    const h = globalThis.setInterval(callback, ms);
    h.unref(); // never keeps the process alive
    return h;
  },
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof setInterval>),
};

/**
 * A cheaper clock that trades precision for speed: `now()` returns a time cached by a ticker every `resolutionMs`
 * instead of reading the host clock (a `performance.now()` read costs about 35–40 ns on a typical VM, more than an
 * uncontended `await fn()`). The same idea as nginx's and Envoy's cached time.
 *
 * Behaviour: `now()` lags real time by at most about `resolutionMs` and never goes backwards. A lagging clock only
 * makes rate limiters more conservative (tokens refill no earlier than they should) and timers fire up to
 * `resolutionMs` late. The ticker runs only while the clock is read: it stops after one tick with no read, and the
 * next read restarts it (that read pays for one real clock read). The ticker is `unref`'d, so it never keeps a
 * process alive. Timers are the host's, like {@link systemClock}'s.
 *
 * Use it for high-throughput limiters where a millisecond of precision does not matter; keep {@link systemClock}
 * (the default) for latency measurement.
 *
 * @param resolutionMs - tick interval in ms, an integer in [1, 1000]. Default 1.
 * @throws {RangeError} when `resolutionMs` is out of range.
 * @example
 * ```ts
 * const clock = coarseClock();
 * const bucket = tokenBucket({ capacity: 1000, refillPerSecond: 500, clock });
 * ```
 */
export function coarseClock(resolutionMs = 1, host: CoarseClockHost = realHost): Clock {
  if (typeof resolutionMs !== 'number' || !Number.isInteger(resolutionMs) || resolutionMs < 1 || resolutionMs > 1000) {
    throw new RangeError(`coarseClock: resolutionMs must be an integer in [1, 1000], got ${String(resolutionMs)}`);
  }
  let cached = host.now();
  let ticker: unknown;
  let running = false;
  let readSinceTick = false;
  const tick = (): void => {
    const t = host.now();
    if (t > cached) cached = t;
    if (!readSinceTick) {
      host.clearInterval(ticker);
      running = false;
    }
    readSinceTick = false;
  };
  return {
    now(): number {
      if (!running) {
        const t = host.now();
        if (t > cached) cached = t;
        ticker = host.setInterval(tick, resolutionMs);
        running = true;
      }
      readSinceTick = true;
      return cached;
    },
    setTimeout: systemClock.setTimeout,
    clearTimeout: systemClock.clearTimeout,
  };
}

/**
 * Wall-clock milliseconds since the Unix epoch, for converting HTTP dates (`Retry-After: <date>`) into delays.
 * Kept apart from {@link Clock} on purpose: admission decisions never depend on wall time.
 */
export const wallClockNow = (): number => Date.now();
