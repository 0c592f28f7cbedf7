/**
 * `sluice/fetch`: a drop-in fetch (same signature) that runs every request through its origin's policies and feeds
 * them what the server says. Wraps any fetch-compatible function: the global fetch, undici's, a test double.
 */
import { NEVER_ABORTED } from '../core/context.js';
import { reportError } from '../core/safe-call.js';
import type { Keyed } from '../keyed/keyed.js';
import { replayable } from './classify.js';
import { HttpGuard, LazyFacts, NO_HEADERS, RequestRun, parseCallOptions, type HttpCallOptions, type HttpOptions, type HttpRequestFacts, type ResponseView, type Upstream } from './guard.js';
import { isSignalField, type HeaderGetter } from './headers.js';

/** The part of a fetch Response the wrapper reads. */
interface ResponseLike {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null; forEach(cb: (value: string, key: string) => void): void };
  readonly body: { cancel(reason?: unknown): Promise<void>; getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> }; readonly locked?: boolean } | null;
}

/** Any fetch-compatible function. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FetchLike = (input: any, init?: any) => Promise<any>;

/** A request's own sluice settings, given as `init.sluice` (stripped before the request is sent). */
export interface SluiceInit {
  /** See {@link HttpCallOptions}: `timeoutMs`, `deadline`, `priority`, `tenant`, `cost`, `retry: false`. */
  sluice?: HttpCallOptions;
}

/** What {@link protectFetch} returns: the same function type, plus its controls. */
export type ProtectedFetch<F extends FetchLike> = ((input: Parameters<F>[0], init?: Parameters<F>[1] & SluiceInit) => ReturnType<F>) & {
  /** The per-key state: `upstreams.peek(origin)` has the origin's gate, pacer, limiter, breaker and retry. */
  readonly upstreams: Keyed<Upstream>;
  /** Disposes every key's policies; later requests reject with `DisposedError`. */
  dispose(reason?: unknown): void;
  [Symbol.dispose](): void;
};

/** Whether `x` looks like a fetch `Request` (global or undici's). */
function isRequest(x: unknown): x is { url: string; method: string; headers: Headers; body: unknown; signal?: AbortSignal } {
  return typeof x === 'object' && x !== null && typeof (x as { url?: unknown }).url === 'string' && typeof (x as { method?: unknown }).method === 'string' && typeof (x as { headers?: unknown }).headers === 'object';
}

/** A fetch Response as the engine sees it (a class: no closure per response). */
class FetchView implements ResponseView {
  readonly status: number;
  readonly statusText: string;
  constructor(
    private readonly res: ResponseLike,
    private readonly loadHeader: string | undefined,
  ) {
    this.status = res.status;
    this.statusText = res.statusText;
  }
  readonly header = (name: string): string | null => this.res.headers.get(name);
  /** One pass over the names (lower-case in iteration) instead of a search for each signal field the response lacks. */
  get signalHeader(): HeaderGetter {
    let found = false;
    const load = this.loadHeader;
    this.res.headers.forEach((_value, key) => {
      if (!found && isSignalField(key, load)) found = true;
    });
    return found ? this.header : NO_HEADERS;
  }
  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    this.res.headers.forEach((value, key) => {
      out[key] = value;
    });
    return out;
  }
}

/** Cancels a response's body, so its socket goes back to the pool. */
function discard(res: ResponseLike): void {
  const body = res.body;
  if (body === null || body === undefined || body.locked === true) return;
  body.cancel().catch(() => {});
}

/** Reads up to `max` bytes of a body and cancels the rest. Never rejects. */
async function readCapped(res: ResponseLike, max: number): Promise<{ body: Uint8Array | undefined; truncated: boolean }> {
  const stream = res.body;
  if (stream === null || stream === undefined || stream.locked === true) return { body: undefined, truncated: false };
  if (max === 0) {
    stream.cancel().catch(() => {});
    return { body: undefined, truncated: true };
  }
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value === undefined) continue;
      if (total + value.length > max) {
        chunks.push(value.subarray(0, max - total));
        total = max;
        truncated = true;
        reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      total += value.length;
    }
  } catch {
    truncated = true; // the body failed midway (aborted, reset): keep what came
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return { body, truncated };
}

function headerGetter(headers: unknown): HeaderGetter {
  if (headers === undefined || headers === null) return () => null;
  let h: Headers | undefined;
  return (name) => {
    try {
      h ??= headers instanceof Headers ? headers : new Headers(headers as ConstructorParameters<typeof Headers>[0]);
      return h.get(name);
    } catch {
      return null;
    }
  };
}

