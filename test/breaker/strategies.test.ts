/**
 * The pure strategies, fed outcomes by hand: no clock, no async.
 */
import { describe, expect, it } from 'vitest';
import { consecutiveFailures } from '../../src/breaker/strategies/consecutive-failures.js';
import { MAX_COUNT_WINDOW_SIZE, countWindow } from '../../src/breaker/strategies/count-window.js';
import { MAX_TIME_WINDOW_BUCKETS, timeWindow } from '../../src/breaker/strategies/time-window.js';
import { slowCallRate } from '../../src/breaker/strategies/slow-call-rate.js';
import type { BreakerStrategy, BreakerTripReason } from '../../src/breaker/strategies/strategy.js';

const OK = true;
const FAIL = false;

/** Feeds `[success, slow, at]` outcomes; returns the verdict of each. */
function feed(s: BreakerStrategy, outcomes: readonly (readonly [boolean, boolean, number])[]): (BreakerTripReason | undefined)[] {
  return outcomes.map(([success, slow, at]) => s.record(success, slow, at));
}

describe('consecutiveFailures', () => {
  it('opens when the run of failures reaches the threshold', () => {
    const s = consecutiveFailures({ threshold: 3 });
    expect(feed(s, [[FAIL, false, 0], [FAIL, false, 0], [FAIL, false, 0]])).toEqual([undefined, undefined, 'consecutiveFailures']);
  });

  it('a success resets the run', () => {
    const s = consecutiveFailures({ threshold: 3 });
    expect(feed(s, [[FAIL, false, 0], [FAIL, false, 0], [OK, false, 0], [FAIL, false, 0], [FAIL, false, 0]])).toEqual(Array(5).fill(undefined));
    expect(s.stats(0)).toEqual({ calls: 2, failures: 2, slowCalls: 0, failureRate: 1, slowCallRate: 0 });
  });

  it('ignores slowness and time', () => {
    const s = consecutiveFailures({ threshold: 2 });
    expect(s.usesTime).toBe(false);
    expect(s.slowCallDurationMs).toBe(Infinity);
    expect(feed(s, [[OK, true, 0], [OK, true, 1e9]])).toEqual([undefined, undefined]);
  });

  it('defaults to a threshold of 5', () => {
    const s = consecutiveFailures();
    const verdicts = feed(s, Array.from({ length: 5 }, () => [FAIL, false, 0] as const));
    expect(verdicts.slice(0, 4)).toEqual(Array(4).fill(undefined));
    expect(verdicts[4]).toBe('consecutiveFailures');
  });

  it('saves and restores its run', () => {
    const a = consecutiveFailures({ threshold: 3 });
    feed(a, [[FAIL, false, 0], [FAIL, false, 0]]);
    const b = consecutiveFailures({ threshold: 3 });
    b.restore(JSON.parse(JSON.stringify(a.save(0))), 0);
    expect(b.record(FAIL, false, 0)).toBe('consecutiveFailures');
  });

  it('rejects invalid options and malformed saved state', () => {
    expect(() => consecutiveFailures({ threshold: 0 })).toThrow(/threshold/);
    expect(() => consecutiveFailures({ threshold: 1.5 })).toThrow(RangeError);
    expect(() => consecutiveFailures('x' as never)).toThrow(TypeError);
    expect(() => consecutiveFailures().restore({ kind: 'countWindow' }, 0)).toThrow(TypeError);
    expect(() => consecutiveFailures().restore({ kind: 'consecutiveFailures', consecutiveFailures: -1 }, 0)).toThrow(RangeError);
  });
});

