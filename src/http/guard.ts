/**
 * The engine the HTTP integrations share: one {@link Upstream} per key (origin by default), holding the policies every
 * caller of that dependency goes through, and the closed loop that feeds them what the server says: a Retry-After
 * closes the key's cooldown gate for every caller, RateLimit quotas pace its token bucket, a load factor scales its
 * adaptive limit, and 429/503 count as drops and failures.
 */
import { wallClockNow, type Clock } from '../core/clock.js';
import { DisposedError, isTimeoutError } from '../core/errors.js';
import { executeContext, type ExecuteOptions, type ExecutionContext, type Task } from '../core/context.js';
import { COMMON_KEYS, callTask, parseCommon, type CommonOptions } from '../core/limiter-base.js';
import type { PermitOutcome } from '../core/permit.js';
import { pipeline } from '../core/pipeline.js';
import { KIND, RUN, type Policy } from '../core/policy.js';
import { reportError } from '../core/safe-call.js';
import type { Context } from '../core/context.js';
import * as v from '../core/validate.js';
import { defaultPolicyName } from '../core/telemetry.js';
import { keyed, type Keyed, type KeyInfo } from '../keyed/keyed.js';
import { adaptiveLimiter, type AdaptiveLimiter, type AdaptiveLimiterOptions } from '../concurrency/adaptive-limiter.js';
import { circuitBreaker, type CircuitBreaker, type CircuitBreakerOptions } from '../breaker/circuit-breaker.js';
import { cooldown, type Cooldown, type CooldownOptions } from '../rate/cooldown.js';
import { tokenBucket, type TokenBucket } from '../rate/token-bucket.js';
import { retry, type Retry, type RetryOptions } from '../retry/retry.js';
import { timeout } from '../timeout/timeout.js';
import type { Metrics } from '../metrics/metrics.js';
import { IDEMPOTENT_METHODS, RETRYABLE_STATUSES, classifyStatus, isNetworkError, isRetryableError } from './classify.js';
import { HttpStatusError, NotRetriedError, isHttpStatusError, isNotRetriedError, type ResponseClass } from './errors.js';
import { NO_SIGNALS, signalsOf, type HeaderGetter, type ServerSignals } from './headers.js';

/** What the key function and the classifiers see of a request. */
export interface HttpRequestFacts {
  /** Upper-case method. */
  readonly method: string;
  /** The absolute URL (parsed on first read). */
  readonly url: URL;
  /** The URL's origin (`https://api.example.com`, `http://127.0.0.1:8080`): the default key. */
  readonly origin: string;
  /** Reads a request header (case-insensitive). */
  readonly header: HeaderGetter;
}

/** Retry settings of the HTTP integrations (see {@link HttpOptions.retry}). */
export interface HttpRetryOptions extends Pick<RetryOptions, 'maxAttempts' | 'backoff' | 'budget' | 'maxRetryAfterMs' | 'throwLastError'> {
  /** Methods retried. Default `IDEMPOTENT_METHODS` (GET, HEAD, OPTIONS, PUT, DELETE, TRACE). */
  methods?: readonly string[];
  /** Statuses retried (when their class is not `ok`). Default `RETRYABLE_STATUSES` (408, 429, 500, 502, 503, 504). */
  statuses?: readonly number[];
  /** Whether a request with an `Idempotency-Key` header is retried whatever its method. Default true. */
  idempotencyKey?: boolean;
}

/** Load-factor settings (see {@link HttpOptions.loadFactor}). */
export interface LoadFactorOptions {
  /** The response header carrying it. Default `'x-load-factor'`. */
  header?: string;
  /** Reads the load factor from any header instead (a number ≥ 0; 1 = at capacity), or undefined when absent. */
  read?: (header: HeaderGetter) => number | undefined;
  /** The load the limit aims the server at: above it the limit is scaled by `target / load`. In (0, 10]. Default 0.8. */
  target?: number;
}

