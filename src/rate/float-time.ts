/**
 * Float arithmetic shared by both buckets: when a shortfall of tokens is made up, on a clock of any origin.
 *
 * Both buckets keep their state as an amount (tokens, or the level of a leaky bucket) plus the clock time it was
 * last brought up to date, never as an absolute due time: an amount keeps its precision however large the clock's
 * values are, while `now + cost / rate` does not (on a `Date.now()`-sized clock one float step is ~2.4e-4 ms, so at
 * 1e9 tokens per second a cost of 1 would not move a due time at all). Time enters only as a difference between two
 * clock readings, which is exact.
 * @internal
 */
import * as v from '../core/validate.js';

/** Allowed range of a rate option (per second), and why: see {@link RATE_MIN_PER_SECOND}. */
export const RATE_MAX_PER_SECOND = 1e12;
/**
 * Smallest rate option accepted, per second: one unit per ~11.6 days. Below it the time to earn a full bucket
 * (capacity / rate, with capacity up to {@link AMOUNT_MAX}) is no longer a sensible timer, and at ~1e-306 the
 * arithmetic overflows to Infinity/NaN. Above {@link RATE_MAX_PER_SECOND} (1e12/s, far beyond what one process can
 * call) nothing is gained and nothing is tested.
 */
export const RATE_MIN_PER_SECOND = 1e-6;
/**
 * Largest capacity / burst accepted: below 2^53, so integer costs are subtracted exactly and one float step of a
 * full bucket is at most 0.125 tokens.
 */
export const AMOUNT_MAX = 1e15;
/** Smallest token-bucket capacity accepted: keeps the rounding tolerance ({@link TOLERANCE} · capacity) a normal float. */
export const CAPACITY_MIN = 1e-6;
/**
 * Rounding tolerance, relative to capacity (or burst): a shortfall of at most `TOLERANCE · capacity` tokens counts as
 * none, so that costs that add up to exactly the capacity are admitted despite rounding. It is the only
 * over-admission there is, and it does not depend on the clock's origin or the rate.
 */
export const TOLERANCE = 1e-12;

// nextUp / nextDown through the bits of one preallocated double: no allocation per call.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** The smallest double greater than `x` (finite `x`). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  if (x > 0) {
    if (u32[LO] === 0xffffffff) {
      u32[LO] = 0;
      u32[HI]!++;
    } else u32[LO]!++;
  } else if (u32[LO] === 0) {
    u32[LO] = 0xffffffff;
    u32[HI]!--;
  } else u32[LO]!--;
  return f64[0]!;
}

/** The largest double smaller than `x` (finite `x`). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/**
 * The first clock time `t ≥ from` (a double) at which `short - (t - from) · ratePerMs ≤ 0`: when a shortfall of
 * `short` units, counted at time `from`, has been earned at `ratePerMs`. Returns `from` when nothing is short.
 * The result is strictly later than `from` otherwise, so a timer armed for it can never be a zero-delay spin, and a
 * caller that waits until exactly that time finds the units there. Exact to one float step of the clock.
 */
export function readyAt(short: number, from: number, ratePerMs: number): number {
  if (!(short > 0)) return from;
  let t = from + short / ratePerMs;
  // Newton steps on the residual; when the residual is below one float step of `t`, step one double up. The
  // residual is monotone in `t`, so this ends; in practice after one or two steps.
  for (let i = 0; i < 64; i++) {
    const left = short - (t - from) * ratePerMs;
    if (left <= 0) break;
    const next = t + left / ratePerMs;
    t = next > t ? next : nextUp(t);
  }
  // The first guess may round one step late.
  const before = nextDown(t);
  if (before > from && short - (before - from) * ratePerMs <= 0) t = before;
  return t;
}

/** A rate option, per second, in [{@link RATE_MIN_PER_SECOND}, {@link RATE_MAX_PER_SECOND}]. */
export function checkRate(owner: string, option: string, value: unknown): number {
  return v.between(owner, option, value, RATE_MIN_PER_SECOND, RATE_MAX_PER_SECOND);
}

/** A token-bucket capacity in [{@link CAPACITY_MIN}, {@link AMOUNT_MAX}]. */
export function checkCapacity(owner: string, value: unknown): number {
  return v.between(owner, 'capacity', value, CAPACITY_MIN, AMOUNT_MAX);
}

/** A leaky-bucket burst in [1, {@link AMOUNT_MAX}]. */
export function checkBurst(owner: string, value: unknown): number {
  return v.between(owner, 'burst', value, 1, AMOUNT_MAX);
}
