/**
 * Retry family: run a failed call again, without ever causing a retry storm.
 *
 * Plain "retry N times" multiplies load exactly when a dependency can least take it: at a 100 % failure rate every
 * caller sends N+1 attempts, and N-attempt retries nested in three layers send (N+1)³. This family bounds that:
 * - pure, timer-free **backoff** functions (full jitter by default, equal and decorrelated jitter, constant,
 *   exponential, or your own function of the last outcome) spread retries out in time;
 * - pure, timer-free **budgets** ({@link ratioBudget}: retries ≤ a share of requests plus a floor per second;
 *   {@link tokenBudget}: the AWS retry quota) cap retries across every call and every policy that shares them;
 * - the {@link retry} policy enforces both, honours `retryAfterMs` and the call's deadline and signal, does not
 *   retry local rejections unless asked, and makes a single attempt when it runs inside another retry;
 * - when it gives up on a call it retried, {@link RetryExhaustedError} says why (attempts, reason) and keeps the
 *   dependency's last error as `cause`.
 *
 * See docs/retry-budgets.md for why budgets, not just max attempts.
 * @module
 */
export {
  constantBackoff,
  exponentialBackoff,
  fullJitter,
  equalJitter,
  decorrelatedJitter,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  type Backoff,
  type BackoffInput,
  type RetryOutcome,
  type ConstantBackoffOptions,
  type ExponentialBackoffOptions,
  type DecorrelatedJitterOptions,
} from './backoff.js';
export {
  ratioBudget,
  tokenBudget,
  type RetryBudget,
  type RetryBudgetStats,
  type RatioBudget,
  type RatioBudgetOptions,
  type RatioBudgetStats,
  type TokenBudget,
  type TokenBudgetOptions,
  type TokenBudgetStats,
} from './budget.js';
export {
  retry,
  GIVE_UP_REASONS,
  type Retry,
  type RetryOptions,
  type RetryStats,
  type RetryEvents,
  type RetryEvent,
  type GiveUpEvent,
  type GiveUpReason,
  type BudgetExhaustedEvent,
  type NestedRetryEvent,
  type NestedRetryMode,
} from './retry.js';
export { RetryExhaustedError, isRetryExhaustedError } from './errors.js';