/** Options shared by `protectFetch()`, `sluiceInterceptor()` and `axiosAdapter()`. */
export interface HttpOptions extends CommonOptions {
  /** The key of a request: whose policies it goes through. Default: its origin (`https://api.example.com:443`). */
  key?: (request: HttpRequestFacts) => string;
  /** Most keys with live state (see `keyed()`): the least recently used idle key is evicted beyond it. Default 1000. */
  maxKeys?: number;
  /** A key unused this long, ms, is evicted. Default 600 000 (10 minutes). */
  idleMs?: number;
  /**
   * Retries: `false` for none. Default: 3 attempts with full-jitter backoff, never sooner than the server's
   * `Retry-After` (a longer wait than `maxRetryAfterMs`, default 60 000 ms, is not waited: the call fails with the
   * hint), idempotent methods only, and a token retry budget per key.
   */
  retry?: HttpRetryOptions | false;
  /** The key's circuit breaker: options, or `false` for none. Default `circuitBreaker()`'s defaults. */
  breaker?: Omit<CircuitBreakerOptions, 'name' | 'clock' | 'metrics' | 'random'> | false;
  /** The key's adaptive concurrency limiter: options, or `false` for none. Default `adaptiveLimiter()`'s defaults. */
  concurrency?: Omit<AdaptiveLimiterOptions, 'name' | 'clock' | 'metrics' | 'random' | 'classify'> | false;
  /**
   * The key's cooldown gate, closed by a 429/503's Retry-After (and by a RateLimit quota with nothing left) for
   * every caller: options, or `false` for none. Default: calls with a deadline wait for the opening if it comes in
   * time, the others fail fast with `RATE_LIMITED` and the time left.
   */
  cooldown?: Omit<CooldownOptions, 'name' | 'clock' | 'metrics' | 'random'> | false;
  /**
   * Whether RateLimit quotas pace the key's token bucket (remaining quota spread evenly until the reset). Calls wait
   * for their turn up to `maxWaitMs` (default 30 000) or their deadline. `false` for no pacing. Default `{}`.
   */
  pacing?: { maxWaitMs?: number; maxQueue?: number } | false;
  /** The server's load-factor signal: options, or `false` to ignore it. Default `{ header: 'x-load-factor', target: 0.8 }`. */
  loadFactor?: LoadFactorOptions | false;
  /** Longest one attempt may take, ms (until the response's headers, for fetch). `Infinity` for none. Default 30 000. */
  attemptTimeoutMs?: number;
  /** Default budget of a whole request, retries and waits included, ms. Default none. */
  timeoutMs?: number;
  /**
   * A refused response (a failure or pushback status left after the retries) rejects with an
   * {@link HttpStatusError} (`true`, the default), or is returned as the response (`false`).
   */
  throwOnStatus?: boolean;
  /** The class of a response, overriding {@link classifyStatus}; return undefined to keep the default. */
  classify?: (status: number, header: HeaderGetter, request: HttpRequestFacts) => ResponseClass | undefined;
  /** Most bytes of a refused response's body kept on the error; the rest is cancelled. Default 65 536. */
  maxErrorBodyBytes?: number;
  /** Wall-clock time in ms since 1970, for HTTP dates in headers. Default `Date.now`. */
  wallClock?: () => number;
}

/** Per-request settings, given in the request (`init.sluice` for fetch, `config.sluice` for axios). */
export interface HttpCallOptions extends Pick<ExecuteOptions, 'priority' | 'tenant' | 'deadline' | 'timeoutMs' | 'cost'> {
  /** `false` to never retry this request. */
  retry?: boolean;
}

const KNOWN = v.keys(
  ...COMMON_KEYS,
  'key',
  'maxKeys',
  'idleMs',
  'retry',
  'breaker',
  'concurrency',
  'cooldown',
  'pacing',
  'loadFactor',
  'attemptTimeoutMs',
  'timeoutMs',
  'throwOnStatus',
  'classify',
  'maxErrorBodyBytes',
  'wallClock',
);
const RETRY_KNOWN = v.keys('maxAttempts', 'backoff', 'budget', 'maxRetryAfterMs', 'throwLastError', 'methods', 'statuses', 'idempotencyKey');
const PACING_KNOWN = v.keys('maxWaitMs', 'maxQueue');
const LOAD_KNOWN = v.keys('header', 'read', 'target');
const CALL_KNOWN = v.keys('priority', 'tenant', 'deadline', 'timeoutMs', 'cost', 'retry');

/** A token bucket setting that admits everything (used while the server reports no quota). */
const UNPACED = { capacity: 1e15, refillPerSecond: 1e12 } as const;
/** Lowest factor a load signal scales the limit by. */
const MIN_SCALE = 0.01;

/**
 * The state one key (one dependency) keeps: its policies, outermost first (retry, breaker, cooldown gate, pacing
 * bucket, adaptive limiter, attempt timeout), and what the server last said. Made by the HTTP integrations, one
 * per key; read it through their `upstreams`.
 * @example
 * ```ts
 * const up = api.upstreams.peek('https://api.example.com');
 * log.info({ closedForMs: up?.gate?.stats().remainingMs, limit: up?.limiter?.stats().effectiveLimit, circuit: up?.breaker?.state });
 * ```
 */
