import { describe, expect, it } from 'vitest';
import { coarseClock, type CoarseClockHost } from '../../src/core/clock.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';

/** A host whose time and ticker move only by hand. */
function fakeHost() {
  let time = 1000;
  let ticker: (() => void) | undefined;
  let hostReads = 0;
  const host: CoarseClockHost = {
    now: () => (hostReads++, time),
    setInterval: (cb) => ((ticker = cb), 'ticker'),
    clearInterval: () => (ticker = undefined),
  };
  return {
    host,
    get running() {
      return ticker !== undefined;
    },
    get hostReads() {
      return hostReads;
    },
    /** Real time passes by `ms`; the ticker fires once (if running). */
    pass(ms: number) {
      time += ms;
      ticker?.();
    },
  };
}

describe('coarseClock', () => {
  it('serves reads from the cached time and does not read the host on every call', () => {
    const h = fakeHost();
    const clock = coarseClock(1, h.host);
    const before = h.hostReads;
    for (let i = 0; i < 100; i++) expect(clock.now()).toBe(1000);
    expect(h.hostReads - before).toBe(1); // the first read starts the ticker with one real read
    h.pass(1);
    expect(clock.now()).toBe(1001);
  });

  it('stops its ticker after a tick with no read, and restarts with a real read on the next read', () => {
    const h = fakeHost();
    const clock = coarseClock(1, h.host);
    clock.now();
    expect(h.running).toBe(true);
    h.pass(1); // there was a read since the last tick: keeps running
    expect(h.running).toBe(true);
    h.pass(1); // no read since: stops
    expect(h.running).toBe(false);
    h.pass(500); // time passes while stopped
    expect(clock.now()).toBe(1502); // the restarting read is exact
    expect(h.running).toBe(true);
  });

  it('never goes backwards', () => {
    let t = 50;
    let tick: (() => void) | undefined;
    const clock = coarseClock(1, { now: () => t, setInterval: (cb) => ((tick = cb), 1), clearInterval: () => {} });
    expect(clock.now()).toBe(50);
    t = 40; // a host going backwards (it must not, but the cache guards anyway)
    tick!();
    expect(clock.now()).toBe(50);
  });

  it('validates resolutionMs', () => {
    expect(() => coarseClock(0)).toThrow(/resolutionMs/);
    expect(() => coarseClock(1.5)).toThrow(RangeError);
    expect(() => coarseClock(Number.NaN)).toThrow(/NaN/);
  });

  it('keeps a token bucket within capacity + rate·t, because a lagging clock only refills late', () => {
    const h = fakeHost();
    const clock = coarseClock(1, h.host);
    const bucket = tokenBucket({ capacity: 5, refillPerSecond: 1000, clock });
    let admitted = 0;
    for (let ms = 0; ms < 100; ms++) {
      for (let k = 0; k < 10; k++) if (bucket.tryAcquire().ok) admitted++;
      h.pass(1);
    }
    // 100 ms at 1000/s is 100 tokens, plus the initial 5; a lagging clock can only give fewer.
    expect(admitted).toBeLessThanOrEqual(105);
    expect(admitted).toBeGreaterThanOrEqual(100);
  });
});
