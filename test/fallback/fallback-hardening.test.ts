import { describe, expect, it } from 'vitest';
import { fallback, pipeline, tokenBucket } from '../../src/index.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';
import { captureReported } from '../support/reported.js';

describe('fallback hardening', () => {
  it('regression: fallback({ vaule }) is a TypeError naming the key and suggesting "value"', () => {
    expect(() => fallback({ handler: () => 1, whenResults: () => true } as never)).toThrow(/unknown option "whenResults" \(did you mean "whenResult"\?\)/);
    expect(() => fallback({ vaule: 1 } as never)).toThrow(/unknown option "vaule"/);
  });

  it('dispose() refuses later calls with DISPOSED; a call already running still gets its replacement', async () => {
    const clock = new ManualClock();
    const fb = fallback({ value: 'fb', clock });
    let fail: (e: unknown) => void = () => {};
    const running = fb.execute(() => new Promise((_r, rej) => (fail = rej)));
    await flushMicrotasks();
    fb.dispose();
    fail(new Error('dependency'));
    await expect(running).resolves.toBe('fb');
    await expect(fb.execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
    // Fused too: a disposed fallback does not replace its own refusal.
    await expect(pipeline(fb, tokenBucket({ capacity: 1, refillPerSecond: 1, clock })).execute(() => 1)).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(fb.stats()).toMatchObject({ disposed: true, rejected: 2, fallbacks: 1 });
  });

  it('regression: a fallback listener that throws does not replace the replacement; its error is re-raised', async () => {
    const reported = captureReported();
    try {
      const fb = fallback({ value: 'fb', clock: new ManualClock() });
      const boom = new Error('listener');
      fb.events.on('fallback', () => {
        throw boom;
      });
      await expect(fb.execute(() => Promise.reject(new Error('x')))).resolves.toBe('fb');
      await expect(pipeline(fb).execute(() => Promise.reject(new Error('x')))).resolves.toBe('fb');
      await flushMicrotasks();
      expect(reported.errors).toEqual([boom, boom]);
    } finally {
      reported.restore();
    }
  });
});