export class Upstream implements Policy {
  readonly [KIND] = 'upstream';
  readonly name: string;
  readonly clock: Clock;
  readonly retry: Retry | undefined;
  readonly breaker: CircuitBreaker | undefined;
  readonly gate: Cooldown | undefined;
  readonly pacer: TokenBucket | undefined;
  readonly limiter: AdaptiveLimiter | undefined;
  private readonly run: Policy;
  /** Until when the pacer follows a server quota (clock time); after it, with no new quota, pacing stops. */
  private pacedUntil = -Infinity;

  /** Whether the pacer follows a server quota now (a response without one may end it). */
  get paced(): boolean {
    return this.pacedUntil !== -Infinity;
  }

  constructor(
    readonly key: string,
    info: KeyInfo,
    private readonly config: ParsedHttp,
  ) {
    this.name = info.name;
    this.clock = info.clock;
    const common = { name: info.name, clock: info.clock, metrics: info.metrics, random: config.random };
    const parts: Policy[] = [];
    if (config.retry !== undefined) {
      const r = config.retry;
      this.retry = retry({
        ...common,
        maxAttempts: r.maxAttempts,
        backoff: r.backoff,
        budget: r.budget,
        maxRetryAfterMs: r.maxRetryAfterMs,
        throwLastError: r.throwLastError,
        shouldRetry: (e) => retryableFailure(e),
      });
      parts.push(this.retry);
    }
    if (config.breaker !== undefined) parts.push((this.breaker = circuitBreaker({ ...config.breaker, ...common })));
    if (config.cooldown !== undefined) parts.push((this.gate = cooldown({ ...config.cooldown, ...common })));
    if (config.pacing !== undefined) parts.push((this.pacer = tokenBucket({ ...UNPACED, ...config.pacing, ...common })));
    if (config.concurrency !== undefined) parts.push((this.limiter = adaptiveLimiter({ ...config.concurrency, ...common, classify: limiterOutcome })));
    if (config.attemptTimeoutMs !== Infinity) parts.push(timeout({ ...common, timeoutMs: config.attemptTimeoutMs }));
    this.run = parts.length === 0 ? passThrough(info.clock) : parts.length === 1 ? parts[0]! : pipeline(...parts);
  }

  /**
   * Feeds the policies what a response said: a pushback's wait (or an exhausted quota's reset) closes the gate for
   * every caller; a quota paces the bucket; a load factor scales the limit.
   */
  observe(cls: ResponseClass, signals: ServerSignals, now: number): void {
    const quota = signals.quota;
    if (this.gate !== undefined) {
      let until: number | undefined;
      if (cls === 'pushback' && signals.retryAfterMs !== undefined) until = now + signals.retryAfterMs;
      else if (quota !== undefined && quota.remaining === 0 && quota.resetMs !== undefined && quota.resetMs > 0) until = now + quota.resetMs;
      if (until !== undefined) this.gate.closeUntil(until);
    }
    if (this.pacer !== undefined) this.pace(quota, now);
    if (this.limiter !== undefined && signals.loadFactor !== undefined) {
      const target = this.config.loadTarget;
      const f = signals.loadFactor;
      this.limiter.scaleLimit(f <= target ? 1 : Math.max(MIN_SCALE, target / f));
    }
  }

