/**
 * Typed errors. Backpressure is a value at the bottom (`tryAcquire()` returns `{ ok: false, reason, retryAfterMs }`)
 * and one of these errors at the top (`acquire()` and `execute()` reject with it).
 *
 * Checks go by `code`, not `instanceof`, so they work across duplicate ESM/CJS copies of sluice in one process.
 */

/**
 * Why a call was refused locally, without reaching the protected function.
 *
 * - `RATE_LIMITED`: not enough tokens now, and the caller did not wait.
 * - `QUEUE_FULL`: the wait queue is at its bound.
 * - `MAX_WAIT_EXCEEDED`: the wait would be (or became) longer than `maxWaitMs`.
 * - `DEADLINE_EXCEEDED`: the call cannot start before its deadline, so it is refused at once.
 * - `CONCURRENCY_LIMITED`: every permit is in use and the caller did not wait.
 * - `CIRCUIT_OPEN` / `CIRCUIT_ISOLATED`: a circuit breaker refuses calls.
 * - `SHED`: a queued call was evicted for a more important one.
 * - `THROTTLED`: an adaptive throttle refused the call locally, because the dependency has been refusing a share of
 *   the calls it was sent.
 * - `STORE_UNAVAILABLE`: a limiter whose state lives in a shared store (Redis) could not reach it in time and is set
 *   to fail closed.
 * - `DISPOSED`: the primitive was disposed.
 */
export type RejectionCode =
  | 'RATE_LIMITED'
  | 'QUEUE_FULL'
  | 'MAX_WAIT_EXCEEDED'
  | 'DEADLINE_EXCEEDED'
  | 'CONCURRENCY_LIMITED'
  | 'CIRCUIT_OPEN'
  | 'CIRCUIT_ISOLATED'
  | 'SHED'
  | 'THROTTLED'
  | 'STORE_UNAVAILABLE'
  | 'DISPOSED';

/** Every {@link RejectionCode}, for iteration (stats, exporters). */
export const REJECTION_CODES: readonly RejectionCode[] = Object.freeze([
  'RATE_LIMITED',
  'QUEUE_FULL',
  'MAX_WAIT_EXCEEDED',
  'DEADLINE_EXCEEDED',
  'CONCURRENCY_LIMITED',
  'CIRCUIT_OPEN',
  'CIRCUIT_ISOLATED',
  'SHED',
  'THROTTLED',
  'STORE_UNAVAILABLE',
  'DISPOSED',
]);

const rejectionCodeSet: ReadonlySet<string> = new Set(REJECTION_CODES);

/**
 * Codes of {@link SluiceError}s that are not local rejections: the dependency was called. `TIMEOUT`: it ran past its
 * timeout or deadline; `HTTP_STATUS`: an HTTP integration refused to pass on a response (`HttpStatusError`, from
 * `sluice/http`); `NOT_RETRIED`: a failure worth retrying was not retried because the request could not safely be
 * sent again (`NotRetriedError`); `RETRY_EXHAUSTED`: a retry policy gave up (`RetryExhaustedError`, carrying the dependency's
 * last error as `cause`).
 */
export type FailureCode = 'TIMEOUT' | 'RETRY_EXHAUSTED' | 'HTTP_STATUS' | 'NOT_RETRIED';

/**
 * Base of every error sluice raises on its own account.
 * @example
 * ```ts
 * try { await policy.execute(call); } catch (e) { if (isSluiceError(e)) log(e.code); }
 * ```
 */
export class SluiceError extends Error {
  /** Stable machine-readable code. */
  readonly code: RejectionCode | FailureCode;
  /** Name of the policy instance that raised it. */
  readonly policy: string;

  constructor(code: RejectionCode | FailureCode, policy: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.policy = policy;
    this.name = new.target.name;
  }
}

/**
 * A call refused locally by a sluice policy (it never reached the protected function, or was evicted from a queue).
 * Carries a `retryAfterMs` hint: the earliest time, in milliseconds from the refusal, at which the same call could
 * be admitted if nothing else changed (0 when unknown or immediate).
 *
 * @example
 * ```ts
 * try { await bucket.execute(call); }
 * catch (e) { if (isRejectedError(e)) res.setHeader('Retry-After', Math.ceil(e.retryAfterMs / 1000)); }
 * ```
 */
export class RejectedError extends SluiceError {
  declare readonly code: RejectionCode;
  /** Milliseconds until a retry could succeed; `Infinity` when it never can (e.g. cost above capacity). */
  readonly retryAfterMs: number;

  constructor(code: RejectionCode, policy: string, retryAfterMs: number, message?: string) {
    super(code, policy, message ?? defaultMessage(code, policy, retryAfterMs));
    this.retryAfterMs = retryAfterMs;
  }
}

function defaultMessage(code: RejectionCode, policy: string, retryAfterMs: number): string {
  const hint = retryAfterMs > 0 && Number.isFinite(retryAfterMs) ? `; retry after ${Math.ceil(retryAfterMs)} ms` : '';
  return `${policy}: ${code.toLowerCase().replace(/_/g, ' ')}${hint}`;
}

/** Not enough tokens (token bucket) or no room in the pacing schedule (leaky bucket). */
export class RateLimitedError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('RATE_LIMITED', policy, retryAfterMs, message);
  }
}

/** The wait queue is full. */
export class QueueFullError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('QUEUE_FULL', policy, retryAfterMs, message);
  }
}

/** The wait would exceed the policy's `maxWaitMs`. */
export class MaxWaitExceededError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('MAX_WAIT_EXCEEDED', policy, retryAfterMs, message);
  }
}

/** The call could not start before its deadline. */
export class DeadlineExceededError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('DEADLINE_EXCEEDED', policy, retryAfterMs, message);
  }
}