describe('countWindow', () => {
  it('opens when the failure rate over the last size calls reaches the threshold', () => {
    const s = countWindow({ size: 4, minimumCalls: 4, failureRateThreshold: 0.5 });
    expect(feed(s, [[OK, false, 0], [FAIL, false, 0], [OK, false, 0], [FAIL, false, 0]])).toEqual([undefined, undefined, undefined, 'failureRate']);
  });

  it('stays closed below minimumCalls however many fail', () => {
    const s = countWindow({ size: 10, minimumCalls: 5, failureRateThreshold: 0.5 });
    expect(feed(s, Array.from({ length: 4 }, () => [FAIL, false, 0] as const))).toEqual(Array(4).fill(undefined));
    expect(s.record(FAIL, false, 0)).toBe('failureRate');
  });

  it('forgets the oldest call once the window is full', () => {
    const s = countWindow({ size: 3, minimumCalls: 3, failureRateThreshold: 1 });
    feed(s, [[FAIL, false, 0], [FAIL, false, 0], [OK, false, 0]]);
    expect(s.stats(0)).toMatchObject({ calls: 3, failures: 2 });
    expect(s.record(FAIL, false, 0)).toBeUndefined(); // window: F, S, F
    expect(s.stats(0)).toMatchObject({ calls: 3, failures: 2 });
    expect(s.record(FAIL, false, 0)).toBeUndefined(); // S, F, F
    expect(s.record(FAIL, false, 0)).toBe('failureRate'); // F, F, F
  });

  it('opens on the slow-call rate when slowCallDurationMs is set, with failures counted too', () => {
    const s = countWindow({ size: 4, minimumCalls: 4, failureRateThreshold: 0.75, slowCallDurationMs: 100, slowCallRateThreshold: 0.5 });
    expect(s.slowCallDurationMs).toBe(100);
    expect(feed(s, [[OK, true, 0], [FAIL, false, 0], [OK, false, 0], [FAIL, true, 0]])).toEqual([undefined, undefined, undefined, 'slowCallRate']);
    expect(s.stats(0)).toEqual({ calls: 4, failures: 2, slowCalls: 2, failureRate: 0.5, slowCallRate: 0.5 });
  });

  it('prefers failureRate when both rules fire', () => {
    const s = countWindow({ size: 2, minimumCalls: 2, slowCallDurationMs: 1, slowCallRateThreshold: 0.5 });
    expect(feed(s, [[FAIL, true, 0], [FAIL, true, 0]])).toEqual([undefined, 'failureRate']);
  });

  it('defaults: size 100, minimumCalls 20, threshold 0.5; minimumCalls capped at a smaller size', () => {
    const s = countWindow();
    const v = feed(s, Array.from({ length: 20 }, (_, i) => [i % 2 === 0, false, 0] as const));
    expect(v.slice(0, 19).every((x) => x === undefined)).toBe(true);
    expect(v[19]).toBe('failureRate');
    const small = countWindow({ size: 3 });
    expect(feed(small, [[FAIL, false, 0], [OK, false, 0], [FAIL, false, 0]])).toEqual([undefined, undefined, 'failureRate']);
  });

  it('reset empties the window', () => {
    const s = countWindow({ size: 4, minimumCalls: 1 });
    s.record(FAIL, true, 0);
    s.reset();
    expect(s.stats(0)).toEqual({ calls: 0, failures: 0, slowCalls: 0, failureRate: 0, slowCallRate: 0 });
  });

  it('round-trips its window through JSON, oldest first, keeping the newest when the new size is smaller', () => {
    const a = countWindow({ size: 5, minimumCalls: 5, slowCallDurationMs: 10 });
    feed(a, [[OK, false, 0], [FAIL, false, 0], [OK, true, 0], [FAIL, true, 0], [OK, false, 0], [FAIL, false, 0]]);
    const saved = JSON.parse(JSON.stringify(a.save(0)));
    expect(saved).toEqual({ kind: 'countWindow', outcomes: [1, 2, 3, 0, 1] });
    const b = countWindow({ size: 5, minimumCalls: 5, slowCallDurationMs: 10 });
    b.restore(saved, 0);
    expect(b.stats(0)).toEqual(a.stats(0));
    const c = countWindow({ size: 2, minimumCalls: 1 });
    c.restore(saved, 0);
    expect(c.stats(0)).toMatchObject({ calls: 2, failures: 1, slowCalls: 0 });
  });

  it('rejects invalid options, naming them', () => {
    expect(() => countWindow({ size: 0 })).toThrow(/"size"/);
    expect(() => countWindow({ size: 10, minimumCalls: 11 })).toThrow(/"minimumCalls"/);
    expect(() => countWindow({ failureRateThreshold: 50 })).toThrow(/"failureRateThreshold".*\[0, 1\]/);
    expect(() => countWindow({ failureRateThreshold: 0 })).toThrow(RangeError);
    expect(() => countWindow({ slowCallRateThreshold: 0.5 })).toThrow(/needs option "slowCallDurationMs"/);
    expect(() => countWindow({ slowCallDurationMs: -1 })).toThrow(/"slowCallDurationMs"/);
    expect(() => countWindow({ minimumCalls: 0 })).toThrow(RangeError);
    expect(() => countWindow({ size: '10' as never })).toThrow(TypeError);
  });

  it('rejects malformed saved windows', () => {
    const s = countWindow();
    expect(() => s.restore({ kind: 'countWindow', outcomes: [0, 4] }, 0)).toThrow(TypeError);
    expect(() => s.restore({ kind: 'countWindow', outcomes: 'x' }, 0)).toThrow(TypeError);
    expect(() => s.restore({ kind: 'timeWindow', buckets: [] }, 0)).toThrow(TypeError);
  });
});