  private pace(quota: ServerSignals['quota'], now: number): void {
    const pacer = this.pacer!;
    if (quota === undefined) {
      if (this.pacedUntil !== -Infinity && now >= this.pacedUntil) {
        this.pacedUntil = -Infinity;
        pacer.configure(UNPACED);
      }
      return;
    }
    // Remaining quota spread evenly until the reset; without a reset, the policy's own quota per window.
    let perSecond: number | undefined;
    let horizonMs: number | undefined;
    if (quota.resetMs !== undefined && quota.resetMs > 0) {
      perSecond = quota.remaining / (quota.resetMs / 1000);
      horizonMs = quota.resetMs;
    } else if (quota.limit !== undefined && quota.windowMs !== undefined && quota.windowMs > 0) {
      perSecond = quota.limit / (quota.windowMs / 1000);
      horizonMs = quota.windowMs;
    }
    if (perSecond === undefined || horizonMs === undefined) return;
    if (!(perSecond >= 1e-6)) return; // nothing left: the gate holds the callers until the reset
    const rate = Math.min(perSecond, 1e12);
    // A burst of at most one second's pace (and at least one request), never more than what is left.
    const capacity = Math.max(1, Math.min(Math.ceil(rate), Math.max(1, quota.remaining)));
    const tokens = Math.min(pacer.stats().tokens, capacity, quota.remaining);
    pacer.configure({ capacity, refillPerSecond: rate, tokens: Math.max(0, tokens) });
    this.pacedUntil = now + horizonMs;
  }

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    return this.run.execute(fn, options);
  }

  [RUN]<T>(next: Task<T>, ctx: Context): Promise<T> {
    // Through execute(), with the context as its options, so that the pipeline takes its fused path.
    return this.run.execute(next, ctx);
  }

  dispose(reason?: unknown): void {
    this.run.dispose(reason);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A policy that runs the task as it is (a key whose every policy is switched off): no racer, so no signal of its own. */
function passThrough(clock: Clock): Policy {
  let disposed = false;
  const p: Policy = {
    name: 'passThrough',
    clock,
    execute: <T>(fn: Task<T>, options?: ExecuteOptions) => {
      const ctx = executeContext(p, fn, options);
      return ctx instanceof Promise ? ctx : p[RUN](fn, ctx);
    },
    [RUN]: <T>(next: Task<T>, ctx: Context) => (disposed ? Promise.reject(new DisposedError('passThrough')) : callTask(next, ctx)),
    dispose: () => {
      disposed = true;
    },
    [Symbol.dispose]: () => {
      disposed = true;
    },
  };
  return p;
}

/** The retry rule: statuses flagged retryable, network failures and timeouts; never what was marked not to retry. */
function retryableFailure(e: unknown): boolean {
  if (isHttpStatusError(e)) return (e as HttpStatusError & { [RETRYABLE]?: boolean })[RETRYABLE] === true;
  if (isNotRetriedError(e)) return false;
  return isRetryableError(e);
}

/** How a failed attempt ends for the adaptive limiter: pushback, network failures and timeouts are drops. */
function limiterOutcome(e: unknown): PermitOutcome | undefined {
  const x = isNotRetriedError(e) ? (e as NotRetriedError).cause : e;
  if (isHttpStatusError(x)) return (x as HttpStatusError).classification === 'pushback' ? 'drop' : undefined;
  if (isNetworkError(x) || isTimeoutError(x)) return 'drop';
  return undefined;
}

/** Marks an HttpStatusError as one the key's retry may retry (set by the engine, per request). */
const RETRYABLE: unique symbol = Symbol('sluice.http.retryable');

/** Parsed {@link HttpOptions}. */
export interface ParsedHttp {
  readonly name: string;
  readonly clock: Clock;
  readonly random: CommonOptions['random'];
  readonly metrics: Metrics | undefined;
  readonly key: ((request: HttpRequestFacts) => string) | undefined;
  readonly maxKeys: number | undefined;
  readonly idleMs: number | undefined;
  readonly retry: (Omit<HttpRetryOptions, 'methods' | 'statuses'> & { methods: ReadonlySet<string>; statuses: ReadonlySet<number>; idempotencyKey: boolean; maxRetryAfterMs: number }) | undefined;
  readonly breaker: CircuitBreakerOptions | undefined;
  readonly concurrency: AdaptiveLimiterOptions | undefined;
  readonly cooldown: CooldownOptions | undefined;
  readonly pacing: { maxWaitMs?: number; maxQueue?: number } | undefined;
  readonly loadHeader: string | undefined;
  readonly loadRead: ((header: HeaderGetter) => number | undefined) | undefined;
  readonly loadTarget: number;
  readonly attemptTimeoutMs: number;
  readonly timeoutMs: number | undefined;
  readonly throwOnStatus: boolean;
  readonly classify: HttpOptions['classify'];
  readonly maxErrorBodyBytes: number;
  readonly wallClock: () => number;
}

function parseRetry(owner: string, x: unknown): ParsedHttp['retry'] {
  if (x === false) return undefined;
  const r = v.optionsObject<HttpRetryOptions>(`${owner}: option "retry"`, x ?? {}, RETRY_KNOWN);
  const methods = v.opt(r.methods, IDEMPOTENT_METHODS, (m) => {
    if (!Array.isArray(m) || !m.every((s) => typeof s === 'string' && s.length > 0)) throw new TypeError(`${owner}: option "retry.methods" must be an array of method names, got ${v.describeValue(m)}`);
    return m as string[];
  });
  const statuses = v.opt(r.statuses, RETRYABLE_STATUSES, (m) => {
    if (!Array.isArray(m) || !m.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) throw new RangeError(`${owner}: option "retry.statuses" must be an array of statuses in [100, 599], got ${v.describeValue(m)}`);
    return m as number[];
  });
  return {
    maxAttempts: r.maxAttempts,
    backoff: r.backoff,
    budget: r.budget,
    throwLastError: r.throwLastError,
    maxRetryAfterMs: v.opt(r.maxRetryAfterMs, 60_000, (m) => v.nonNegativeOrInfinity(owner, 'retry.maxRetryAfterMs', m)),
    methods: new Set(methods.map((m) => m.toUpperCase())),
    statuses: new Set(statuses),
    idempotencyKey: v.opt(r.idempotencyKey, true, (b) => v.bool(owner, 'retry.idempotencyKey', b)),
  };
}

function subOptions<T extends object>(owner: string, option: string, x: unknown): T | undefined {
  if (x === false) return undefined;
  return v.optionsObject<T>(`${owner}: option "${option}"`, x ?? {}) as T;
}

/** Validates {@link HttpOptions} (the policies' own options are validated by their factories, on the first key). */
export function parseHttpOptions(owner: string, options: HttpOptions | undefined): ParsedHttp {
  const o = v.optionsObject<HttpOptions>(owner, options ?? {}, KNOWN);
  const common = parseCommon(owner, o);
  const load = o.loadFactor === false ? undefined : v.optionsObject<LoadFactorOptions>(`${owner}: option "loadFactor"`, o.loadFactor ?? {}, LOAD_KNOWN);
  const pacing = o.pacing === false ? undefined : v.optionsObject<{ maxWaitMs?: number; maxQueue?: number }>(`${owner}: option "pacing"`, o.pacing ?? {}, PACING_KNOWN);
  const parsed: ParsedHttp = {
    // The keyed policy registers the name (kind 'keyed'): number the default against those.
    name: o.name === undefined ? defaultPolicyName('keyed', common.metrics, owner) : common.name,
    clock: common.clock,
    random: o.random,
    metrics: common.metrics,
    key: v.opt(o.key, undefined, (x) => v.func<(r: HttpRequestFacts) => string>(owner, 'key', x)),
    maxKeys: o.maxKeys,
    idleMs: o.idleMs,
    retry: parseRetry(owner, o.retry),
    breaker: subOptions<CircuitBreakerOptions>(owner, 'breaker', o.breaker),
    concurrency: subOptions<AdaptiveLimiterOptions>(owner, 'concurrency', o.concurrency),
    cooldown: subOptions<CooldownOptions>(owner, 'cooldown', o.cooldown),
    pacing: pacing === undefined ? undefined : { maxQueue: 1000, maxWaitMs: 30_000, ...pacing },
    loadHeader: load === undefined ? undefined : v.opt(load.header, 'x-load-factor', (x) => v.name(owner, 'loadFactor.header', x).toLowerCase()),
    loadRead: load === undefined ? undefined : v.opt(load.read, undefined, (x) => v.func<(h: HeaderGetter) => number | undefined>(owner, 'loadFactor.read', x)),
    loadTarget: load === undefined ? 1 : v.opt(load.target, 0.8, (x) => v.between(owner, 'loadFactor.target', x, Number.MIN_VALUE, 10)),
    attemptTimeoutMs: v.opt(o.attemptTimeoutMs, 30_000, (x) => (x === Infinity ? Infinity : v.positive(owner, 'attemptTimeoutMs', x))),
    timeoutMs: v.opt(o.timeoutMs, undefined, (x) => v.nonNegative(owner, 'timeoutMs', x)),
    throwOnStatus: v.opt(o.throwOnStatus, true, (x) => v.bool(owner, 'throwOnStatus', x)),
    classify: v.opt(o.classify, undefined, (x) => v.func<NonNullable<HttpOptions['classify']>>(owner, 'classify', x)),
    maxErrorBodyBytes: v.opt(o.maxErrorBodyBytes, 65_536, (x) => v.integer(owner, 'maxErrorBodyBytes', x, 0, false)),
    wallClock: v.opt(o.wallClock, wallClockNow, (x) => v.func<() => number>(owner, 'wallClock', x)),
  };
  return parsed;
}

/** Validates per-request settings. */
export function parseCallOptions(owner: string, x: unknown): HttpCallOptions | undefined {
  if (x === undefined) return undefined;
  return v.optionsObject<HttpCallOptions>(`${owner}: request option "sluice"`, x, CALL_KNOWN);
}

const SIMPLE_ORIGIN = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?(?=[/?#]|$)/;
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * The origin of an absolute http(s) URL string, without parsing the whole URL when it is a plain one (lower-case
 * host name or canonical IPv4 address, no user info); anything else goes through `new URL()`, whose origin is the
 * reference. @throws {TypeError} for a string that is not a URL.
 */
export function originOf(raw: string): string {
  const m = SIMPLE_ORIGIN.exec(raw);
  if (m !== null) {
    const scheme = m[1]!;
    const host = m[2]!;
    const last = host.slice(host.lastIndexOf('.') + 1);
    // A host whose last label is a number is an IPv4 address, which URL normalises (0x7f.1, 127.000.0.1).
    if (!/^(\d+|0x[0-9a-f]*)$/.test(last) || DOTTED_QUAD.test(host)) {
      const portText = m[3];
      if (portText === undefined) return `${scheme}://${host}`;
      const port = Number(portText);
      if (port <= 65535) return (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443) ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
    }
  }
  return new URL(raw).origin;
}

/** Request facts from a URL string, parsing the URL only when someone reads it. */
export class LazyFacts implements HttpRequestFacts {
  private parsed: URL | undefined = undefined;
  readonly origin: string;
  /**
   * @param raw the absolute URL, or (undici) the path, resolved against `base` when read
   * @param base the origin the path belongs to, when `raw` is a path
   */
  constructor(
    private readonly raw: string,
    readonly method: string,
    readonly header: HeaderGetter,
    private readonly base?: string,
  ) {
    this.origin = cachedOrigin(base ?? raw);
  }
  get url(): URL {
    return (this.parsed ??= this.base === undefined ? new URL(this.raw) : new URL(this.raw, this.base));
  }
}

// The origin of the last URL prefix seen (scheme and authority: up to the first '/' after them). Requests of one
// client mostly go to a few origins, so most requests skip the parse.
let lastPrefix = '';
let lastOrigin = '';

/** {@link originOf}, remembering the last prefix. */
function cachedOrigin(raw: string): string {
  const slash = raw.indexOf('/', raw.indexOf('//') + 2);
  const prefix = slash < 0 ? raw : raw.slice(0, slash);
  if (prefix === lastPrefix && prefix.length > 0) return lastOrigin;
  const origin = originOf(raw);
  lastPrefix = prefix;
  lastOrigin = origin;
  return origin;
}

/** A header getter for a response known to carry no signal field. */
export const NO_HEADERS: HeaderGetter = () => undefined;

/** A response's class and the wait it asked for. */
export interface Verdict {
  readonly cls: ResponseClass;
  readonly retryAfterMs: number | undefined;
}

const OK: Verdict = Object.freeze({ cls: 'ok' as const, retryAfterMs: undefined });

/** A response as the engine sees it, whatever the client. */
export interface ResponseView {
  readonly status: number;
  readonly statusText: string;
  /** Reads a header, case-insensitive (what user callbacks get). */
  readonly header: HeaderGetter;
  /**
   * Reads a header by its lower-case name, for the signal parsers; `NO_HEADERS` when the client could tell at once
   * that the response carries none of the signal fields. Default: `header`.
   */
  readonly signalHeader?: HeaderGetter;
  /** Every header, lower-case names (for the error). */
  headers(): Record<string, string>;
}

/** One request's passage through the engine: what it may do and what its attempts left behind. */
export class RequestRun<R> {
  /** Why the request may not be sent twice, or undefined when it may. */
  readonly unsafe: string | undefined;
  /** The last refused response, kept to hand back with `throwOnStatus: false` (or to discard). */
  last: HttpStatusError | undefined = undefined;
  /** Set when the response was already passed on to the client (undici): nothing may be retried after it. */
  committed = false;
  /** Set once the client's handler was told how the request ended (undici). */
  userDone = false;
  /** The request's key, and how one attempt is made (set by {@link HttpGuard.run}). */
  key = '';
  attempt: ((ctx: ExecutionContext, upstream: Upstream) => Promise<R>) | undefined = undefined;

  /** One attempt, as the key's policies run it. */
  readonly task = (ctx: ExecutionContext): Promise<R> => {
    const up = this.guard.upstreams.peek(this.key)!;
    this.startAttempt();
    return this.attempt!(ctx, up).then(undefined, this.attemptFailed);
  };

  /** An attempt failed: a refused response is kept (to hand back or discard); any other failure is judged for retry. */
  private readonly attemptFailed = (e: unknown): never => {
    if (isHttpStatusError(e)) {
      this.last = e;
      throw e;
    }
    throw this.failed(e);
  };

  /** The request failed: a refused response left at the end is handed back (`throwOnStatus: false`) or discarded. */
  readonly ended = (e: unknown): R => {
    this.abandon(e);
    const refused = refusedResponseOf(e);
    if (refused !== undefined && refused === this.last) {
      this.last = undefined;
      if (!this.guard.config.throwOnStatus && refused.response !== undefined) return refused.response as R;
      this.discardError(refused);
    } else this.startAttempt();
    throw e;
  };

  constructor(
    readonly guard: HttpGuard,
    readonly facts: HttpRequestFacts,
    body: true | string,
    readonly call: HttpCallOptions | undefined,
    readonly discard: (response: R) => void,
  ) {
    const r = guard.config.retry;
    if (call?.retry === false) this.unsafe = 'retries are off for this request';
    else if (r === undefined) this.unsafe = undefined;
    else if (!r.methods.has(facts.method) && !(r.idempotencyKey && hasHeader(facts.header, 'idempotency-key'))) {
      this.unsafe = `${facts.method} is not idempotent (send an Idempotency-Key header, or list the method in retry.methods)`;
    } else this.unsafe = body === true ? undefined : body;
  }

  /**
   * Judges a response: feeds what it says to the key's policies, and returns its class (`'ok'`: pass it on) and the
   * wait it asked for.
   */
  judge(upstream: Upstream, view: ResponseView): Verdict {
    const c = this.guard.config;
    let cls: ResponseClass = classifyStatus(view.status);
    if (c.classify !== undefined) {
      try {
        const custom = c.classify(view.status, view.header, this.facts);
        if (custom === 'ok' || custom === 'failure' || custom === 'pushback') cls = custom;
      } catch (e) {
        reportError(e);
      }
    }
    const sh = view.signalHeader ?? view.header;
    let signals = sh === NO_HEADERS ? NO_SIGNALS : signalsOf(sh, c.wallClock, c.loadHeader, cls === 'pushback');
    if (c.loadRead !== undefined) {
      let f: unknown;
      try {
        f = c.loadRead(view.header);
      } catch (e) {
        reportError(e);
      }
      signals = { ...signals, loadFactor: typeof f === 'number' && f >= 0 && Number.isFinite(f) ? Math.min(f, 100) : undefined };
    }
    // A response that says nothing (the common case) has nothing to feed back, unless the pacer waits for one.
    if (signals !== NO_SIGNALS || upstream.paced) upstream.observe(cls, signals, upstream.clock.now());
    if (cls === 'ok') return OK;
    let retryAfterMs = cls === 'pushback' ? signals.retryAfterMs : undefined;
    const q = signals.quota;
    if (retryAfterMs === undefined && cls === 'pushback' && q !== undefined && q.remaining === 0) retryAfterMs = q.resetMs;
    return { cls, retryAfterMs };
  }

  /**
   * The error a refused response becomes, to throw from the attempt (so the retry, breaker and limiter see a
   * failure); `body` is what was kept of its body, `response` what `throwOnStatus: false` hands back.
   */
  refuse(view: ResponseView, verdict: Verdict, body: Uint8Array | undefined, bodyTruncated: boolean, response: R): HttpStatusError {
    const r = this.guard.config.retry;
    const retryable = r !== undefined && r.statuses.has(view.status);
    const err = new HttpStatusError(this.guard.name, {
      status: view.status,
      statusText: view.statusText,
      headers: view.headers(),
      method: this.facts.method,
      url: this.facts.url.href,
      classification: verdict.cls as Exclude<ResponseClass, 'ok'>,
      retryAfterMs: verdict.retryAfterMs,
      body,
      bodyTruncated,
      notRetried: retryable ? this.unsafe : undefined,
      response,
    });
    if (retryable && this.unsafe === undefined) (err as HttpStatusError & { [RETRYABLE]?: boolean })[RETRYABLE] = true;
    return err;
  }

  /** A failure of the attempt itself (no response): marked not to retry when the request cannot be sent again. */
  failed(error: unknown): unknown {
    if (this.committed) return new NotRetriedError(this.guard.name, 'the response had already been passed on', error);
    if (this.unsafe !== undefined && isRetryableError(error) && this.guard.config.retry !== undefined) return new NotRetriedError(this.guard.name, this.unsafe, error);
    return error;
  }

  /** Called at the start of each attempt: the previous refused response is no longer needed. */
  startAttempt(): void {
    this.abandon(undefined);
    const last = this.last;
    if (last === undefined) return;
    this.last = undefined;
    this.discardError(last);
  }

  /**
   * The attempt in flight, for clients that can end one without a signal (undici's controller): when the policies
   * move on without it (a timeout raced it, the caller aborted), it is aborted, so its socket is freed.
   */
  current: { abandon(reason: unknown): void } | undefined = undefined;

  /** Aborts the attempt in flight, if any (it reports its own end by clearing `current`). */
  abandon(reason: unknown): void {
    const c = this.current;
    if (c === undefined) return;
    this.current = undefined;
    try {
      c.abandon(reason);
    } catch (e) {
      reportError(e);
    }
  }

  discardError(e: HttpStatusError): void {
    try {
      if (e.response !== undefined) this.discard(e.response as R);
    } catch (err) {
      reportError(err);
    }
  }
}

function hasHeader(get: HeaderGetter, name: string): boolean {
  try {
    const x = get(name);
    return typeof x === 'string' && x.length > 0;
  } catch {
    return false;
  }
}

/** The refused response a final error stands for, if any (itself, or what a retry gave up on). */
function refusedResponseOf(e: unknown): HttpStatusError | undefined {
  if (isHttpStatusError(e)) return e;
  try {
    if (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'RETRY_EXHAUSTED') {
      const last = (e as { lastError?: unknown }).lastError;
      if (isHttpStatusError(last)) return last;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * The engine of one client (one `protectFetch()`, interceptor or adapter): its keys, their policies, and how a
 * request runs through them.
 */
export class HttpGuard {
  readonly config: ParsedHttp;
  readonly upstreams: Keyed<Upstream>;
  readonly name: string;

  constructor(owner: string, options: HttpOptions | undefined) {
    this.config = parseHttpOptions(owner, options);
    this.name = this.config.name;
    const c = this.config;
    this.upstreams = keyed((key, info) => new Upstream(key, info, c), { name: c.name, clock: c.clock, metrics: c.metrics, maxKeys: c.maxKeys, idleMs: c.idleMs });
    // Build one key's policies now, so that a bad policy option throws here, at creation, not at the first request.
    new Upstream('validate', { name: `${c.name}/validate`, clock: c.clock, metrics: undefined }, c).dispose();
  }

  /** The key of a request. */
  keyOf(facts: HttpRequestFacts): string {
    const f = this.config.key;
    if (f === undefined) return facts.origin;
    const k = f(facts);
    if (typeof k !== 'string' || k.length === 0) throw new TypeError(`${this.name}: option "key" must return a non-empty string, got ${v.describeValue(k)}`);
    return k;
  }

  /**
   * Runs a request: `attempt(ctx, upstream)` sends it once (with `ctx.signal`, where the client needs a signal) and
   * returns the response, or throws what {@link RequestRun.refuse} made of it. The final outcome is the response; or, for a refused one, the error (or,
   * with `throwOnStatus: false`, the response).
   */
  run<R>(run: RequestRun<R>, signal: AbortSignal | undefined, attempt: (ctx: ExecutionContext, upstream: Upstream) => Promise<R>): Promise<R> {
    let key: string;
    try {
      key = this.keyOf(run.facts);
    } catch (e) {
      return Promise.reject(e);
    }
    run.key = key;
    run.attempt = attempt;
    const call = run.call;
    const opts: ExecuteOptions = { key };
    if (signal !== undefined) opts.signal = signal;
    const timeoutMs = call?.timeoutMs ?? this.config.timeoutMs;
    if (timeoutMs !== undefined) opts.timeoutMs = timeoutMs;
    if (call !== undefined) {
      if (call.deadline !== undefined) opts.deadline = call.deadline;
      if (call.priority !== undefined) opts.priority = call.priority;
      if (call.tenant !== undefined) opts.tenant = call.tenant;
      if (call.cost !== undefined) opts.cost = call.cost;
    }
    return this.upstreams.execute(run.task, opts).then(undefined, run.ended);
  }

  dispose(reason?: unknown): void {
    this.upstreams.dispose(reason);
  }
}
