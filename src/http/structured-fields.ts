/**
 * RFC 9651 (Structured Field Values for HTTP) Lists and Dictionaries of items with parameters, the syntax of the
 * rate-limit fields. Pure and total: malformed input yields `undefined` (the field is ignored, as the RateLimit
 * draft requires), never an exception. Written here rather than taken from a package so that the HTTP integrations
 * add no runtime dependency; the property tests check it against the `structured-headers` package.
 */

/** A bare item: Integer or Decimal (number), String or Token (string, tokens flagged), Byte Sequence, Boolean. */
export type BareItem = number | string | boolean | Uint8Array | SfToken;

/** A Token item (`default`), told apart from a String item (`"default"`). */
export class SfToken {
  constructor(readonly value: string) {}
}

/** An item with its parameters. */
export interface SfItem {
  readonly value: BareItem;
  readonly params: ReadonlyMap<string, BareItem>;
}

/** An inner list with its parameters. */
export interface SfInnerList {
  readonly items: readonly SfItem[];
  readonly params: ReadonlyMap<string, BareItem>;
}

/** Longest field value parsed, in characters; a longer one is ignored (8 KiB, beyond any sensible rate-limit field). */
export const MAX_FIELD_LENGTH = 8192;

class Parser {
  i = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? '';
  }
  skipSP(): void {
    while (this.s[this.i] === ' ') this.i++;
  }
  skipOWS(): void {
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
  }
}

const FAIL: unique symbol = Symbol('fail');
type Fail = typeof FAIL;

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function isLcAlpha(c: string): boolean {
  return c >= 'a' && c <= 'z';
}
const TCHAR = "!#$%&'*+-.^_`|~";

function isTokenChar(c: string): boolean {
  return c !== '' && (isAlpha(c) || isDigit(c) || TCHAR.includes(c) || c === ':' || c === '/');
}

function parseNumber(p: Parser): number | Fail {
  let sign = 1;
  if (p.peek() === '-') {
    sign = -1;
    p.i++;
  }
  if (!isDigit(p.peek())) return FAIL;
  const start = p.i;
  let decimal = false;
  let intDigits = 0;
  while (!p.done) {
    const c = p.peek();
    if (isDigit(c)) p.i++;
    else if (c === '.' && !decimal) {
      intDigits = p.i - start;
      if (intDigits > 12) return FAIL;
      decimal = true;
      p.i++;
    } else break;
    const len = p.i - start;
    if (!decimal && len > 15) return FAIL;
    if (decimal && len > 16) return FAIL;
  }
  const text = p.s.slice(start, p.i);
  if (decimal) {
    if (text.endsWith('.')) return FAIL;
    if (text.length - intDigits - 1 > 3) return FAIL;
  }
  return sign * Number(text);
}

function parseString(p: Parser): string | Fail {
  p.i++; // opening quote
  let out = '';
  while (!p.done) {
    const c = p.s[p.i++]!;
    if (c === '\\') {
      const n = p.s[p.i++];
      if (n !== '"' && n !== '\\') return FAIL;
      out += n;
    } else if (c === '"') return out;
    else {
      const code = c.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) return FAIL;
      out += c;
    }
  }
  return FAIL;
}

/** A Display String (RFC 9651 §4.2.10): `%"` then printable ASCII, with `%xx` (lower-case hex) for UTF-8 bytes. */
function parseDisplayString(p: Parser): string | Fail {
  p.i += 2; // %"
  const bytes: number[] = [];
  while (!p.done) {
    const c = p.s[p.i++]!;
    const code = c.charCodeAt(0);
    if (code <= 0x1f || code >= 0x7f) return FAIL;
    if (c === '%') {
      const hex = p.s.slice(p.i, p.i + 2);
      if (!/^[0-9a-f]{2}$/.test(hex)) return FAIL;
      bytes.push(parseInt(hex, 16));
      p.i += 2;
    } else if (c === '"') {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
      } catch {
        return FAIL;
      }
    } else bytes.push(code);
  }
  return FAIL;
}

function parseToken(p: Parser): SfToken | Fail {
  const c = p.peek();
  if (!isAlpha(c) && c !== '*') return FAIL;
  const start = p.i++;
  while (isTokenChar(p.peek())) p.i++;
  return new SfToken(p.s.slice(start, p.i));
}

function parseByteSequence(p: Parser): Uint8Array | Fail {
  p.i++;
  const end = p.s.indexOf(':', p.i);
  if (end < 0) return FAIL;
  const b64 = p.s.slice(p.i, end);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return FAIL;
  p.i = end + 1;
  return Uint8Array.from(Buffer.from(b64, 'base64'));
}

