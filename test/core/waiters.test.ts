import { describe, expect, it } from 'vitest';
import { FifoQueue } from '../../src/core/queue.js';
import { Alarm, Waiter } from '../../src/core/waiters.js';
import { Context, NEVER_ABORTED } from '../../src/core/context.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';

const promises = new WeakMap<Waiter, Promise<unknown>>();
/** A waiter of `cost` on `signal`, with its promise created (read back with `promiseOf`). */
const waiter = (cost = 1, signal: AbortSignal = NEVER_ABORTED) => {
  const w = new Waiter(new Context(signal, undefined, 0, undefined, cost), 0, undefined);
  promises.set(w, w.promise());
  return w;
};
const promiseOf = (w: Waiter) => promises.get(w)!;
const costs = (q: FifoQueue<Waiter>) => [...q].map((w) => w.cost);

describe('Lane and FifoQueue (core/queue.ts)', () => {
  it('is FIFO: push at the tail, shift from the head; the cost sum follows', () => {
    const q = new FifoQueue<Waiter>();
    for (const c of [1, 2, 3]) q.enqueue(waiter(c));
    expect([q.size, q.cost]).toEqual([3, 6]);
    expect(q.peek()?.cost).toBe(1);
    expect(q.dequeue()?.cost).toBe(1);
    expect(costs(q)).toEqual([2, 3]);
    expect(q.dequeue()?.cost).toBe(2);
    expect(q.dequeue()?.cost).toBe(3);
    expect(q.dequeue()).toBeUndefined();
    expect([q.head, q.tail, q.size, q.cost]).toEqual([undefined, undefined, 0, 0]);
  });

  it('removes any waiter in O(1); removing one that is not queued there is a no-op', () => {
    const q = new FifoQueue<Waiter>();
    const other = new FifoQueue<Waiter>();
    const ws = [1, 2, 3, 4].map((c) => waiter(c));
    for (const w of ws) q.enqueue(w);
    expect(other.remove(ws[0]!)).toBe(false);
    expect(q.remove(ws[1]!)).toBe(true);
    expect(q.remove(ws[1]!)).toBe(false);
    expect(q.remove(ws[3]!)).toBe(true);
    expect(q.remove(ws[0]!)).toBe(true);
    expect(costs(q)).toEqual([3]);
    expect(q.head).toBe(ws[2]);
    expect(q.tail).toBe(ws[2]);
    expect([q.size, q.cost, q.costAhead()]).toEqual([1, 3, 3]);
  });

  it('tail drop: a full FIFO sheds nobody for a newcomer; its evictable waiter is the newest', () => {
    const q = new FifoQueue<Waiter>();
    const ws = [1, 2].map((c) => waiter(c));
    for (const w of ws) q.enqueue(w);
    expect(q.victim()).toBeUndefined();
    expect(q.evictable()).toBe(ws[1]);
    expect(q.pop()).toBe(ws[1]);
    expect(q.size).toBe(1);
  });

  it('drain() empties the queue, head first; iteration survives removal of the current waiter', () => {
    const q = new FifoQueue<Waiter>();
    for (const c of [1, 2, 3]) q.enqueue(waiter(c));
    const seen: number[] = [];
    for (const w of q) {
      seen.push(w.cost);
      q.remove(w);
    }
    expect(seen).toEqual([1, 2, 3]);
    for (const c of [4, 5]) q.enqueue(waiter(c));
    expect(q.drain().map((w) => w.cost)).toEqual([4, 5]);
    expect([q.size, q.cost]).toEqual([0, 0]);
    expect(q.head).toBeUndefined();
  });

  it('leaves no float residue in the cost sum once empty', () => {
    const q = new FifoQueue<Waiter>();
    for (const c of [0.1, 0.2, 0.3]) q.enqueue(waiter(c));
    q.dequeue();
    q.dequeue();
    q.dequeue();
    expect(q.cost).toBe(0);
  });
});

describe('Waiter', () => {
  it('settles once: later resolve/reject calls are ignored', async () => {
    const w = waiter();
    w.resolve('first');
    w.reject(new Error('late'));
    w.resolve('second');
    await expect(promiseOf(w)).resolves.toBe('first');
    expect(w.settled).toBe(true);
  });

  it('calls onAbort once when its signal aborts before it settles, and stops listening once settled', async () => {
    const ac = new AbortController();
    const w = waiter(1, ac.signal);
    const aborted: Waiter[] = [];
    w.watchAbort((x) => aborted.push(x));
    ac.abort();
    ac.abort();
    expect(aborted).toEqual([w]);
    w.reject(ac.signal.reason);
    await expect(promiseOf(w)).rejects.toBe(ac.signal.reason);

    const ac2 = new AbortController();
    const settled = waiter(1, ac2.signal);
    let calls = 0;
    settled.watchAbort(() => calls++);
    settled.resolve('done');
    ac2.abort();
    expect(calls).toBe(0);
    await flushMicrotasks();
  });
});

describe('Alarm', () => {
  it('keeps at most one timer armed and re-arms only when the time changes', async () => {
    const clock = new ManualClock();
    let fired = 0;
    const alarm = new Alarm(clock, () => fired++);
    alarm.set(100);
    alarm.set(100);
    expect(clock.pendingTimers()).toBe(1);
    alarm.set(50);
    expect(clock.pendingTimers()).toBe(1);
    expect([alarm.armed, alarm.dueAt, clock.nextTimerAt()]).toEqual([true, 50, 50]);
    await clock.advance(100);
    expect(fired).toBe(1);
    expect([alarm.armed, alarm.dueAt]).toEqual([false, Infinity]);
  });

  it('clear() disarms; the callback may re-arm', async () => {
    const clock = new ManualClock();
    const times: number[] = [];
    const alarm: Alarm = new Alarm(clock, () => {
      times.push(clock.now());
      if (times.length < 3) alarm.set(clock.now() + 10);
    });
    alarm.set(5);
    alarm.clear();
    alarm.clear();
    expect(clock.pendingTimers()).toBe(0);
    alarm.set(5);
    await clock.advance(100);
    expect(times).toEqual([5, 15, 25]);
    expect(clock.pendingTimers()).toBe(0);
  });
});