describe('timeWindow', () => {
  it('opens when the failure rate over the last windowMs reaches the threshold', () => {
    const s = timeWindow({ windowMs: 1000, buckets: 10, minimumCalls: 4, failureRateThreshold: 0.5 });
    expect(s.usesTime).toBe(true);
    expect(feed(s, [[OK, false, 0], [OK, false, 100], [FAIL, false, 200], [FAIL, false, 300]])).toEqual([undefined, undefined, undefined, 'failureRate']);
  });

  it('drops whole buckets as they age out of the window', () => {
    const s = timeWindow({ windowMs: 1000, buckets: 10, minimumCalls: 1, failureRateThreshold: 1 });
    feed(s, [[OK, false, 0], [OK, false, 50], [OK, false, 150]]);
    expect(s.stats(999).calls).toBe(3);
    // at 1000 the bucket [0, 100) leaves; [100, 200) stays until 1100
    expect(s.stats(1000).calls).toBe(1);
    expect(s.stats(1099).calls).toBe(1);
    expect(s.stats(1100).calls).toBe(0);
  });

  it('forgets an old failure streak: stale failures cannot trip it with fresh successes', () => {
    const s = timeWindow({ windowMs: 1000, buckets: 4, minimumCalls: 3, failureRateThreshold: 0.5 });
    feed(s, [[FAIL, false, 0], [FAIL, false, 10]]);
    expect(s.record(OK, false, 5000)).toBeUndefined();
    expect(s.stats(5000)).toMatchObject({ calls: 1, failures: 0 });
  });

  it('stays closed below minimumCalls in the window', () => {
    const s = timeWindow({ windowMs: 100, buckets: 1, minimumCalls: 3 });
    expect(feed(s, [[FAIL, false, 0], [FAIL, false, 50], [FAIL, false, 150], [FAIL, false, 160]])).toEqual([undefined, undefined, undefined, undefined]);
    expect(s.record(FAIL, false, 170)).toBe('failureRate');
  });

  it('opens on the slow-call rate', () => {
    const s = timeWindow({ windowMs: 1000, minimumCalls: 2, slowCallDurationMs: 50, slowCallRateThreshold: 1 });
    expect(feed(s, [[OK, true, 0], [OK, true, 1]])).toEqual([undefined, 'slowCallRate']);
  });

  it('handles times before the origin and a long idle gap', () => {
    const s = timeWindow({ windowMs: 30, buckets: 3, minimumCalls: 1, failureRateThreshold: 1 });
    s.record(OK, false, -25);
    expect(s.stats(-1).calls).toBe(1);
    expect(s.stats(1e12).calls).toBe(0);
    expect(s.record(FAIL, false, 1e12)).toBe('failureRate');
  });

  it('round-trips its window through JSON as bucket ages, re-based on the restore time', () => {
    const a = timeWindow({ windowMs: 1000, buckets: 10, minimumCalls: 1, slowCallDurationMs: 5 });
    feed(a, [[OK, false, 1000], [FAIL, true, 1250], [FAIL, false, 1900]]);
    const saved = JSON.parse(JSON.stringify(a.save(1950)));
    expect(saved).toEqual({ kind: 'timeWindow', buckets: [[900, 1, 0, 0], [700, 1, 1, 1], [0, 1, 1, 0]] });
    const b = timeWindow({ windowMs: 1000, buckets: 10, minimumCalls: 1, slowCallDurationMs: 5 });
    b.restore(saved, 77_050); // another process, another clock origin
    expect(b.stats(77_050)).toEqual(a.stats(1950));
    // ages carry over: the oldest bucket leaves 100 ms later, as it would have in the first process
    expect(b.stats(77_100).calls).toBe(2);
    expect(a.stats(2000).calls).toBe(2);
  });

  it('restores only the buckets that fit a shorter window', () => {
    const b = timeWindow({ windowMs: 500, buckets: 5, minimumCalls: 1 });
    b.restore({ kind: 'timeWindow', buckets: [[900, 4, 4, 0], [300, 2, 1, 0]] }, 0);
    expect(b.stats(0)).toMatchObject({ calls: 2, failures: 1 });
  });

  it('rejects invalid options and malformed saved windows', () => {
    expect(() => timeWindow({ windowMs: 0 })).toThrow(/"windowMs"/);
    expect(() => timeWindow({ buckets: 2.5 })).toThrow(/"buckets"/);
    expect(() => timeWindow({ failureRateThreshold: 1.01 })).toThrow(RangeError);
    const s = timeWindow();
    expect(() => s.restore({ kind: 'timeWindow', buckets: [[0, 1, 2, 0]] }, 0)).toThrow(RangeError);
    expect(() => s.restore({ kind: 'timeWindow', buckets: [[0, 1]] }, 0)).toThrow(TypeError);
    expect(() => s.restore({ kind: 'timeWindow', buckets: [[-5, 1, 0, 0]] }, 0)).toThrow(RangeError);
    expect(() => s.restore({ kind: 'timeWindow' }, 0)).toThrow(TypeError);
  });
});

