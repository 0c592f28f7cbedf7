/**
 * The errors the HTTP integrations raise on their own account: a response they refuse to pass on, and a failure
 * they did not retry because the request could not safely be sent again.
 */
import { SluiceError } from '../core/errors.js';

/** How a response status is treated: passed on, a dependency failure, or the dependency's pushback (overload). */
export type ResponseClass = 'ok' | 'failure' | 'pushback';

/**
 * A response the HTTP integration refused to pass on (code `'HTTP_STATUS'`): a failure (5xx, 408) or the server's
 * pushback (429, 503), after whatever retries were allowed. It carries what the response said: `status`, `headers`,
 * up to `maxErrorBodyBytes` of the body (the rest was cancelled, so the socket went back to the pool) and, when the
 * server asked for one, `retryAfterMs`. Pass `throwOnStatus: false` to get the response itself instead.
 * @example
 * ```ts
 * try { await api('https://api.example.com/orders'); }
 * catch (e) { if (isHttpStatusError(e) && e.status === 429) log.warn(`asked to wait ${e.retryAfterMs} ms`); }
 * ```
 */
export class HttpStatusError extends SluiceError {
  declare readonly code: 'HTTP_STATUS';
  /** The response status. */
  readonly status: number;
  /** The status text, when the server sent one. */
  readonly statusText: string;
  /** The response headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request's method and URL. */
  readonly method: string;
  readonly url: string;
  /** How the status was classified. */
  readonly classification: Exclude<ResponseClass, 'ok'>;
  /** The wait the server asked for (Retry-After, retry-after-ms, or a RateLimit reset with nothing left), ms. */
  readonly retryAfterMs: number | undefined;
  /** The body, as far as it was read (at most `maxErrorBodyBytes`). */
  readonly body: Uint8Array | undefined;
  /** Whether the body was longer than what was kept. */
  readonly bodyTruncated: boolean;
  /** Why a retryable status was not retried (a non-idempotent method, a body that cannot be replayed), or undefined. */
  readonly notRetried: string | undefined;
  /** @internal the integration's own response object, to hand back with `throwOnStatus: false`. */
  readonly response: unknown;

  constructor(
    policy: string,
    init: {
      status: number;
      statusText: string;
      headers: Record<string, string>;
      method: string;
      url: string;
      classification: Exclude<ResponseClass, 'ok'>;
      retryAfterMs: number | undefined;
      body: Uint8Array | undefined;
      bodyTruncated: boolean;
      notRetried?: string;
      response?: unknown;
    },
  ) {
    const hint = init.retryAfterMs === undefined ? '' : `; retry after ${Math.ceil(init.retryAfterMs)} ms`;
    const why = init.notRetried === undefined ? '' : ` (not retried: ${init.notRetried})`;
    super('HTTP_STATUS', policy, `${policy}: ${init.method} ${init.url} answered ${init.status}${init.statusText ? ` ${init.statusText}` : ''}${hint}${why}`);
    this.status = init.status;
    this.statusText = init.statusText;
    this.headers = Object.freeze({ ...init.headers });
    this.method = init.method;
    this.url = init.url;
    this.classification = init.classification;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
    this.bodyTruncated = init.bodyTruncated;
    this.notRetried = init.notRetried;
    Object.defineProperty(this, 'response', { value: init.response, enumerable: false });
  }
}

/**
 * A failure worth retrying (a reset connection, a timeout) that was not retried because the request could not safely
 * be sent again (code `'NOT_RETRIED'`): its method is not idempotent and it has no `Idempotency-Key`, or its body is
 * a stream the first attempt consumed. `reason` says which; `cause` is the failure.
 * @example
 * ```ts
 * catch (e) { if (isNotRetriedError(e)) log.warn(e.reason, e.cause); }
 * ```
 */
export class NotRetriedError extends SluiceError {
  declare readonly code: 'NOT_RETRIED';
  /** Why the request was not sent again. */
  readonly reason: string;
  declare readonly cause: unknown;

  constructor(policy: string, reason: string, cause: unknown) {
    super('NOT_RETRIED', policy, `${policy}: not retried (${reason}): ${describe(cause)}`, { cause });
    this.reason = reason;
  }
}

function describe(e: unknown): string {
  try {
    return typeof e === 'object' && e !== null && typeof (e as Error).message === 'string' ? (e as Error).message : String(e);
  } catch {
    return 'an error that cannot be printed';
  }
}

function hasCode(e: unknown, code: string): boolean {
  try {
    return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code && typeof (e as { policy?: unknown }).policy === 'string';
  } catch {
    return false;
  }
}

/** True when `e` is an {@link HttpStatusError} from any copy of sluice. Never throws. *
 * @example
 * ```ts
 * catch (e) { if (isHttpStatusError(e)) log.warn(e.status, e.retryAfterMs); }
 * ```
 */
export function isHttpStatusError(e: unknown): e is HttpStatusError {
  return hasCode(e, 'HTTP_STATUS');
}

/** True when `e` is a {@link NotRetriedError} from any copy of sluice. Never throws. *
 * @example
 * ```ts
 * catch (e) { if (isNotRetriedError(e)) log.warn(e.reason); }
 * ```
 */
export function isNotRetriedError(e: unknown): e is NotRetriedError {
  return hasCode(e, 'NOT_RETRIED');
}
