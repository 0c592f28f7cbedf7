import { describe, expect, it } from 'vitest';
import * as v from '../../src/core/validate.js';

/** Calls `check` and returns the error it throws. */
function thrown(check: () => unknown): Error {
  try {
    check();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('validate', () => {
  it('messages name the factory, the option, the rule and the value', () => {
    const e = thrown(() => v.positive('tokenBucket', 'refillPerSecond', Number.NaN));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('tokenBucket: option "refillPerSecond" must be a finite number, got NaN');
    expect(thrown(() => v.positive('f', 'x', -2)).message).toBe('f: option "x" must be a finite number > 0, got -2');
  });

  it('shows values readably: strings quoted, bigints with n, functions, objects as JSON, cycles by tag', () => {
    expect(thrown(() => v.positive('f', 'x', 'abc')).message).toContain('got "abc"');
    expect(thrown(() => v.positive('f', 'x', 5n)).message).toContain('got 5n');
    expect(thrown(() => v.positive('f', 'x', () => 1)).message).toContain('got a function');
    expect(thrown(() => v.positive('f', 'x', { a: 1 })).message).toContain('got {"a":1}');
    expect(thrown(() => v.positive('f', 'x', undefined)).message).toContain('got undefined');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(thrown(() => v.positive('f', 'x', cyclic)).message).toContain('got [object Object]');
  });

  it('positive: finite numbers > 0', () => {
    expect(v.positive('f', 'x', 0.001)).toBe(0.001);
    for (const bad of [0, -1, Infinity, Number.NaN]) expect(() => v.positive('f', 'x', bad)).toThrow(RangeError);
    expect(() => v.positive('f', 'x', '1')).toThrow(TypeError);
  });

  it('nonNegative: finite numbers >= 0', () => {
    expect(v.nonNegative('f', 'x', 0)).toBe(0);
    for (const bad of [-0.1, Infinity, Number.NaN]) expect(() => v.nonNegative('f', 'x', bad)).toThrow(RangeError);
    expect(() => v.nonNegative('f', 'x', null)).toThrow(TypeError);
  });

  it('nonNegativeOrInfinity: numbers >= 0 including Infinity', () => {
    expect(v.nonNegativeOrInfinity('f', 'x', Infinity)).toBe(Infinity);
    expect(v.nonNegativeOrInfinity('f', 'x', 0)).toBe(0);
    for (const bad of [-1, -Infinity, Number.NaN]) expect(() => v.nonNegativeOrInfinity('f', 'x', bad)).toThrow(RangeError);
    expect(thrown(() => v.nonNegativeOrInfinity('f', 'x', -1)).message).toBe('f: option "x" must be a number >= 0 or Infinity, got -1');
  });

  it('integer: integers >= min, Infinity only when allowed', () => {
    expect(v.integer('f', 'x', 3)).toBe(3);
    expect(v.integer('f', 'x', 1, 1)).toBe(1);
    expect(v.integer('f', 'x', Infinity, 0, true)).toBe(Infinity);
    expect(() => v.integer('f', 'x', Infinity)).toThrow(RangeError);
    expect(() => v.integer('f', 'x', 0, 1)).toThrow(/an integer >= 1, got 0/);
    expect(() => v.integer('f', 'x', 2.5, 0, true)).toThrow(/an integer >= 0 or Infinity, got 2.5/);
    expect(() => v.integer('f', 'x', -Infinity, 0, true)).toThrow(RangeError);
  });

  it('between: numbers in [min, max], bounds included', () => {
    expect(v.between('f', 'x', 0, 0, 1)).toBe(0);
    expect(v.between('f', 'x', 1, 0, 1)).toBe(1);
    expect(() => v.between('f', 'x', 1.01, 0, 1)).toThrow(/a number in \[0, 1\], got 1.01/);
    expect(() => v.between('f', 'x', Number.NaN, 0, 1)).toThrow(RangeError);
  });

  it('bool, name, func: type checks are TypeErrors', () => {
    expect(v.bool('f', 'x', false)).toBe(false);
    expect(() => v.bool('f', 'x', 0)).toThrow(TypeError);
    expect(v.name('f', 'x', 'a')).toBe('a');
    expect(() => v.name('f', 'x', '')).toThrow(/a non-empty string, got ""/);
    const fn = () => 1;
    expect(v.func('f', 'x', fn)).toBe(fn);
    expect(() => v.func('f', 'x', {})).toThrow(TypeError);
  });

  it('oneOf: one of the listed strings, listing them in the error', () => {
    expect(v.oneOf('f', 'order', 'fifo', ['fifo', 'lifo'])).toBe('fifo');
    expect(() => v.oneOf('f', 'order', 'random', ['fifo', 'lifo'])).toThrow('f: option "order" must be one of "fifo", "lifo", got "random"');
    expect(() => v.oneOf('f', 'order', 1, ['fifo'])).toThrow(RangeError);
  });

  it('shaped: an object with the named methods, naming the first missing one', () => {
    const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
    expect(v.shaped('f', 'clock', clock, ['now', 'setTimeout', 'clearTimeout'])).toBe(clock);
    expect(() => v.shaped('f', 'clock', { now: () => 0 }, ['now', 'setTimeout'])).toThrow(/an object with a setTimeout\(\) method/);
    expect(() => v.shaped('f', 'clock', null, ['now'])).toThrow(TypeError);
    expect(() => v.shaped('f', 'clock', 'clock', ['now'])).toThrow(TypeError);
  });

  it('optionsObject: undefined or a plain object; arrays, null and primitives are TypeErrors', () => {
    expect(v.optionsObject('f', undefined)).toEqual({});
    const o = { a: 1 };
    expect(v.optionsObject('f', o)).toBe(o);
    for (const bad of [null, [], 3, 'x']) expect(() => v.optionsObject('f', bad)).toThrow(/f: options must be an object/);
  });

  it('opt: undefined gives the fallback without checking; anything else is checked', () => {
    let checked = 0;
    const check = (x: unknown) => {
      checked++;
      return Number(x);
    };
    expect(v.opt(undefined, 7, check)).toBe(7);
    expect(checked).toBe(0);
    expect(v.opt(null, 7, check)).toBe(0);
    expect(checked).toBe(1);
  });
});