/** Every concurrency permit is in use. */
export class ConcurrencyLimitedError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('CONCURRENCY_LIMITED', policy, retryAfterMs, message);
  }
}

/** Why a queued call was shed: displaced by an arriving call, or queued too long while the queue was overloaded. */
export type ShedTrigger = 'displaced' | 'queue-delay';

/**
 * A queued call was shed (code `SHED`): the queue was full and its discipline chose this waiter to make room for a
 * call it ranks higher (`trigger: 'displaced'`, with `displacedBy` naming that call's priority and tenant), or a
 * CoDel queue sloughed it because it had waited too long while the queue stayed overloaded (`'queue-delay'`).
 * @example
 * ```ts
 * catch (e) { if (isRejectedError(e) && e.code === 'SHED') metrics.increment('shed'); }
 * ```
 */
export class ShedError extends RejectedError {
  declare readonly code: 'SHED';
  readonly trigger: ShedTrigger;
  /** With `trigger: 'displaced'`: the priority and tenant of the call that took this one's place. */
  readonly displacedBy: { readonly priority: number; readonly tenant: string | undefined } | undefined;

  constructor(
    policy: string,
    retryAfterMs: number,
    trigger: ShedTrigger,
    displacedBy?: { readonly priority: number; readonly tenant: string | undefined },
    message?: string,
  ) {
    super('SHED', policy, retryAfterMs, message ?? shedMessage(policy, retryAfterMs, trigger, displacedBy));
    this.trigger = trigger;
    this.displacedBy = displacedBy === undefined ? undefined : Object.freeze({ priority: displacedBy.priority, tenant: displacedBy.tenant });
  }
}

function shedMessage(policy: string, retryAfterMs: number, trigger: ShedTrigger, by: { priority: number; tenant: string | undefined } | undefined): string {
  const hint = retryAfterMs > 0 && Number.isFinite(retryAfterMs) ? `; retry after ${Math.ceil(retryAfterMs)} ms` : '';
  if (trigger === 'queue-delay') return `${policy}: shed: queued too long while the queue was overloaded${hint}`;
  const who = by === undefined ? 'a newer call' : `a call of priority ${by.priority}${by.tenant === undefined ? '' : ` from tenant "${by.tenant}"`}`;
  return `${policy}: shed: displaced from a full queue by ${who}${hint}`;
}

/** The primitive was disposed; waiters are rejected with this and new calls fail fast. */
export class DisposedError extends RejectedError {
  constructor(policy: string, message?: string) {
    super('DISPOSED', policy, 0, message ?? `${policy}: disposed`);
  }
}

/**
 * The call ran past its timeout or deadline. Not a local rejection: the dependency was too slow, so circuit
 * breakers count it as a failure.
 */
export class TimeoutError extends SluiceError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;
  constructor(policy: string, timeoutMs: number, message?: string) {
    super('TIMEOUT', policy, message ?? `${policy}: timed out after ${Math.round(timeoutMs)} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Builds the error for a rejection code. */
export function rejectionError(code: RejectionCode, policy: string, retryAfterMs: number): RejectedError {
  switch (code) {
    case 'RATE_LIMITED':
      return new RateLimitedError(policy, retryAfterMs);
    case 'QUEUE_FULL':
      return new QueueFullError(policy, retryAfterMs);
    case 'MAX_WAIT_EXCEEDED':
      return new MaxWaitExceededError(policy, retryAfterMs);
    case 'DEADLINE_EXCEEDED':
      return new DeadlineExceededError(policy, retryAfterMs);
    case 'CONCURRENCY_LIMITED':
      return new ConcurrencyLimitedError(policy, retryAfterMs);
    case 'DISPOSED':
      return new DisposedError(policy);
    default:
      return new RejectedError(code, policy, retryAfterMs);
  }
}

function hasStringProps(e: unknown): e is { code: string; policy: string } {
  if (typeof e !== 'object' || e === null) return false;
  // A user's error may be hostile (a getter that throws, a revoked Proxy): classifying it must never throw.
  try {
    return typeof (e as { code?: unknown }).code === 'string' && typeof (e as { policy?: unknown }).policy === 'string';
  } catch {
    return false;
  }
}

/**
 * True when `e` is a local rejection from any copy of sluice: matched on `code` and `policy`, not `instanceof`.
 * Never throws, whatever `e` is (a getter that throws or a revoked Proxy is simply not a rejection).
 * @example
 * ```ts
 * if (isRejectedError(err)) return serveFromCache();
 * ```
 */
export function isRejectedError(e: unknown): e is RejectedError {
  if (!hasStringProps(e)) return false;
  try {
    return rejectionCodeSet.has(e.code) && typeof (e as { retryAfterMs?: unknown }).retryAfterMs === 'number';
  } catch {
    return false; // never throws, whatever `e` is
  }
}

/** True when `e` is a {@link TimeoutError} from any copy of sluice. Never throws, whatever `e` is. */
export function isTimeoutError(e: unknown): e is TimeoutError {
  if (!hasStringProps(e)) return false;
  try {
    return e.code === 'TIMEOUT';
  } catch {
    return false;
  }
}

/**
 * True when `e` is any error sluice raised on its own account (a rejection, a timeout, a retry that gave up), from
 * any copy of sluice. Never throws, whatever `e` is.
 */
export function isSluiceError(e: unknown): e is SluiceError {
  if (isRejectedError(e) || isTimeoutError(e)) return true;
  if (!hasStringProps(e)) return false;
  try {
    return e.code === 'RETRY_EXHAUSTED' || e.code === 'HTTP_STATUS' || e.code === 'NOT_RETRIED';
  } catch {
    return false;
  }
}
