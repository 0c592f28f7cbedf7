/**
 * What a server says about its own capacity, read from response headers: `Retry-After` (RFC 9110 §10.2.3), the IETF
 * RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10 and the earlier drafts' forms), the common
 * `X-RateLimit-*` headers, and a load-factor header. Pure functions, total: garbage yields `undefined`, never an
 * exception, and absurd values are capped.
 */
import { SfToken, isInnerList, parseDictionary, parseList, type BareItem, type SfItem } from './structured-fields.js';

/** Longest wait any header may ask for, ms: 2^31 − 1 (24.8 days, the longest timer Node arms). Longer is capped. */
export const MAX_HINT_MS = 2_147_483_647;
/** Largest quota or remaining count taken from a header; larger is capped. */
export const MAX_QUOTA = 1e12;
/** Largest load factor taken from a header; larger is capped. */
export const MAX_LOAD_FACTOR = 100;

/** Reads one response header by (case-insensitive) name: `null` or `undefined` when absent. */
export type HeaderGetter = (name: string) => string | null | undefined;

/** Wall-clock time, ms since 1970: a reading, or a function read only when a header needs it (an HTTP date). */
export type WallTime = number | (() => number);

function wall(t: WallTime): number {
  return typeof t === 'number' ? t : t();
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** Epoch ms of a valid date and time, or undefined (day 31 of a 30-day month, hour 24, a wrong weekday...). */
function utc(year: number, month: number, day: number, h: number, m: number, s: number, weekday: number): number | undefined {
  if (h > 23 || m > 59 || s > 60 || day < 1) return undefined; // a leap second (60) is allowed by the grammar
  const t = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  const d = new Date(t);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month || d.getUTCDate() !== day) return undefined;
  if (d.getUTCDay() !== weekday) return undefined;
  return t + (s === 60 ? 1000 : 0);
}

/**
 * Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three forms: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
 * the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`, its two-digit year read as the most recent year with
 * those digits that is not more than 50 years after `nowMs`) and asctime (`Sun Nov  6 08:49:37 1994`). Strict: the
 * weekday must match the date. Returns epoch ms, or undefined.
 * @example
 * ```ts
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', Date.now()); // 784111777000
 * ```
 */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return utc(Number(m[4]!), MONTHS.indexOf(m[3]!), Number(m[2]!), Number(m[5]!), Number(m[6]!), Number(m[7]!), DAYS.indexOf(m[1]!));
  m = RFC850.exec(value);
  if (m !== null) {
    const nowYear = new Date(nowMs).getUTCFullYear();
    const yy = Number(m[4]!);
    let year = nowYear - (nowYear % 100) + yy;
    if (year > nowYear + 50) year -= 100;
    return utc(year, MONTHS.indexOf(m[3]!), Number(m[2]!), Number(m[5]!), Number(m[6]!), Number(m[7]!), LONG_DAYS.indexOf(m[1]!));
  }
  m = ASCTIME.exec(value);
  if (m !== null) return utc(Number(m[7]!), MONTHS.indexOf(m[2]!), Number(m[3]!.trim()), Number(m[4]!), Number(m[5]!), Number(m[6]!), DAYS.indexOf(m[1]!));
  return undefined;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3) into ms from now: `delay-seconds` (a non-negative decimal
 * integer: `1.5`, `-1` and `1e3` are invalid) or an HTTP-date relative to `wallNowMs` (a date in the past means 0).
 * Surrounding whitespace is ignored. Values above {@link MAX_HINT_MS} are capped. Undefined when absent or malformed.
 * Never throws.
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z')); // 60000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, wallNow: WallTime): number | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return v.length > 10 ? MAX_HINT_MS : Math.min(MAX_HINT_MS, Number(v) * 1000);
  const wallNowMs = wall(wallNow);
  if (!Number.isFinite(wallNowMs)) return undefined;
  const at = parseHttpDate(v, wallNowMs);
  if (at === undefined) return undefined;
  return Math.min(MAX_HINT_MS, Math.max(0, at - wallNowMs));
}

