/**
 * `sluice/axios`: the HTTP closed loop as an axios adapter. An adapter (not interceptors) because it sits where each
 * attempt happens: retries re-run the underlying adapter with the already-transformed body, the request's signal
 * reaches every attempt, and the policies see each attempt's own outcome. axios is an optional peer: this module
 * only imports its types.
 */
import type { AxiosAdapter, AxiosInstance, AxiosResponse, AxiosStatic, InternalAxiosRequestConfig } from 'axios';
import type { Keyed } from '../keyed/keyed.js';
import { NEVER_ABORTED } from '../core/context.js';
import { replayable } from './classify.js';
import { HttpGuard, LazyFacts, NO_HEADERS, RequestRun, parseCallOptions, type HttpCallOptions, type HttpOptions, type HttpRequestFacts, type ResponseView, type Upstream } from './guard.js';
import { isSignalField, type HeaderGetter } from './headers.js';

/** The request's own sluice settings, as `config.sluice`. */
declare module 'axios' {
  interface AxiosRequestConfig {
    /** Per-request sluice settings (see `HttpCallOptions`). */
    sluice?: HttpCallOptions;
  }
}

/** What {@link axiosAdapter} returns: an axios adapter, with its controls. */
export type SluiceAxiosAdapter = AxiosAdapter & {
  /** The per-key state (see `protectFetch().upstreams`). */
  readonly upstreams: Keyed<Upstream>;
  /** Disposes every key's policies; later requests reject with `DisposedError`. */
  dispose(reason?: unknown): void;
};

/** An outcome axios itself would reject with (a status its `validateStatus` refuses), carried as a value. */
class Rejection {
  constructor(readonly error: unknown) {}
}

function headerGetter(headers: unknown): HeaderGetter {
  if (headers === null || typeof headers !== 'object') return () => undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  return (name) => {
    let x: unknown;
    if (typeof h.get === 'function') x = h.get(name);
    else {
      for (const k of Object.keys(h)) if (k.toLowerCase() === name) x = h[k];
    }
    return Array.isArray(x) ? x.join(', ') : x === undefined || x === null || x === false ? undefined : String(x);
  };
}

