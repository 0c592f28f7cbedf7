/**
 * The breaker's states and its saved form: what `exportState()` returns and the `initialState` option accepts, so
 * that a restarted process (or the next serverless invocation) still knows a dependency is down.
 */
import * as v from '../core/validate.js';
import type { SavedBreakerWindow } from './strategies/strategy.js';

/**
 * Where a breaker is:
 * - `closed`: calls pass and their outcomes feed the strategy;
 * - `open`: calls are refused with `CIRCUIT_OPEN` until the open interval ends;
 * - `half-open`: a few probe calls pass; enough successes close the breaker, a failure reopens it;
 * - `isolated`: opened by hand (`isolate()`); refuses with `CIRCUIT_ISOLATED` until `reset()`;
 * - `disabled`: by hand (`disable()`); every call passes and nothing is recorded, until `reset()`.
 */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

/** Every {@link CircuitState}, in the order of their numeric codes (0 = closed ... 4 = disabled). */
export const CIRCUIT_STATES: readonly CircuitState[] = Object.freeze(['closed', 'open', 'half-open', 'isolated', 'disabled']);

/**
 * A breaker's state as plain JSON (`JSON.stringify` it, store it anywhere). Times are durations relative to the
 * export, never clock readings: the clock of a restarted process has another origin.
 * @example
 * ```ts
 * fs.writeFileSync('breaker.json', JSON.stringify(breaker.exportState()));
 * const again = circuitBreaker({ initialState: JSON.parse(fs.readFileSync('breaker.json', 'utf8')) });
 * ```
 */
export interface CircuitBreakerSavedState {
  /** Format version; always 1 for now. */
  readonly version: 1;
  readonly state: CircuitState;
  /** When `open`: ms left, at the export, until the next probe. 0 otherwise. */
  readonly openRemainingMs: number;
  /** Openings since the breaker last closed: drives the growth of the open interval. */
  readonly consecutiveOpens: number;
  /** Openings over the breaker's life. */
  readonly opens: number;
  /** The strategy's window, or `null`. Restored only into a strategy of the same `kind`. */
  readonly window: SavedBreakerWindow | null;
}

const SAVED_KEYS = v.keys('version', 'state', 'openRemainingMs', 'consecutiveOpens', 'opens', 'window');

/**
 * Validates a saved state (typically parsed from JSON of unknown origin). An unknown field is refused (a misspelt
 * or hand-edited state would otherwise restore defaults silently).
 * @throws {TypeError | RangeError} naming the bad field, as `initialState.<field>`.
 */
export function parseSavedState(owner: string, value: unknown): CircuitBreakerSavedState {
  const o = v.optionsObject<Record<string, unknown>>(`${owner}: option "initialState"`, value, SAVED_KEYS);
  if (o.version !== 1) throw new TypeError(`${owner}: option "initialState.version" must be 1, got ${JSON.stringify(o.version)}`);
  const state = v.oneOf(owner, 'initialState.state', o.state, CIRCUIT_STATES);
  const openRemainingMs = v.nonNegative(owner, 'initialState.openRemainingMs', o.openRemainingMs);
  const consecutiveOpens = v.integer(owner, 'initialState.consecutiveOpens', o.consecutiveOpens, 0);
  const opens = v.integer(owner, 'initialState.opens', o.opens, 0);
  const w = o.window;
  if (w !== null && w !== undefined && (typeof w !== 'object' || typeof (w as SavedBreakerWindow).kind !== 'string')) {
    throw new TypeError(`${owner}: option "initialState.window" must be null or an object with a string "kind", got ${JSON.stringify(w)}`);
  }
  return { version: 1, state, openRemainingMs, consecutiveOpens, opens, window: (w ?? null) as SavedBreakerWindow | null };
}
