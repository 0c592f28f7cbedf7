import { describe, expect, it } from 'vitest';
import { ServiceRate } from '../../src/concurrency/service-rate.js';

describe('ServiceRate', () => {
  it('is NaN until the first gap, then the gap per unit', () => {
    const r = new ServiceRate();
    expect(r.msPerUnit).toBeNaN();
    r.sample(6, 3);
    expect(r.msPerUnit).toBe(2);
  });

  it('converges to the mean gap per unit of a steady stream of completions', () => {
    const r = new ServiceRate();
    r.sample(100, 1); // a first, unrepresentative gap
    for (let i = 0; i < 400; i++) r.sample(i % 2 === 0 ? 1 : 3, 1); // mean 2 ms
    expect(r.msPerUnit).toBeGreaterThan(1.9);
    expect(r.msPerUnit).toBeLessThan(2.1);
  });

  it('ignores gaps it cannot use (negative, NaN, no units)', () => {
    const r = new ServiceRate();
    r.sample(4, 1);
    for (const [gap, units] of [[-1, 1], [Number.NaN, 1], [1, 0], [1, Number.NaN]] as const) r.sample(gap, units);
    expect(r.msPerUnit).toBe(4);
  });
});
