import { describe, expect, it } from 'vitest';
import { constantBackoff, decorrelatedJitter, equalJitter, exponentialBackoff, fullJitter } from '../../src/retry/index.js';
import { occContention, type ContentionBackoff } from '../../src/sim/index.js';

// sluice's own backoff functions, set up as the AWS simulator defines its variants (aws-samples/aws-arch-backoff-simulator,
// the model behind Marc Brooker's "Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
// v = min(cap, base · 2^n) with n = 1 on the first retry, base 5 ms, cap 2 s. The retry family counts the first retry
// as base · 2^0, so its baseMs is 2 × 5 ms; decorrelated jitter starts from base itself.
const variants: Record<string, ContentionBackoff> = {
  none: constantBackoff({ delayMs: 0 }),
  expo: exponentialBackoff({ baseMs: 10, capMs: 2000 }),
  equal: equalJitter({ baseMs: 10, capMs: 2000 }),
  full: fullJitter({ baseMs: 10, capMs: 2000 }),
  decorrelated: decorrelatedJitter({ baseMs: 5, capMs: 2000 }),
};

// A reproduction of that OCC backoff model (aws-samples/aws-arch-backoff-simulator): calls / completion ms, mean of
// 100 runs.
const TABLE: Record<number, Record<string, [number, number]>> = {
  10: { none: [50, 377], expo: [50, 3433], equal: [43, 730], full: [39, 459], decorrelated: [37, 422] },
  20: { none: [151, 599], expo: [149, 14186], equal: [109, 1667], full: [100, 967], decorrelated: [101, 817] },
  50: { none: [688, 1139], expo: [624, 36543], equal: [347, 4286], full: [332, 2929], decorrelated: [374, 2232] },
  100: { none: [2427, 2031], expo: [1852, 63309], equal: [812, 6644], full: [797, 4910], decorrelated: [1002, 4617] },
};

describe('occContention', () => {
  for (const n of [10, 20, 50, 100]) {
    it(`reproduces the AWS backoff simulator's table within ±10 % at N = ${n}`, async () => {
      const lines: string[] = [];
      for (const [name, backoff] of Object.entries(variants)) {
        const r = await occContention({ clients: n, backoff, runs: 100, seed: 7 });
        const [calls, ms] = TABLE[n]![name]!;
        lines.push(`${name} ${r.calls.toFixed(0)}/${r.completionMs.toFixed(0)} (ref ${calls}/${ms})`);
        expect(Math.abs(r.calls - calls) / calls, `${name} calls`).toBeLessThan(0.1);
        expect(Math.abs(r.completionMs - ms) / ms, `${name} completion`).toBeLessThan(0.1);
      }
      console.log(`N=${n}: ${lines.join(' | ')}`);
    });
  }

  it('needs exactly N calls for N clients that never conflict (one client)', async () => {
    const r = await occContention({ clients: 1, backoff: () => 0, runs: 10 });
    expect(r.calls).toBe(1);
  });

  it('rejects a missing client count', async () => {
    await expect(occContention({ backoff: () => 0 } as never)).rejects.toThrow(/clients/);
  });
});
