import { describe, expect, it } from 'vitest';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

describe('ManualClock', () => {
  it('starts at 0 or at the given time, and only moves when told', async () => {
    expect(new ManualClock().now()).toBe(0);
    const clock = new ManualClock(1234.5);
    expect(clock.now()).toBe(1234.5);
    await flushMicrotasks();
    expect(clock.now()).toBe(1234.5);
  });

  it('rejects a start time that is not a finite number', () => {
    for (const bad of [Number.NaN, Infinity, '5']) expect(() => new ManualClock(bad as number)).toThrow(RangeError);
  });

  it('fires timers in order of due time, then of arming, each at its due time', async () => {
    const clock = new ManualClock(100);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('A'), 30);
    clock.setTimeout(at('B'), 10);
    clock.setTimeout(at('C'), 10);
    clock.setTimeout(at('D'), 20);
    expect(clock.pendingTimers()).toBe(4);
    expect(clock.nextTimerAt()).toBe(110);
    await clock.advance(100);
    expect(fired).toEqual([
      ['B', 110],
      ['C', 110],
      ['D', 120],
      ['A', 130],
    ]);
    expect(clock.now()).toBe(200);
    expect(clock.pendingTimers()).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('fires only what falls due: advance stops at the target time', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), 50);
    clock.setTimeout(() => fired.push(2), 51);
    await clock.advance(50);
    expect(fired).toEqual([1]);
    expect(clock.now()).toBe(50);
    await clock.advanceTo(51);
    expect(fired).toEqual([1, 2]);
  });

  it('treats a negative or NaN delay as 0', async () => {
    const clock = new ManualClock(10);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), -5);
    clock.setTimeout(() => fired.push(clock.now()), Number.NaN);
    await clock.advance(0);
    expect(fired).toEqual([10, 10]);
  });

  it('a cleared timer never fires; clearing twice or after firing is a no-op', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const a = clock.setTimeout(() => fired.push('a'), 10);
    const b = clock.setTimeout(() => fired.push('b'), 10);
    clock.clearTimeout(a);
    clock.clearTimeout(a);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(10);
    clock.clearTimeout(b);
    expect(fired).toEqual(['b']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('fires timers armed by callbacks when they fall within the same advance', async () => {
    const clock = new ManualClock();
    const fired: [string, number][] = [];
    clock.setTimeout(() => {
      fired.push(['first', clock.now()]);
      clock.setTimeout(() => fired.push(['same instant', clock.now()]), 0);
      clock.setTimeout(() => fired.push(['chained', clock.now()]), 5);
      clock.setTimeout(() => fired.push(['too late', clock.now()]), 50);
    }, 10);
    await clock.advance(20);
    expect(fired).toEqual([
      ['first', 10],
      ['same instant', 10],
      ['chained', 15],
    ]);
    expect(clock.now()).toBe(20);
    expect(clock.nextTimerAt()).toBe(60);
  });

  it('flushes promise reactions after each timer, before the next one fires', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      order.push('t1');
      void Promise.resolve()
        .then(() => order.push('chain 1'))
        .then(() => order.push('chain 2'))
        .then(() => order.push('chain 3'));
    }, 10);
    clock.setTimeout(() => order.push('t2'), 10);
    await clock.advance(10);
    expect(order).toEqual(['t1', 'chain 1', 'chain 2', 'chain 3', 't2']);
  });

  it('advance rejects a negative, NaN or infinite step; advanceTo the past changes nothing', async () => {
    const clock = new ManualClock(100);
    for (const bad of [-1, Number.NaN, Infinity]) await expect(clock.advance(bad)).rejects.toBeInstanceOf(RangeError);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), 0);
    await clock.advanceTo(50);
    expect(clock.now()).toBe(100);
    expect(fired).toEqual([]);
  });

  it('runAll fires every finite timer, advancing to each, and returns how many fired', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 300);
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 1000);
    }, 100);
    clock.setTimeout(() => fired.push(-1), Infinity);
    expect(await clock.runAll()).toBe(3);
    expect(fired).toEqual([100, 300, 1100]);
    expect(clock.now()).toBe(1100);
    expect(clock.pendingTimers()).toBe(1); // the Infinity timer never falls due
  });

  it('runAll stops a timer that keeps re-arming itself', async () => {
    const clock = new ManualClock();
    const loop = (): void => {
      clock.setTimeout(loop, 1);
    };
    loop();
    await expect(clock.runAll(50)).rejects.toThrow(/more than 50 timers fired/);
  });
});

describe('flushMicrotasks', () => {
  it('resolves after pending promise reactions have run', async () => {
    const order: string[] = [];
    void Promise.resolve()
      .then(() => order.push('a'))
      .then(() => order.push('b'));
    await flushMicrotasks();
    expect(order).toEqual(['a', 'b']);
  });
});