/**
 * Wraps a fetch function: the result has the same signature and types, and runs every request through its
 * origin's policies (by default: a retry, a circuit breaker, a cooldown gate, a pacing token bucket, an adaptive
 * concurrency limiter and a per-attempt timeout, each per origin, in that order), fed by what the server says.
 *
 * **Closed loop.** A 429 or 503 with `Retry-After` (or `retry-after-ms`) delays that request's retry by at least the
 * server's delay (never less; a delay longer than `retry.maxRetryAfterMs`, 60 s by default, or one that would pass
 * the request's deadline, ends the request at once with the hint as `retryAfterMs`), closes the origin's gate until
 * then for every caller (the others fail fast with `RATE_LIMITED` and the time left, or wait when their deadline
 * allows), and counts as a drop for the adaptive limiter and a failure for the breaker. RateLimit quotas pace the
 * origin's token bucket before the server has to refuse; an `X-Load-Factor` above 0.8 scales its concurrency limit
 * down. See {@link HttpOptions} for every rule and how to change it.
 *
 * **Classification.** 2xx–4xx other than 408 and 429 are passed on as they are. A failure (5xx, 408) or pushback
 * (429, 503) left after the retries rejects with an {@link HttpStatusError} carrying the status, headers, the
 * first `maxErrorBodyBytes` of the body and `retryAfterMs`; with `throwOnStatus: false` the Response itself is
 * returned. Network failures (reset, refused, DNS) and timeouts are retried (when safe) and then rejected as fetch
 * rejects them. Local refusals reject with a `RejectedError` (`RATE_LIMITED`, `CIRCUIT_OPEN`, ...) carrying
 * `retryAfterMs`; aborting the request's signal rejects with its reason at once, wherever the request is.
 *
 * **Safe retries.** Only GET, HEAD, OPTIONS, PUT, DELETE and TRACE, or a request with an `Idempotency-Key` header,
 * are retried; a body that cannot be replayed (a ReadableStream) is never sent twice, and the error says why
 * (`HttpStatusError.notRetried`, or a `NotRetriedError`). The body of a discarded attempt is cancelled, so its socket
 * returns to the pool.
 *
 * @throws {TypeError | RangeError} when `fetchFn` is not a function or an option is invalid (the message names it).
 * @example
 * ```ts
 * import { protectFetch } from 'sluice/fetch';
 * const api = protectFetch(fetch);
 * const res = await api('https://api.example.com/orders', { sluice: { timeoutMs: 2_000 } });
 * ```
 */
export function protectFetch<F extends FetchLike>(fetchFn: F, options?: HttpOptions): ProtectedFetch<F> {
  if (typeof fetchFn !== 'function') throw new TypeError(`protectFetch: fetchFn must be a function (a fetch), got ${fetchFn === null ? 'null' : typeof fetchFn}`);
  const guard = new HttpGuard('protectFetch', options);
  const max = guard.config.maxErrorBodyBytes;
  const keepResponse = !guard.config.throwOnStatus;

  const wrapped = function (input: unknown, init?: Record<string, unknown> & SluiceInit): Promise<unknown> {
    let run: RequestRun<ResponseLike>;
    let sendInit: Record<string, unknown> | undefined = init;
    let userSignal: AbortSignal | undefined;
    try {
      [run, sendInit, userSignal] = prepare(input, init);
    } catch (e) {
      return Promise.reject(e);
    }
    const attemptInitOf = (signal: AbortSignal): Record<string, unknown> | undefined => (signal === NEVER_ABORTED ? sendInit : { ...sendInit, signal });
    return guard.run(run, userSignal, async (ctx, up) => {
      const res = (await fetchFn(input, attemptInitOf(ctx.signal))) as ResponseLike;
      const v = new FetchView(res, guard.config.loadHeader);
      const verdict = run.judge(up, v);
      if (verdict.cls === 'ok') return res;
      if (keepResponse) throw run.refuse(v, verdict, undefined, false, res);
      const { body: kept, truncated } = await readCapped(res, max);
      throw run.refuse(v, verdict, kept, truncated, undefined as unknown as ResponseLike);
    });
  } as unknown as ProtectedFetch<F>;

  function prepare(input: unknown, init: (Record<string, unknown> & SluiceInit) | undefined): [RequestRun<ResponseLike>, Record<string, unknown> | undefined, AbortSignal | undefined] {
    let callOptions: HttpCallOptions | undefined;
    let sendInit: Record<string, unknown> | undefined = init;
    if (init !== undefined && init !== null && init.sluice !== undefined) {
      callOptions = parseCallOptions('protectFetch', init.sluice);
      sendInit = { ...init };
      delete sendInit.sluice;
    }
    const req = isRequest(input) ? input : undefined;
    const url = req !== undefined ? req.url : input instanceof URL ? input.href : String(input);
    const method = String((sendInit?.method as string | undefined) ?? req?.method ?? 'GET').toUpperCase();
    const headers = sendInit?.headers ?? req?.headers;
    const body = sendInit?.body !== undefined ? sendInit.body : req !== undefined && req.body !== null && req.body !== undefined ? req.body : undefined;
    const facts: HttpRequestFacts = new LazyFacts(url, method, headerGetter(headers));
    const userSignal = (sendInit?.signal as AbortSignal | null | undefined) ?? req?.signal ?? undefined;
    return [new RequestRun<ResponseLike>(guard, facts, replayable(body), callOptions, discard), sendInit, userSignal ?? undefined];
  }
  Object.defineProperties(wrapped, {
    upstreams: { value: guard.upstreams },
    dispose: {
      value: (reason?: unknown) => {
        try {
          guard.dispose(reason);
        } catch (e) {
          reportError(e);
        }
      },
    },
    [Symbol.dispose]: { value: () => guard.dispose() },
  });
  return wrapped;
}
