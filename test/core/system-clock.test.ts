import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';

describe('systemClock', () => {
  it('clamps delays above the host maximum instead of letting Node fire them after 1 ms (regression: far deadline woke every ms)', () => {
    const handle = systemClock.setTimeout(() => {}, 1e12) as { _idleTimeout?: number };
    try {
      expect(handle._idleTimeout).toBe(2_147_483_647);
    } finally {
      systemClock.clearTimeout(handle);
    }
  });

  it('treats negative and NaN delays as 0 and reads a monotonic time', () => {
    const h1 = systemClock.setTimeout(() => {}, -5) as { _idleTimeout?: number };
    const armed = h1._idleTimeout;
    systemClock.clearTimeout(h1);
    expect(armed).toBe(1); // Node's floor for 0
    const a = systemClock.now();
    const b = systemClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
  });
});