/** A non-negative decimal number of at most 16 characters (`retry-after-ms`, `X-Load-Factor`), or undefined. */
function parseDecimal(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string' || value.length > 32) return undefined;
  const v = value.trim();
  if (!/^\d{1,16}(\.\d{1,16})?$/.test(v)) return undefined;
  return Number(v);
}

/** The quota a server reported: what is left, when more comes, and the policy it belongs to. */
export interface Quota {
  /** Requests (or quota units) left in the current window. */
  readonly remaining: number;
  /** Ms until more quota is available; undefined when the server did not say. */
  readonly resetMs: number | undefined;
  /** The window's quota (`q`, `limit`), if given. */
  readonly limit: number | undefined;
  /** The window's length, ms (`w`), if given. */
  readonly windowMs: number | undefined;
  /** The policy's name (draft-10 `RateLimit`), if given. */
  readonly policy: string | undefined;
  /** Which header family it was read from. */
  readonly dialect: 'draft-10' | 'draft-7' | 'draft-6' | 'x-ratelimit';
}

function integerParam(item: SfItem, key: string): number | undefined {
  const x = item.params.get(key);
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? Math.min(x, MAX_QUOTA) : undefined;
}

function nameOf(value: BareItem): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof SfToken) return value.value;
  return undefined;
}

function seconds(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.min(MAX_HINT_MS, s * 1000);
}

/** Which quota binds hardest: nothing left first, then the slowest pace (remaining per second to reset). */
function tighter(a: Quota, b: Quota): Quota {
  const pace = (q: Quota): number => (q.remaining === 0 ? -1 : q.resetMs === undefined ? Infinity : q.remaining / Math.max(1, q.resetMs));
  const pa = pace(a);
  const pb = pace(b);
  if (pa !== pb) return pa < pb ? a : b;
  return (a.resetMs ?? 0) >= (b.resetMs ?? 0) ? a : b;
}

/** draft-10: `RateLimit: "default";r=50;t=30` with `RateLimit-Policy: "default";q=100;w=60`. */
function draft10(rateLimit: string, policy: string | null | undefined): Quota | undefined {
  const items = parseList(rateLimit);
  if (items === undefined || items.length === 0) return undefined;
  const policies = new Map<string, { q: number | undefined; w: number | undefined }>();
  for (const m of parseList(policy) ?? []) {
    if (isInnerList(m)) continue;
    const name = nameOf(m.value);
    const q = integerParam(m, 'q');
    if (name === undefined || q === undefined) continue; // q is required
    const w = integerParam(m, 'w');
    policies.set(name, { q, w: w === 0 ? undefined : w });
  }
  let best: Quota | undefined;
  for (const m of items) {
    if (isInnerList(m)) continue;
    const name = nameOf(m.value);
    const r = integerParam(m, 'r');
    if (name === undefined || r === undefined) continue; // r is required
    const p = policies.get(name);
    const quota: Quota = { remaining: r, resetMs: seconds(integerParam(m, 't')), limit: p?.q, windowMs: seconds(p?.w), policy: name, dialect: 'draft-10' };
    best = best === undefined ? quota : tighter(best, quota);
  }
  return best;
}

function dictInteger(d: Map<string, unknown>, key: string): number | undefined {
  const m = d.get(key) as SfItem | undefined;
  const x = m === undefined || isInnerList(m as never) ? undefined : m.value;
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? Math.min(x, MAX_QUOTA) : undefined;
}

