/**
 * `sluice/undici`: the HTTP closed loop as an undici interceptor (`Dispatcher.compose`), so `undici.request`, a
 * custom `Agent`, and the global fetch through `setGlobalDispatcher` all go through it. undici is an optional peer:
 * this module only imports its types.
 */
import type { Dispatcher } from 'undici';
import { reportError } from '../core/safe-call.js';
import type { Keyed } from '../keyed/keyed.js';
import { replayable } from './classify.js';
import { HttpGuard, LazyFacts, NO_HEADERS, RequestRun, parseCallOptions, type HttpCallOptions, type HttpOptions, type HttpRequestFacts, type ResponseView, type Upstream, type Verdict } from './guard.js';
import { isSignalField, type HeaderGetter } from './headers.js';

type Headers = Record<string, string | string[] | undefined>;

/** The new-style (undici 7) handler interface, the only one this module speaks inward. */
interface Controller {
  abort(reason: unknown): void;
  pause(): void;
  resume(): void;
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: unknown;
}
interface Handler {
  onRequestStart?(controller: Controller, context: unknown): void;
  onResponseStart?(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: Headers): void;
  onResponseError?(controller: Controller, error: unknown): void;
}

/** A legacy handler (`onConnect`, `onHeaders`, `onData`, `onComplete`, `onError`, as undici's request and fetch pass) seen as a new one. */
class LegacyHandler implements Handler {
  constructor(private readonly h: Record<string, ((...args: unknown[]) => unknown) | undefined>) {}
  onRequestStart(controller: Controller, context: unknown): void {
    this.h.onConnect?.((reason: unknown) => controller.abort(reason), context);
  }
  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    const raw: Buffer[] = [];
    for (const [k, val] of Object.entries(headers)) {
      if (val === undefined) continue;
      for (const one of Array.isArray(val) ? val : [val]) raw.push(Buffer.from(k, 'latin1'), Buffer.from(one, 'latin1'));
    }
    this.h.onResponseStarted?.();
    if (this.h.onHeaders?.(statusCode, raw, () => controller.resume(), statusMessage) === false) controller.pause();
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.h.onData?.(chunk) === false) controller.pause();
  }
  onResponseEnd(_controller: Controller, trailers: Headers): void {
    const raw: Buffer[] = [];
    for (const [k, val] of Object.entries(trailers)) if (val !== undefined) raw.push(Buffer.from(k, 'latin1'), Buffer.from(String(val), 'latin1'));
    this.h.onComplete?.(raw);
  }
  onResponseError(_controller: Controller, error: unknown): void {
    this.h.onError?.(error);
  }
}

function toHandler(h: unknown): Handler {
  return typeof (h as Handler).onRequestStart === 'function' ? (h as Handler) : new LegacyHandler(h as Record<string, (...args: unknown[]) => unknown>);
}

type AbortListener = ((event: unknown) => void) | { handleEvent(event: unknown): void };

/**
 * The controller the client's handler sees, one for the whole request whichever attempt is under it, and the
 * request's signal for the policies. A plain object, not an AbortController: an EventTarget costs about 2 µs to
 * create on Node 20, and all this needs is a flag, a reason and the few listeners the policies add.
 */
class RequestController implements Controller {
  current: Controller | undefined = undefined;
  private isAborted = false;
  private why: unknown = undefined;
  private listeners: AbortListener[] | undefined = undefined;
  /** The signal the policies watch (the shape sluice accepts as `signal`: aborted, reason, add/removeEventListener). */
  readonly signal: LiteSignal = new LiteSignal(this);
  /** @internal for LiteSignal. */
  listen(l: AbortListener): void {
    (this.listeners ??= []).push(l);
  }
  /** @internal for LiteSignal. */
  unlisten(l: AbortListener): void {
    const ls = this.listeners;
    if (ls === undefined) return;
    const i = ls.indexOf(l);
    if (i >= 0) ls.splice(i, 1);
  }
  /** The request's run, whose attempt in flight an abort ends. */
  run: RequestRun<unknown> | undefined = undefined;
  abort(reason: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.why = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.run?.abandon(this.why);
    const ls = this.listeners;
    this.listeners = undefined;
    if (ls === undefined) return;
    const event = { type: 'abort', target: this.signal };
    for (const l of ls) {
      try {
        if (typeof l === 'function') l(event);
        else l.handleEvent(event);
      } catch (e) {
        reportError(e);
      }
    }
  }
  pause(): void {
    this.current?.pause();
  }
  resume(): void {
    this.current?.resume();
  }
  get aborted(): boolean {
    return this.isAborted;
  }
  get paused(): boolean {
    return this.current?.paused ?? false;
  }
  get reason(): unknown {
    return this.why;
  }
}

/** The request's signal: what sluice reads of an AbortSignal, on a prototype (no object literal with accessors per request). */
class LiteSignal {
  constructor(private readonly owner: RequestController) {}
  get aborted(): boolean {
    return this.owner.aborted;
  }
  get reason(): unknown {
    return this.owner.reason;
  }
  addEventListener(_type: string, l: AbortListener): void {
    this.owner.listen(l);
  }
  removeEventListener(_type: string, l: AbortListener): void {
    this.owner.unlisten(l);
  }
}

