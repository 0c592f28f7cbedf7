/**
 * Circuit breakers: stop calling a dependency that is down. Retrying or queueing against a dead dependency only
 * burns the caller's time and the dependency's recovery; a breaker notices the failures, refuses calls at once for a
 * short, growing interval, then lets a few probes through and resumes when they succeed.
 *
 * Two layers, as everywhere in sluice: pure, timer-free *strategies* decide when to open from call outcomes
 * (`consecutiveFailures`, `countWindow`, `timeWindow`, `slowCallRate`), and the `circuitBreaker` policy enforces the
 * states (closed, open, half-open, isolated, disabled), classifies outcomes, emits events and keeps stats. The breaker
 * arms no timer: every transition is applied lazily, at its due time, when a call arrives or the state is read.
 * @module
 */
export {
  circuitBreaker,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerStats,
  type CircuitBreakerEvents,
  type CircuitStateChangeEvent,
  type CircuitOpenEvent,
  type CircuitTransitionEvent,
  type CircuitSuccessEvent,
  type CircuitFailureEvent,
  type CircuitTransitionReason,
} from './circuit-breaker.js';
export { BrokenCircuitError, IsolatedCircuitError } from './errors.js';
export { CIRCUIT_STATES, type CircuitState, type CircuitBreakerSavedState } from './state.js';
export { consecutiveFailures, type ConsecutiveFailuresOptions } from './strategies/consecutive-failures.js';
export { countWindow, MAX_COUNT_WINDOW_SIZE, type CountWindowOptions } from './strategies/count-window.js';
export { timeWindow, MAX_TIME_WINDOW_BUCKETS, type TimeWindowOptions } from './strategies/time-window.js';
export { slowCallRate, type SlowCallRateOptions } from './strategies/slow-call-rate.js';
export type { BreakerStrategy, BreakerWindowStats, SavedBreakerWindow, BreakerTripReason, BreakerRateOptions } from './strategies/strategy.js';
export { adaptiveThrottle, throttleProbability, type AdaptiveThrottle, type AdaptiveThrottleOptions, type AdaptiveThrottleStats } from './adaptive-throttle.js';
