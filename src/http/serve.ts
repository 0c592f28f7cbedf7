/**
 * Serving pushback to your own callers: a sluice refusal (or an upstream's pushback that sluice passed on) becomes a
 * 503 with `Retry-After`, so the service's callers back off too instead of retrying at once.
 */
import type { ServerResponse } from 'node:http';
import { isRejectedError } from '../core/errors.js';
import { isHttpStatusError } from './errors.js';

/** The response to send for a refusal. */
export interface RejectionResponse {
  readonly status: number;
  /** `retry-after` (whole seconds, rounded up, at least 1) when the refusal carried a finite hint; `content-type`. */
  readonly headers: Readonly<Record<string, string>>;
  /** A short JSON body: `{"error":"<code>","retryAfterMs":<n>}`. */
  readonly body: string;
}

/** Options of {@link rejectionResponse}. */
export interface RejectionResponseOptions {
  /** Status to answer with. Default 503 (Service Unavailable: overloaded, come back later). */
  status?: number;
}

function hintOf(e: unknown): { code: string; retryAfterMs: number | undefined } | undefined {
  try {
    if (isRejectedError(e)) return { code: e.code, retryAfterMs: e.retryAfterMs };
    if (isHttpStatusError(e) && e.classification === 'pushback') return { code: 'UPSTREAM_PUSHBACK', retryAfterMs: e.retryAfterMs };
    if (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'RETRY_EXHAUSTED') {
      const r = (e as { retryAfterMs?: unknown }).retryAfterMs;
      if (typeof r === 'number' && r >= 0) return { code: 'RETRY_EXHAUSTED', retryAfterMs: r };
      const last = (e as { lastError?: unknown }).lastError;
      if (isRejectedError(last) || (isHttpStatusError(last) && last.classification === 'pushback')) return hintOf(last);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * The 503 + `Retry-After` response for an error that means "overloaded, come back later": a local sluice refusal
 * (`isRejectedError`: shed, rate limited, circuit open, ...), an upstream's pushback passed on as an
 * `HttpStatusError`, or a retry that gave up on a server's hint. Undefined for any other error (answer those as you
 * do now). Never throws.
 * @example
 * ```ts
 * const r = rejectionResponse(err);
 * if (r) reply.code(r.status).headers(r.headers).send(r.body); // Fastify
 * ```
 */
export function rejectionResponse(error: unknown, options?: RejectionResponseOptions): RejectionResponse | undefined {
  const h = hintOf(error);
  if (h === undefined) return undefined;
  const status = options?.status ?? 503;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const ms = h.retryAfterMs;
  if (ms !== undefined && Number.isFinite(ms) && ms >= 0) headers['retry-after'] = String(Math.max(1, Math.ceil(ms / 1000)));
  return { status, headers, body: JSON.stringify({ error: h.code, retryAfterMs: ms !== undefined && Number.isFinite(ms) ? Math.ceil(ms) : null }) };
}

/**
 * Answers a node:http (or Express) response with {@link rejectionResponse} when `error` is a refusal, and returns
 * true; returns false (writing nothing) for any other error, or when the headers were already sent.
 * @example
 * ```ts
 * http.createServer(async (req, res) => {
 *   try { res.end(await handle(req)); }
 *   catch (e) { if (!sendRejection(res, e)) { res.statusCode = 500; res.end(); } }
 * });
 * // Express: app.use((err, req, res, next) => sendRejection(res, err) || next(err));
 * ```
 */
export function sendRejection(res: ServerResponse, error: unknown, options?: RejectionResponseOptions): boolean {
  if (res.headersSent) return false;
  const r = rejectionResponse(error, options);
  if (r === undefined) return false;
  res.writeHead(r.status, r.headers);
  res.end(r.body);
  return true;
}
