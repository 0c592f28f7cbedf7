/**
 * The breaker's refusals. Both are {@link RejectedError}s (local rejections), so retries and outer breakers treat
 * them as "refused here", never as a dependency failure; match them with `isRejectedError(e)` and `e.code`.
 */
import { RejectedError } from '../core/errors.js';

/**
 * The circuit is open (or half-open with every probe slot taken): the call was refused without reaching the
 * dependency. Code `CIRCUIT_OPEN`. `retryAfterMs` is the time until the breaker admits a probe again; 0 when it is
 * half-open and waits for a probe to finish (unknown).
 * @example
 * ```ts
 * try { await breaker.execute(call); }
 * catch (e) { if (isRejectedError(e) && e.code === 'CIRCUIT_OPEN') return serveStale(e.retryAfterMs); throw e; }
 * ```
 */
export class BrokenCircuitError extends RejectedError {
  constructor(policy: string, retryAfterMs: number, message?: string) {
    super('CIRCUIT_OPEN', policy, retryAfterMs, message ?? brokenMessage(policy, retryAfterMs));
  }
}

function brokenMessage(policy: string, retryAfterMs: number): string {
  return retryAfterMs > 0
    ? `${policy}: circuit open; next probe in ${Math.ceil(retryAfterMs)} ms`
    : `${policy}: circuit half-open; every probe slot is taken`;
}

/**
 * The circuit was isolated by hand (`breaker.isolate()`): every call is refused until `reset()`. Code
 * `CIRCUIT_ISOLATED`, `retryAfterMs` = `Infinity` (no automatic recovery), so a retry policy gives up at once.
 * @example
 * ```ts
 * breaker.isolate();
 * await breaker.execute(call).catch((e) => e.code); // 'CIRCUIT_ISOLATED'
 * ```
 */
export class IsolatedCircuitError extends RejectedError {
  constructor(policy: string, message?: string) {
    super('CIRCUIT_ISOLATED', policy, Infinity, message ?? `${policy}: circuit isolated; refusing every call until reset()`);
  }
}