describe('slowCallRate', () => {
  it('opens on the share of slow calls alone, whatever their outcome', () => {
    const s = slowCallRate({ slowCallDurationMs: 100, size: 4, minimumCalls: 4, slowCallRateThreshold: 0.75 });
    expect(feed(s, [[FAIL, false, 0], [FAIL, false, 0], [FAIL, false, 0], [FAIL, false, 0]])).toEqual(Array(4).fill(undefined));
    expect(feed(s, [[OK, true, 0], [FAIL, true, 0], [OK, true, 0]])).toEqual([undefined, undefined, 'slowCallRate']);
  });

  it('uses a time window when windowMs is given', () => {
    const s = slowCallRate({ slowCallDurationMs: 100, windowMs: 1000, buckets: 2, minimumCalls: 2 });
    expect(s.kind).toBe('timeWindow');
    expect(s.usesTime).toBe(true);
    expect(feed(s, [[OK, true, 0], [OK, false, 10], [OK, true, 600], [OK, true, 1500]])).toEqual([undefined, 'slowCallRate', 'slowCallRate', undefined]);
    expect(s.stats(1500)).toMatchObject({ calls: 1, slowCalls: 1 }); // buckets [0, 500) and [500, 1000) have left
  });

  it('defaults to a count window of 100 and a 0.5 threshold', () => {
    const s = slowCallRate({ slowCallDurationMs: 100 });
    expect(s.kind).toBe('countWindow');
    const v = feed(s, Array.from({ length: 20 }, (_, i) => [OK, i % 2 === 0, 0] as const));
    expect(v.indexOf('slowCallRate')).toBe(19);
  });

  it('rejects missing or conflicting options', () => {
    expect(() => slowCallRate({} as never)).toThrow(/"slowCallDurationMs" is required/);
    expect(() => slowCallRate({ slowCallDurationMs: 0 })).toThrow(RangeError);
    expect(() => slowCallRate({ slowCallDurationMs: 1, size: 10, windowMs: 100 })).toThrow(/not both/);
    expect(() => slowCallRate({ slowCallDurationMs: 1, buckets: 3 })).toThrow(/needs option "windowMs"/);
    expect(() => slowCallRate({ slowCallDurationMs: 1, slowCallRateThreshold: 2 })).toThrow(RangeError);
  });
});