function viewOf(res: AxiosResponse, loadHeader: string | undefined): ResponseView {
  const get = headerGetter(res.headers);
  let may = false;
  const raw = res.headers as unknown as Record<string, unknown> | undefined;
  if (raw !== null && typeof raw === 'object') for (const k in raw) if (isSignalField(k.toLowerCase(), loadHeader)) may = true;
  return {
    status: res.status,
    statusText: res.statusText ?? '',
    header: get,
    signalHeader: may ? get : NO_HEADERS,
    headers: () => {
      const out: Record<string, string> = {};
      const raw = res.headers as unknown as { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
      const plain = typeof raw.toJSON === 'function' ? raw.toJSON() : raw;
      for (const [k, x] of Object.entries(plain)) if (x !== undefined && x !== null) out[k.toLowerCase()] = Array.isArray(x) ? x.join(', ') : String(x);
      return out;
    },
  };
}

/** The body of a refused response, as bytes, cut to `max`. */
function bodyBytes(data: unknown, max: number): { body: Uint8Array | undefined; truncated: boolean } {
  let bytes: Uint8Array | undefined;
  if (typeof data === 'string') bytes = new TextEncoder().encode(data);
  else if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (data !== undefined && data !== null && typeof (data as { pipe?: unknown }).pipe !== 'function') {
    try {
      bytes = new TextEncoder().encode(JSON.stringify(data));
    } catch {
      bytes = undefined;
    }
  }
  if (bytes === undefined) return { body: undefined, truncated: false };
  return bytes.length > max ? { body: bytes.slice(0, max), truncated: true } : { body: bytes, truncated: false };
}

/** Destroys a streamed response body (`responseType: 'stream'`), so its socket is freed. */
function discard(x: unknown): void {
  const res = x instanceof Rejection ? (x.error as { response?: AxiosResponse }).response : (x as AxiosResponse | undefined);
  const data = res?.data as { destroy?: () => void } | undefined;
  if (data !== undefined && data !== null && typeof data.destroy === 'function') data.destroy();
}

function fullUrl(config: InternalAxiosRequestConfig): string {
  const url = config.url ?? '';
  const base = config.baseURL;
  if (base !== undefined && base !== '' && !/^([a-z][a-z\d+\-.]*:)?\/\//i.test(url)) return `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
  return url;
}

/**
 * Wraps an axios adapter (`axios.getAdapter('http')`, or any other) with the behaviour of `protectFetch()` (see its
 * documentation and {@link HttpOptions}): every request runs through its origin's policies, steered by the server's
 * pushback. axios's own semantics are kept: a status your `validateStatus` refuses still rejects with axios's
 * `AxiosError` when sluice passes it on (404, say); a failure or pushback left after the retries rejects with an
 * `HttpStatusError` (or, with `throwOnStatus: false`, ends as axios would have ended it). Per-request settings go
 * in `config.sluice`. The request's `signal` is combined with sluice's deadline; `cancelToken` is not watched (use
 * `signal`). An aborted request rejects as axios rejects aborts (a `CanceledError`).
 *
 * @throws {TypeError | RangeError} when `adapter` is not a function or an option is invalid (the message names it).
 * @example
 * ```ts
 * import axios from 'axios';
 * import { axiosAdapter } from 'sluice/axios';
 * const api = axios.create({ adapter: axiosAdapter(axios.getAdapter('http')) });
 * const { data } = await api.get('https://api.example.com/orders', { sluice: { timeoutMs: 2_000 } });
 * ```
 */
export function axiosAdapter(adapter: AxiosAdapter, options?: HttpOptions): SluiceAxiosAdapter {
  if (typeof adapter !== 'function') throw new TypeError(`axiosAdapter: adapter must be an axios adapter function (axios.getAdapter('http')), got ${adapter === null ? 'null' : typeof adapter}`);
  const guard = new HttpGuard('axiosAdapter', options);
  const max = guard.config.maxErrorBodyBytes;
  const wrapped = (async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const callOptions = parseCallOptions('axiosAdapter', config.sluice);
    const facts: HttpRequestFacts = new LazyFacts(fullUrl(config), String(config.method ?? 'get').toUpperCase(), headerGetter(config.headers));
    const run = new RequestRun<AxiosResponse | Rejection>(guard, facts, replayable(config.data), callOptions, discard);
    const signal = config.signal as AbortSignal | undefined;
    const outcome = await guard.run<AxiosResponse | Rejection>(run, signal, async (ctx, up) => {
      const attempt: InternalAxiosRequestConfig = ctx.signal === NEVER_ABORTED ? config : { ...config, signal: ctx.signal };
      let res: AxiosResponse;
      let rejection: Rejection | undefined;
      try {
        res = await adapter(attempt);
      } catch (e) {
        const r = (e as { response?: AxiosResponse } | undefined)?.response;
        if (r === undefined || typeof r.status !== 'number') throw e;
        res = r;
        rejection = new Rejection(e);
      }
      const v = viewOf(res, guard.config.loadHeader);
      const verdict = run.judge(up, v);
      const result = rejection ?? res;
      if (verdict.cls === 'ok') return result;
      const { body, truncated } = bodyBytes(res.data, max);
      throw run.refuse(v, verdict, body, truncated, result);
    });
    if (outcome instanceof Rejection) throw outcome.error;
    return outcome;
  }) as SluiceAxiosAdapter;
  Object.defineProperties(wrapped, {
    upstreams: { value: guard.upstreams },
    dispose: { value: (reason?: unknown) => guard.dispose(reason) },
  });
  return wrapped;
}

/**
 * Installs {@link axiosAdapter} on an axios instance, around the adapter it uses now (resolved with
 * `getAdapter`, which you pass: `axios.getAdapter`). Returns the instance.
 * @example
 * ```ts
 * const api = protectAxios(axios.create({ baseURL: 'https://api.example.com' }), axios.getAdapter);
 * ```
 */
export function protectAxios<I extends AxiosInstance>(instance: I, getAdapter: AxiosStatic['getAdapter'], options?: HttpOptions): I & { readonly sluice: SluiceAxiosAdapter } {
  const base = getAdapter(instance.defaults.adapter ?? ['xhr', 'http', 'fetch']);
  const adapter = axiosAdapter(base, options);
  instance.defaults.adapter = adapter;
  Object.defineProperty(instance, 'sluice', { value: adapter });
  return instance as I & { readonly sluice: SluiceAxiosAdapter };
}