function parseBareItem(p: Parser): BareItem | Fail {
  const c = p.peek();
  if (c === '-' || isDigit(c)) return parseNumber(p);
  if (c === '"') return parseString(p);
  if (c === ':') return parseByteSequence(p);
  if (c === '?') {
    const b = p.s[p.i + 1];
    if (b !== '0' && b !== '1') return FAIL;
    p.i += 2;
    return b === '1';
  }
  if (c === '@') {
    p.i++;
    const n = parseNumber(p);
    return n === FAIL || !Number.isInteger(n) ? FAIL : n;
  }
  if (c === '%' && p.s[p.i + 1] === '"') return parseDisplayString(p);
  if (isAlpha(c) || c === '*') return parseToken(p);
  return FAIL;
}

function parseKey(p: Parser): string | Fail {
  const c = p.peek();
  if (!isLcAlpha(c) && c !== '*') return FAIL;
  const start = p.i++;
  for (let d = p.peek(); isLcAlpha(d) || isDigit(d) || d === '_' || d === '-' || d === '.' || d === '*'; d = p.peek()) p.i++;
  return p.s.slice(start, p.i);
}

function parseParams(p: Parser): Map<string, BareItem> | Fail {
  const params = new Map<string, BareItem>();
  while (p.peek() === ';') {
    p.i++;
    p.skipSP();
    const key = parseKey(p);
    if (key === FAIL) return FAIL;
    let value: BareItem | Fail = true;
    if (p.peek() === '=') {
      p.i++;
      value = parseBareItem(p);
      if (value === FAIL) return FAIL;
    }
    params.set(key, value); // a repeated key keeps its first position and its last value (RFC 9651 §4.2.3.2)
  }
  return params;
}

function parseItem(p: Parser): SfItem | Fail {
  const value = parseBareItem(p);
  if (value === FAIL) return FAIL;
  const params = parseParams(p);
  return params === FAIL ? FAIL : { value, params };
}

function parseItemOrInnerList(p: Parser): SfItem | SfInnerList | Fail {
  if (p.peek() !== '(') return parseItem(p);
  p.i++;
  const items: SfItem[] = [];
  for (;;) {
    p.skipSP();
    if (p.peek() === ')') {
      p.i++;
      const params = parseParams(p);
      return params === FAIL ? FAIL : { items, params };
    }
    const item = parseItem(p);
    if (item === FAIL) return FAIL;
    items.push(item);
    const c = p.peek();
    if (c !== ' ' && c !== ')') return FAIL;
  }
}

/** Runs `member` over a comma-separated field; FAIL on any syntax error. */
function members(s: string, member: (p: Parser) => boolean): boolean {
  if (s.length > MAX_FIELD_LENGTH) return false;
  const p = new Parser(s);
  p.skipSP();
  if (p.done) return true;
  for (;;) {
    if (!member(p)) return false;
    p.skipOWS();
    if (p.done) return true;
    if (p.peek() !== ',') return false;
    p.i++;
    p.skipOWS();
    if (p.done) return false; // trailing comma
  }
}

/** Whether `x` is an inner list (not an item). * @example
 * ```ts
 * for (const m of parseList(value) ?? []) if (!isInnerList(m)) use(m.value);
 * ```
 */
export function isInnerList(x: SfItem | SfInnerList): x is SfInnerList {
  return (x as SfInnerList).items !== undefined;
}

/**
 * Parses a Structured Field List (RFC 9651 §4.2.1); undefined when malformed. Trailing spaces are trimmed first, as
 * HTTP does to field values. Never throws.
 * @example
 * ```ts
 * parseList('"default";r=50;t=30'); // [{ value: 'default', params: Map { 'r' => 50, 't' => 30 } }]
 * ```
 */
export function parseList(value: string | null | undefined): (SfItem | SfInnerList)[] | undefined {
  if (typeof value !== 'string') return undefined;
  const out: (SfItem | SfInnerList)[] = [];
  const ok = members(value.replace(/[ \t]+$/, ''), (p) => {
    const m = parseItemOrInnerList(p);
    if (m === FAIL) return false;
    out.push(m);
    return true;
  });
  return ok ? out : undefined;
}

/**
 * Parses a Structured Field Dictionary (RFC 9651 §4.2.2); undefined when malformed. A key without a value is `true`.
 * A repeated key keeps its first position and its last value. Never throws.
 * @example
 * ```ts
 * parseDictionary('limit=100, remaining=50')?.get('remaining'); // { value: 50, params: Map {} }
 * ```
 */
export function parseDictionary(value: string | null | undefined): Map<string, SfItem | SfInnerList> | undefined {
  if (typeof value !== 'string') return undefined;
  const out = new Map<string, SfItem | SfInnerList>();
  const ok = members(value.replace(/[ \t]+$/, ''), (p) => {
    const key = parseKey(p);
    if (key === FAIL) return false;
    let m: SfItem | SfInnerList | Fail;
    if (p.peek() === '=') {
      p.i++;
      m = parseItemOrInnerList(p);
    } else {
      const params = parseParams(p);
      m = params === FAIL ? FAIL : { value: true, params };
    }
    if (m === FAIL) return false;
    out.set(key, m); // a repeated key keeps its first position and its last value (RFC 9651 §4.2.2)
    return true;
  });
  return ok ? out : undefined;
}