/** A refused response kept whole (its body up to the cap), to replay to the client with `throwOnStatus: false`. */
interface Kept {
  readonly status: number;
  readonly statusMessage: string | undefined;
  readonly headers: Headers;
  readonly body: Buffer;
}

const PASSED = Symbol('passed');

function getter(headers: unknown): HeaderGetter {
  if (headers === null || headers === undefined) return () => undefined;
  if (Array.isArray(headers)) {
    // [name, value, name, value, ...]
    return (name) => {
      for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
      return undefined;
    };
  }
  const h = headers as Record<string, unknown>;
  return (name) => {
    for (const k of Object.keys(h)) {
      if (k.toLowerCase() !== name) continue;
      const x = h[k];
      return Array.isArray(x) ? x.join(', ') : x === undefined || x === null ? undefined : String(x);
    }
    return undefined;
  };
}

/** Response headers as undici hands them over: lower-case names, so a lookup by a lower-case name is a property read. */
function lowerCaseGetter(headers: Headers): HeaderGetter {
  return (name) => {
    const x = headers[name];
    return x === undefined ? undefined : Array.isArray(x) ? x.join(', ') : x;
  };
}

/**
 * Whether a response may carry a signal field (Retry-After, a RateLimit family, the load-factor header): one pass
 * over its few names, so that the usual response is not searched for each field it lacks.
 */
function maySignal(headers: Headers, loadHeader: string | undefined): boolean {
  for (const k in headers) if (isSignalField(k, loadHeader)) return true;
  return false;
}

function viewOf(status: number, statusMessage: string | undefined, headers: Headers, loadHeader: string | undefined): ResponseView {
  const get = lowerCaseGetter(headers);
  return {
    status,
    statusText: statusMessage ?? '',
    header: (name) => get(name.toLowerCase()),
    signalHeader: maySignal(headers, loadHeader) ? get : NO_HEADERS,
    headers: () => {
      const out: Record<string, string> = {};
      for (const [k, val] of Object.entries(headers)) if (val !== undefined) out[k.toLowerCase()] = Array.isArray(val) ? val.join(', ') : String(val);
      return out;
    },
  };
}

/** One attempt's handler: passes an accepted response straight through, buffers a refused one (up to the cap). */
class AttemptHandler implements Handler {
  private mode: 'wait' | 'pass' | 'buffer' = 'wait';
  private verdict: Verdict | undefined;
  private view: ResponseView | undefined;
  private status = 0;
  private statusMessage: string | undefined;
  private headers: Headers = {};
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;
  private truncated = false;
  private ctl: Controller | undefined;
  private abandoned: unknown = undefined;
  private isAbandoned = false;

