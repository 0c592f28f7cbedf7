/**
 * How the HTTP integrations judge a response or an error (pure functions; every rule can be overridden through the
 * options of `sluice/fetch`, `sluice/undici` and `sluice/axios`).
 */
import { isTimeoutError } from '../core/errors.js';
import type { ResponseClass } from './errors.js';

/**
 * The default class of a status: 429 and 503 are the server's **pushback** (overload: a drop for the adaptive
 * limiter, a failure for the breaker, retried after the server's delay); the other 5xx and 408 are **failures**;
 * everything else (2xx, 3xx, the other 4xx) is **ok**: passed on, the server answered.
 * @example
 * ```ts
 * classifyStatus(503); // 'pushback'
 * classifyStatus(404); // 'ok'
 * ```
 */
export function classifyStatus(status: number): ResponseClass {
  if (status === 429 || status === 503) return 'pushback';
  if (status === 408 || (status >= 500 && status <= 599)) return 'failure';
  return 'ok';
}

/** Statuses retried by default: 408, 429, 500, 502, 503, 504 (not 501 or 505, which do not heal by waiting). */
export const RETRYABLE_STATUSES: readonly number[] = Object.freeze([408, 429, 500, 502, 503, 504]);

/** Methods retried by default (RFC 9110 §9.2.2 idempotent methods). */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Error codes of a failed connection or exchange: the request may not have been processed, and a retry may work. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ERR_NETWORK',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Whether `e` is a network failure: a reset, refused or timed-out connection, a socket hang-up or a DNS failure,
 * seen on the error or up to four levels of its `cause` (undici's fetch wraps them in `TypeError('fetch failed')`,
 * axios in an `AxiosError` with the same `code`). Never throws.
 * @example
 * ```ts
 * try { await fetch(url); } catch (e) { if (isNetworkError(e)) log.warn('connection failed', e); }
 * ```
 */
export function isNetworkError(e: unknown): boolean {
  let x = e;
  for (let depth = 0; depth < 5 && typeof x === 'object' && x !== null; depth++) {
    try {
      const code = (x as { code?: unknown }).code;
      if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
      const message = (x as { message?: unknown }).message;
      if (typeof message === 'string' && (message === 'socket hang up' || message === 'other side closed')) return true;
      x = (x as { cause?: unknown }).cause;
    } catch {
      return false;
    }
  }
  return false;
}

/** Whether an error is a failure worth retrying: a network failure or a sluice timeout. Never throws. * @example
 * ```ts
 * retry({ shouldRetry: isRetryableError });
 * ```
 */
export function isRetryableError(e: unknown): boolean {
  try {
    return isNetworkError(e) || isTimeoutError(e);
  } catch {
    return false;
  }
}

/** Whether a request body can be sent again: true for none or a buffered one, else why not. * @example
 * ```ts
 * replayable('{"a":1}'); // true
 * replayable(new ReadableStream()); // 'the body is a ReadableStream, which the first attempt consumed'
 * ```
 */
export function replayable(body: unknown): true | string {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) return 'the body is a ReadableStream, which the first attempt consumed';
  if (typeof body === 'object' && (typeof (body as { pipe?: unknown }).pipe === 'function' || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function')) {
    return 'the body is a stream, which the first attempt consumed';
  }
  return true;
}
