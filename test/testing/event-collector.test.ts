import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { ManualClock, collectEvents } from '../../src/testing/index.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';

describe('collectEvents', () => {
  it('records the named events in order, with their payloads', () => {
    const e = new EventEmitter();
    const events = collectEvents(e, ['a', 'b']);
    e.emit('a', 1);
    e.emit('c', 'ignored');
    e.emit('b', { x: 2 });
    e.emit('a', 3);
    expect(events.all).toEqual([
      { event: 'a', payload: 1 },
      { event: 'b', payload: { x: 2 } },
      { event: 'a', payload: 3 },
    ]);
    expect(events.of('a')).toEqual([1, 3]);
    expect(events.of('c')).toEqual([]);
  });

  it('stop() unsubscribes, leaving no listener behind', () => {
    const e = new EventEmitter();
    const events = collectEvents(e, ['a']);
    expect(e.listenerCount('a')).toBe(1);
    events.stop();
    expect(e.listenerCount('a')).toBe(0);
    e.emit('a', 1);
    expect(events.all).toEqual([]);
  });

  it("collects a primitive's typed events", () => {
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock: new ManualClock(), name: 'b' });
    const events = collectEvents(bucket.events, ['reject']);
    bucket.tryAcquire();
    bucket.tryAcquire();
    expect(events.of('reject')).toEqual([{ policy: 'b', reason: 'RATE_LIMITED', retryAfterMs: 1000, cost: 1 }]);
    events.stop();
  });
});