/** draft-7 (as express-rate-limit sends it): `RateLimit: limit=100, remaining=50, reset=30`. */
function draft7(rateLimit: string, policy: string | null | undefined): Quota | undefined {
  const d = parseDictionary(rateLimit);
  if (d === undefined) return undefined;
  const remaining = dictInteger(d, 'remaining');
  if (remaining === undefined) return undefined;
  let windowMs: number | undefined;
  const first = parseList(policy)?.[0];
  if (first !== undefined && !isInnerList(first)) {
    const w = integerParam(first, 'w');
    windowMs = w === 0 ? undefined : seconds(w);
  }
  return { remaining, resetMs: seconds(dictInteger(d, 'reset')), limit: dictInteger(d, 'limit'), windowMs, policy: undefined, dialect: 'draft-7' };
}

/** The first integer of a (possibly list-valued) count header: `100` or `100, 100;w=60`. */
function leadingInteger(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string' || value.length > 256) return undefined;
  const m = /^\s*(\d{1,16})\s*(?:[,;]|$)/.exec(value);
  return m === null ? undefined : Math.min(Number(m[1]), MAX_QUOTA);
}

/**
 * A vendor reset value, ms from now. A number above 10^9 is read as a Unix time (seconds since 1970, as GitHub
 * sends; above 10^12, milliseconds), since 10^9 seconds as a delay would be 31 years; otherwise it is a delay in
 * seconds (decimals allowed). Undefined when malformed.
 * @example
 * ```ts
 * parseResetValue('30', Date.now()); // 30000 (a delay)
 * parseResetValue(String(Math.floor(Date.now() / 1000) + 60), Date.now()); // about 60000 (a Unix time)
 * ```
 */
export function parseResetValue(value: string | null | undefined, wallNow: WallTime): number | undefined {
  const n = parseDecimal(value);
  if (n === undefined) return undefined;
  let ms: number;
  if (n > 1e12) ms = n - wall(wallNow);
  else if (n > 1e9) ms = n * 1000 - wall(wallNow);
  else ms = n * 1000;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_HINT_MS, Math.max(0, ms));
}

/**
 * Reads the quota a response reports, in order of authority: the draft-10 `RateLimit` / `RateLimit-Policy` items
 * (the tightest policy when there are several), the draft-7 `RateLimit` dictionary, the draft-6
 * `RateLimit-Limit/-Remaining/-Reset` fields, then `X-RateLimit-Limit/-Remaining/-Reset` (or `X-Rate-Limit-*`; a
 * reset above 10^9 is a Unix time, see {@link parseResetValue}). Malformed fields are ignored. Undefined when no
 * family reports a remaining count. Never throws.
 * @example
 * ```ts
 * parseQuota((n) => res.headers.get(n), Date.now()); // { remaining: 50, resetMs: 30000, limit: 100, windowMs: 60000, ... }
 * ```
 */
export function parseQuota(get: HeaderGetter, wallNowMs: WallTime): Quota | undefined {
  const rateLimit = get('ratelimit');
  if (typeof rateLimit === 'string') {
    const policy = get('ratelimit-policy');
    const q = draft10(rateLimit, policy) ?? draft7(rateLimit, policy);
    if (q !== undefined) return q;
  }
  const remaining6 = leadingInteger(get('ratelimit-remaining'));
  if (remaining6 !== undefined) {
    const reset = parseDecimal(get('ratelimit-reset'));
    return { remaining: remaining6, resetMs: reset === undefined ? undefined : seconds(reset), limit: leadingInteger(get('ratelimit-limit')), windowMs: undefined, policy: undefined, dialect: 'draft-6' };
  }
  for (const prefix of ['x-ratelimit-', 'x-rate-limit-']) {
    const remaining = leadingInteger(get(`${prefix}remaining`));
    if (remaining === undefined) continue;
    return {
      remaining,
      resetMs: parseResetValue(get(`${prefix}reset`), wallNowMs),
      limit: leadingInteger(get(`${prefix}limit`)),
      windowMs: undefined,
      policy: undefined,
      dialect: 'x-ratelimit',
    };
  }
  return undefined;
}

