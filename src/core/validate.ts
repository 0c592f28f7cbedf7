/**
 * Option validation shared by every factory. Errors name the factory, the option and the offending value:
 * `tokenBucket: option "refillPerSecond" must be a finite number > 0, got NaN`.
 */

/** A value as an error message shows it (`"abc"`, `NaN`, `{"a":1}`, `a function`). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function fail(owner: string, option: string, rule: string, value: unknown, Kind: typeof RangeError | typeof TypeError): never {
  throw new Kind(`${owner}: option "${option}" must be ${rule}, got ${describeValue(value)}`);
}

/** Throws a TypeError unless `value` is a number; a RangeError if it is NaN or infinite (unless allowed). */
function numberIn(owner: string, option: string, value: unknown, allowInfinity: boolean): number {
  if (typeof value !== 'number') fail(owner, option, 'a number', value, TypeError);
  if (Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    fail(owner, option, allowInfinity ? 'a number (not NaN)' : 'a finite number', value, RangeError);
  }
  return value;
}

/** A finite number > 0. */
export function positive(owner: string, option: string, value: unknown): number {
  const v = numberIn(owner, option, value, false);
  if (!(v > 0)) fail(owner, option, 'a finite number > 0', value, RangeError);
  return v;
}

/** A finite number ≥ 0. */
export function nonNegative(owner: string, option: string, value: unknown): number {
  const v = numberIn(owner, option, value, false);
  if (!(v >= 0)) fail(owner, option, 'a finite number >= 0', value, RangeError);
  return v;
}

/** A number ≥ 0 or `Infinity` (an unbounded duration or size). */
export function nonNegativeOrInfinity(owner: string, option: string, value: unknown): number {
  const v = numberIn(owner, option, value, true);
  if (!(v >= 0)) fail(owner, option, 'a number >= 0 or Infinity', value, RangeError);
  return v;
}

/** An integer ≥ `min` (default 0), or `Infinity` when `allowInfinity`. */
export function integer(owner: string, option: string, value: unknown, min = 0, allowInfinity = false): number {
  const v = numberIn(owner, option, value, allowInfinity);
  if (v === Infinity && allowInfinity) return v;
  if (!Number.isInteger(v) || v < min) {
    fail(owner, option, `an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}`, value, RangeError);
  }
  return v;
}

/** A number in [min, max]. */
export function between(owner: string, option: string, value: unknown, min: number, max: number): number {
  const v = numberIn(owner, option, value, false);
  if (!(v >= min && v <= max)) fail(owner, option, `a number in [${min}, ${max}]`, value, RangeError);
  return v;
}

/** A boolean. */
export function bool(owner: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(owner, option, 'a boolean', value, TypeError);
  return value;
}

/** A non-empty string. */
export function name(owner: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(owner, option, 'a non-empty string', value, TypeError);
  return value;
}

/** A function. */
export function func<F extends (...args: never[]) => unknown>(owner: string, option: string, value: unknown): F {
  if (typeof value !== 'function') fail(owner, option, 'a function', value, TypeError);
  return value as F;
}

/** One of the listed string values. */
export function oneOf<T extends string>(owner: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(owner, option, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value, RangeError);
  }
  return value as T;
}

/** An object with the given methods (e.g. a Clock, a Metrics sink). */
export function shaped<T>(owner: string, option: string, value: unknown, methods: readonly string[]): T {
  if (typeof value !== 'object' || value === null) fail(owner, option, `an object with ${methods.join(', ')}`, value, TypeError);
  for (const m of methods) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function') {
      fail(owner, option, `an object with a ${m}() method`, value, TypeError);
    }
  }
  return value as T;
}

/**
 * The options argument itself: undefined or a plain object. With `known`, every own enumerable key must be one of
 * them: a misspelt option (`maxAttemps`) is a TypeError naming the key and the closest known one, never silently
 * ignored.
 */
export function optionsObject<T extends object>(owner: string, value: unknown, known?: ReadonlySet<string>): Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${owner}: options must be an object, got ${describeValue(value)}`);
  }
  if (known !== undefined) knownKeys(owner, value, known);
  return value as Partial<T>;
}

/** A set of option names for {@link optionsObject}. */
export function keys(...names: string[]): ReadonlySet<string> {
  return new Set(names);
}

/**
 * Throws a TypeError for the first own enumerable key of `value` that is not in `known`, suggesting the closest
 * known name (edit distance ≤ 3, or one is a prefix of the other).
 */
export function knownKeys(owner: string, value: object, known: ReadonlySet<string>): void {
  for (const key in value) {
    if (!known.has(key) && Object.prototype.hasOwnProperty.call(value, key)) {
      const near = closest(key, known);
      throw new TypeError(`${owner}: unknown option ${JSON.stringify(key)}${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}; known options: ${[...known].join(', ')}`);
    }
  }
}

function closest(key: string, known: ReadonlySet<string>): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const name of known) {
    const n = name.toLowerCase();
    const d = n.startsWith(k) || k.startsWith(n) ? Math.abs(n.length - k.length) * 0.5 : editDistance(k, n);
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return bestD <= Math.max(1, Math.min(3, Math.floor(key.length / 3))) ? best : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Reads an optional option: `undefined` gives the default, anything else goes through `check`. */
export function opt<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}
