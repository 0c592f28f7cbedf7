/**
 * The error a retry policy ends a call with when it retried (or meant to) and then stopped: it says how many attempts
 * were made, why the policy stopped, and keeps the dependency's own last error as `cause`.
 */
import { SluiceError } from '../core/errors.js';

/**
 * Why a retry policy stopped retrying a call:
 * - `maxAttempts`: the call made `maxAttempts` attempts.
 * - `budget`: the retry budget was empty (event `budgetExhausted`).
 * - `deadline`: the next attempt could not start before the call's deadline.
 * - `notRetryable`: `shouldRetry` declined the error, or deciding about the failure threw (a throwing `shouldRetry` or
 *   `backoff`, a backoff returning a bad delay, or a `retryAfterMs` of the error that cannot be read).
 * - `rejected`: an inner sluice policy refused the attempt locally (`isRejectedError`: rate limited, queue full,
 *   circuit open, ...) and `retryRejections` is off.
 * - `retryAfter`: the server or inner policy asked for a wait longer than `maxRetryAfterMs` (or `Infinity`).
 * - `aborted`: the caller's signal aborted (the call rejects with `signal.reason`).
 * - `disposed`: the policy was disposed before the next attempt could start.
 */
export type GiveUpReason = 'maxAttempts' | 'budget' | 'deadline' | 'notRetryable' | 'rejected' | 'retryAfter' | 'aborted' | 'disposed';

/** Every {@link GiveUpReason}, for iteration. */
export const GIVE_UP_REASONS: readonly GiveUpReason[] = Object.freeze([
  'maxAttempts',
  'budget',
  'deadline',
  'notRetryable',
  'rejected',
  'retryAfter',
  'aborted',
  'disposed',
]);

/** The `code` of a {@link RetryExhaustedError}. */
export const RETRY_EXHAUSTED = 'RETRY_EXHAUSTED' as const;

/** Reads `error.message` for a message, whatever `error` is (a getter that throws gives a placeholder). */
function describe(error: unknown): string {
  try {
    if (typeof error === 'object' && error !== null) {
      const m = (error as { message?: unknown }).message;
      if (typeof m === 'string') return m;
    }
    return String(error);
  } catch {
    return 'an error that cannot be printed';
  }
}

const WHY: Record<GiveUpReason, string> = {
  maxAttempts: 'attempts exhausted',
  budget: 'retry budget exhausted',
  deadline: 'the next attempt could not start before the deadline',
  notRetryable: 'the error is not retryable',
  rejected: 'an inner policy refused the attempt',
  retryAfter: 'asked to wait longer than maxRetryAfterMs',
  aborted: 'aborted',
  disposed: 'the retry policy was disposed',
};

/**
 * A retry policy gave up on a call it had retried, or meant to retry: the dependency was called (it is not a local
 * rejection, so it is **not** a `RejectedError` and `isRejectedError` is false for it; it is a `SluiceError`, and
 * `isSluiceError` is true for it).
 *
 * - `attempts`: attempts the call made (first included).
 * - `reason`: why the policy stopped ({@link GiveUpReason}; never `aborted`: an abort rejects with `signal.reason`).
 * - `cause`: the last failure the **dependency** produced: the error its last attempt that reached it threw, or the
 *   result `shouldRetryResult` flagged. A local refusal by an inner policy is never the cause; `cause` is
 *   `undefined` only when no attempt reached the dependency (every attempt was refused locally).
 * - `lastError`: what the last attempt ended with: the same as `cause` when it reached the dependency, otherwise the
 *   local refusal (e.g. the `RateLimitedError` that stopped the retry).
 *
 * Pass `throwLastError: true` to {@link retry} to get `lastError` itself instead (Polly, cockatiel and resilience4j
 * rethrow the last exception; failsafe-go wraps it in `ExceededError` unless `ReturnLastFailure()`).
 *
 * @example
 * ```ts
 * try { await policy.execute(call); }
 * catch (e) {
 *   if (isRetryExhaustedError(e)) log.warn(`gave up after ${e.attempts} attempts (${e.reason})`, e.cause);
 * }
 * ```
 */
export class RetryExhaustedError extends SluiceError {
  /** Always `'RETRY_EXHAUSTED'`. */
  declare readonly code: typeof RETRY_EXHAUSTED;
  /** Attempts the call made, the first included. */
  readonly attempts: number;
  /** Why it stopped retrying. */
  readonly reason: Exclude<GiveUpReason, 'aborted'>;
  /** What the last attempt ended with (a local refusal, or the same value as `cause`). */
  readonly lastError: unknown;
  /** The last failure the dependency produced (an error, or a result flagged by `shouldRetryResult`), or undefined. */
  declare readonly cause: unknown;
  /**
   * The wait the last failure asked for (its `retryAfterMs`: a server's Retry-After, an inner policy's hint), ms, or
   * undefined when it asked for none. With reason `deadline` or `retryAfter` it is why the policy stopped: the wait
   * did not fit the call's deadline, or exceeded `maxRetryAfterMs`. A server can pass it on to its own callers.
   */
  readonly retryAfterMs: number | undefined;

  constructor(policy: string, reason: Exclude<GiveUpReason, 'aborted'>, attempts: number, cause: unknown, lastError: unknown, retryAfterMs?: number) {
    const what = cause === undefined ? describe(lastError) : describe(cause);
    super(RETRY_EXHAUSTED, policy, `${policy}: gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} (${WHY[reason]}): ${what}`, { cause });
    this.attempts = attempts;
    this.reason = reason;
    this.lastError = lastError;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * True when `e` is a {@link RetryExhaustedError} from any copy of sluice: matched on `code` and `policy`, not
 * `instanceof`. Never throws, whatever `e` is.
 * @example
 * ```ts
 * if (isRetryExhaustedError(err)) metrics.increment(`gave_up.${err.reason}`);
 * ```
 */
export function isRetryExhaustedError(e: unknown): e is RetryExhaustedError {
  try {
    return (
      typeof e === 'object' &&
      e !== null &&
      (e as { code?: unknown }).code === RETRY_EXHAUSTED &&
      typeof (e as { policy?: unknown }).policy === 'string' &&
      typeof (e as { attempts?: unknown }).attempts === 'number'
    );
  } catch {
    return false;
  }
}