/**
 * The wait a response asks for, ms from now: `retry-after-ms` (milliseconds, as several API vendors send) when
 * valid, else `Retry-After` ({@link parseRetryAfter}). Undefined when neither is there or valid. Never throws.
 * @example
 * ```ts
 * const waitMs = parseRetryAfterHeaders((n) => res.headers.get(n), Date.now());
 * ```
 */
export function parseRetryAfterHeaders(get: HeaderGetter, wallNowMs: WallTime): number | undefined {
  const ms = parseDecimal(get('retry-after-ms'));
  if (ms !== undefined) return Math.min(MAX_HINT_MS, ms);
  return parseRetryAfter(get('retry-after'), wallNowMs);
}

/** A load factor (`0.9`: the server is at 90 % of its capacity): a non-negative decimal, capped at 100. * @example
 * ```ts
 * parseLoadFactor(res.headers.get('x-load-factor')); // 0.9, or undefined
 * ```
 */
export function parseLoadFactor(value: string | null | undefined): number | undefined {
  const n = parseDecimal(value);
  return n === undefined ? undefined : Math.min(n, MAX_LOAD_FACTOR);
}

/** Everything a response says about the server's capacity. */
export interface ServerSignals {
  /** The wait it asks for, ms (`Retry-After`, `retry-after-ms`), or undefined. */
  readonly retryAfterMs: number | undefined;
  /** The quota it reports, or undefined. */
  readonly quota: Quota | undefined;
  /** Its load factor, or undefined. */
  readonly loadFactor: number | undefined;
}

/**
 * Reads every signal of a response ({@link parseRetryAfterHeaders}, {@link parseQuota}, the load factor from
 * `loadFactorHeader` when given). Never throws, even when `get` does (a header that cannot be read is absent).
 * @example
 * ```ts
 * const s = readServerSignals((n) => res.headers.get(n), Date.now(), 'x-load-factor');
 * if (s.retryAfterMs !== undefined) log.info(`server asks to wait ${s.retryAfterMs} ms`);
 * ```
 */
export function readServerSignals(get: HeaderGetter, wallNowMs: WallTime, loadFactorHeader?: string): ServerSignals {
  const safe: HeaderGetter = (name) => {
    try {
      const v = get(name);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  };
  return signalsOf(safe, wallNowMs, loadFactorHeader, true);
}

/**
 * @internal {@link readServerSignals} for a getter that never throws and returns strings or null (the integrations'
 * own); `retryAfter: false` skips the Retry-After fields (read only on a pushback status).
 */
export function signalsOf(get: HeaderGetter, wallNowMs: WallTime, loadFactorHeader: string | undefined, retryAfter: boolean): ServerSignals {
  const retryAfterMs = retryAfter ? parseRetryAfterHeaders(get, wallNowMs) : undefined;
  const quota = parseQuota(get, wallNowMs);
  const loadFactor = loadFactorHeader === undefined ? undefined : parseLoadFactor(get(loadFactorHeader));
  if (retryAfterMs === undefined && quota === undefined && loadFactor === undefined) return NO_SIGNALS;
  return { retryAfterMs, quota, loadFactor };
}

/**
 * @internal Whether a (lower-case) header name is one the signal parsers read: Retry-After and retry-after-ms, a
 * RateLimit family, or the load-factor header. A client that can list a response's names checks them once instead of
 * searching for each field the response lacks.
 */
export function isSignalField(name: string, loadHeader: string | undefined): boolean {
  if (name === loadHeader) return true;
  const c = name.charCodeAt(0);
  return (c === 114 /* r */ && (name.startsWith('ratelimit') || name.startsWith('retry-after'))) || (c === 120 /* x */ && name.startsWith('x-rate'));
}

/** What most responses say: nothing (shared, so that such a response allocates no signals object). */
export const NO_SIGNALS: ServerSignals = Object.freeze({ retryAfterMs: undefined, quota: undefined, loadFactor: undefined });