describe('strategy options', () => {
  it('regression: an unknown option name is refused, naming the closest known one, in every strategy factory', () => {
    expect(() => consecutiveFailures({ treshold: 3 } as never)).toThrow(/consecutiveFailures: unknown option "treshold" \(did you mean "threshold"\?\)/);
    expect(() => countWindow({ sise: 10 } as never)).toThrow(/countWindow: unknown option "sise" \(did you mean "size"\?\)/);
    expect(() => countWindow({ failureRateTreshold: 0.2 } as never)).toThrow(/did you mean "failureRateThreshold"/);
    expect(() => timeWindow({ windowMS: 1000 } as never)).toThrow(/timeWindow: unknown option "windowMS" \(did you mean "windowMs"\?\)/);
    expect(() => timeWindow({ minimumCall: 5 } as never)).toThrow(/did you mean "minimumCalls"/);
    expect(() => slowCallRate({ slowCallDurationMs: 100, bucket: 3 } as never)).toThrow(/slowCallRate: unknown option "bucket" \(did you mean "buckets"\?\)/);
    // failureRateThreshold is no option of the slow-call-only strategy: it would be silently ignored.
    expect(() => slowCallRate({ slowCallDurationMs: 100, failureRateThreshold: 0.5 } as never)).toThrow(/slowCallRate: unknown option "failureRateThreshold"/);
    for (const make of [() => consecutiveFailures({ nope: 1 } as never), () => countWindow({ nope: 1 } as never), () => timeWindow({ nope: 1 } as never)]) {
      expect(make).toThrow(TypeError);
    }
  });

  it('regression: a huge size or bucket count is a RangeError naming the option, not "Invalid typed array length" or gigabytes allocated', () => {
    for (const size of [1e308, 1e8, MAX_COUNT_WINDOW_SIZE + 1]) {
      expect(() => countWindow({ size }), String(size)).toThrow(RangeError);
      expect(() => countWindow({ size }), String(size)).toThrow(`countWindow: option "size" must be an integer in [1, 1000000]`);
      expect(() => countWindow({ size }), String(size)).toThrow(`got ${String(size)}`);
      expect(() => slowCallRate({ slowCallDurationMs: 10, size }), String(size)).toThrow(/slowCallRate: option "size"/);
    }
    for (const buckets of [1e308, 1e8, MAX_TIME_WINDOW_BUCKETS + 1]) {
      expect(() => timeWindow({ windowMs: 1e12, buckets }), String(buckets)).toThrow(/timeWindow: option "buckets" must be an integer in \[1, 10000\]/);
      expect(() => slowCallRate({ slowCallDurationMs: 10, windowMs: 1e12, buckets }), String(buckets)).toThrow(/slowCallRate: option "buckets"/);
    }
    // The caps themselves are accepted.
    expect(countWindow({ size: MAX_COUNT_WINDOW_SIZE }).stats(0).calls).toBe(0);
    expect(timeWindow({ windowMs: 1e6, buckets: MAX_TIME_WINDOW_BUCKETS }).stats(0).calls).toBe(0);
  });

  it('regression: buckets narrower than 1 ms are refused (their numbers lose integer precision on a large clock and stop rotating)', () => {
    expect(() => timeWindow({ windowMs: 5, buckets: 10 })).toThrow(/timeWindow: option "windowMs" must be at least 1 ms per bucket.*got windowMs 5 with 10 bucket/);
    expect(() => timeWindow({ windowMs: 1e-300 })).toThrow(RangeError);
    expect(() => slowCallRate({ slowCallDurationMs: 1, windowMs: 0.5, buckets: 1 })).toThrow(/slowCallRate: option "windowMs"/);
    // 1 ms buckets on a Date.now-sized clock still rotate: old failures leave the window.
    const s = timeWindow({ windowMs: 10, buckets: 10, minimumCalls: 1, failureRateThreshold: 1 });
    const t0 = 1.7e12;
    expect(s.record(false, false, t0)).toBe('failureRate');
    expect(s.stats(t0 + 9).calls).toBe(1);
    expect(s.stats(t0 + 10).calls).toBe(0);
    expect(s.record(true, false, t0 + 10.5)).toBeUndefined();
  });

  it('accepts a huge windowMs or threshold and behaves (never forgets, never trips)', () => {
    const s = timeWindow({ windowMs: Number.MAX_VALUE, minimumCalls: 1, failureRateThreshold: 1 });
    expect(s.record(true, false, 0)).toBeUndefined();
    expect(s.stats(1e15).calls).toBe(1);
    const c = consecutiveFailures({ threshold: 1e300 });
    for (let i = 0; i < 100; i++) expect(c.record(false, false, i)).toBeUndefined();
  });
});