  constructor(
    private readonly run: RequestRun<Kept>,
    private readonly up: Upstream,
    private readonly user: Handler,
    private readonly proxy: RequestController,
    private readonly max: number,
    private readonly resolve: (x: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  /**
   * Ends this attempt's request: the policies moved on without it (a timeout raced it, the caller aborted). Through
   * undici's controller, so no attempt needs an AbortSignal of its own (reading `ctx.signal` under a timeout would
   * create one per attempt).
   */
  abandon(reason: unknown): void {
    this.isAbandoned = true;
    this.abandoned = reason ?? new Error('sluice: attempt abandoned');
    this.ctl?.abort(this.abandoned);
  }

  onRequestStart(controller: Controller): void {
    this.ctl = controller;
    if (this.isAbandoned) controller.abort(this.abandoned);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    // An answer to an attempt the policies already moved on from (the abort raced it) reaches nobody.
    if (this.isAbandoned) {
      controller.abort(this.abandoned);
      return;
    }
    const view = viewOf(statusCode, statusMessage, headers, this.run.guard.config.loadHeader);
    const verdict = this.run.judge(this.up, view);
    if (verdict.cls === 'ok') {
      this.mode = 'pass';
      this.run.committed = true;
      this.proxy.current = controller;
      this.user.onResponseStart?.(this.proxy, statusCode, headers, statusMessage);
      return;
    }
    this.mode = 'buffer';
    this.verdict = verdict;
    this.view = view;
    this.status = statusCode;
    this.statusMessage = statusMessage;
    this.headers = headers;
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.isAbandoned) return;
    if (this.mode === 'pass') {
      this.user.onResponseData?.(this.proxy, chunk);
      return;
    }
    const room = this.max - this.size;
    const chunks = (this.chunks ??= []);
    if (chunk.length > room) {
      this.truncated = true;
      if (room > 0) chunks.push(chunk.subarray(0, room));
      this.size = this.max;
    } else {
      chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    this.done();
    if (this.isAbandoned && this.mode !== 'pass') {
      this.reject(this.abandoned);
      return;
    }
    if (this.mode === 'pass') {
      this.user.onResponseEnd?.(this.proxy, trailers);
      this.resolve(PASSED);
      return;
    }
    const body = Buffer.concat(this.chunks ?? []);
    const kept: Kept = { status: this.status, statusMessage: this.statusMessage, headers: this.headers, body };
    this.reject(this.run.refuse(this.view!, this.verdict!, new Uint8Array(body), this.truncated, kept));
  }

  onResponseError(_controller: Controller, error: unknown): void {
    this.done();
    if (this.mode === 'pass' && !this.run.userDone) {
      this.run.userDone = true;
      this.user.onResponseError?.(this.proxy, error);
    }
    this.reject(error);
  }

  private done(): void {
    if (this.run.current === this) this.run.current = undefined;
  }
}

/** What {@link sluiceInterceptor} returns: an interceptor for `Dispatcher.compose`, with its controls. */
export type SluiceInterceptor = Dispatcher.DispatcherComposeInterceptor & {
  /** The per-key state (see `protectFetch().upstreams`). */
  readonly upstreams: Keyed<Upstream>;
  /** Disposes every key's policies; later requests fail with `DisposedError`. */
  dispose(reason?: unknown): void;
};

/**
 * Creates an undici interceptor with the behaviour of `protectFetch()` (see its documentation and
 * {@link HttpOptions}): every request runs through its origin's policies, which the server's pushback (Retry-After,
 * RateLimit quotas, load factor) steers for every caller at once. An accepted response streams straight through to
 * the caller; a refused one (a failure or pushback status) is buffered up to `maxErrorBodyBytes`, so that it can be
 * retried or handed on: as an `HttpStatusError` (the default), or, with `throwOnStatus: false`, replayed to the
 * caller as the response. Once a response has started reaching the caller it is never retried. Per-request
 * settings go in the dispatch options as `sluice: { timeoutMs, priority, ... }` (undici's `request()` passes
 * unknown options through). Upgrades and CONNECT pass through untouched.
 *
 * @throws {TypeError | RangeError} on an invalid option (the message names it).
 * @example
 * ```ts
 * import { Agent, setGlobalDispatcher, request } from 'undici';
 * import { sluiceInterceptor } from 'sluice/undici';
 * const agent = new Agent().compose(sluiceInterceptor());
 * setGlobalDispatcher(agent); // global fetch goes through it too
 * const { statusCode, body } = await request('https://api.example.com/orders', { dispatcher: agent });
 * ```
 */
export function sluiceInterceptor(options?: HttpOptions): SluiceInterceptor {
  const guard = new HttpGuard('sluiceInterceptor', options);
  const max = guard.config.maxErrorBodyBytes;
  const interceptor = ((dispatch: Dispatcher['dispatch']) =>
    function sluiceDispatch(opts: Dispatcher.DispatchOptions & { sluice?: HttpCallOptions }, handler: Dispatcher.DispatchHandler): boolean {
      if (opts.upgrade || opts.method === 'CONNECT') return dispatch(opts, handler);
      const user = toHandler(handler);
      const proxy = new RequestController();
      let run: RequestRun<Kept>;
      let send: Dispatcher.DispatchOptions;
      try {
        const callOptions = parseCallOptions('sluiceInterceptor', opts.sluice);
        // Copied only to strip `sluice`: a copy made with `delete` would be a slow dictionary-mode object for undici.
        if (opts.sluice === undefined) send = opts;
        else {
          const { sluice: _own, ...rest } = opts;
          send = rest;
        }
        const facts: HttpRequestFacts = new LazyFacts(opts.path, String(opts.method).toUpperCase(), getter(opts.headers), String(opts.origin));
        run = new RequestRun<Kept>(guard, facts, replayable(opts.body), callOptions, () => {});
      } catch (e) {
        user.onRequestStart?.(proxy, {});
        user.onResponseError?.(proxy, e);
        return true;
      }
      proxy.run = run as RequestRun<unknown>;
      user.onRequestStart?.(proxy, {});
      guard
        .run<unknown>(run as RequestRun<unknown>, proxy.signal as unknown as AbortSignal, (_ctx, up) =>
          new Promise((resolve, reject) => {
            const h = new AttemptHandler(run, up, user, proxy, max, resolve, reject);
            run.current = h;
            try {
              dispatch(send, h as unknown as Dispatcher.DispatchHandler);
            } catch (e) {
              reject(e);
            }
          }),
        )
        .then(
          (outcome) => {
            if (outcome === PASSED) return;
            // throwOnStatus: false handed back a refused response: replay it to the caller.
            const k = outcome as Kept;
            user.onResponseStart?.(proxy, k.status, k.headers, k.statusMessage);
            if (k.body.length > 0) user.onResponseData?.(proxy, k.body);
            user.onResponseEnd?.(proxy, {});
          },
          (e: unknown) => {
            if (run.userDone) return;
            run.userDone = true;
            user.onResponseError?.(proxy, e);
          },
        )
        .catch(reportError);
      return true;
    }) as unknown as SluiceInterceptor;
  Object.defineProperties(interceptor, {
    upstreams: { value: guard.upstreams },
    dispose: { value: (reason?: unknown) => guard.dispose(reason) },
  });
  return interceptor;
}
