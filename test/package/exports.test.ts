/**
 * The built package as a user gets it: `npm test` builds first (tsup), then these tests load `dist/` through the
 * package's own `exports` map (self-reference by name), in both module systems.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
/** Imported through a variable so that type-checking (which runs before the build) does not need dist/. */
const PKG: string = 'sluice';

describe('package exports', () => {
  it('has been built (npm test runs the build first)', () => {
    expect(existsSync(new URL('../../dist/index.js', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../../dist/index.d.ts', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../../dist/index.d.cts', import.meta.url))).toBe(true);
  });

  it('loads every entry point as ESM and as CommonJS', async () => {
    for (const entry of ['sluice', 'sluice/testing', 'sluice/sim']) {
      const esm = (await import(entry)) as Record<string, unknown>;
      const cjs = require(entry) as Record<string, unknown>;
      expect(Object.keys(esm).length).toBeGreaterThan(0);
      expect(Object.keys(cjs).sort()).toEqual(Object.keys(esm).filter((k) => k !== 'default').sort());
    }
  });

  it('isRejectedError recognises a rejection from the other module system (duplicate ESM/CJS copies)', async () => {
    const esm = (await import(PKG)) as typeof import('../../src/index.js');
    const cjs = require(PKG) as typeof import('../../src/index.js');
    const fromCjs = new cjs.RateLimitedError('api', 250);
    expect(fromCjs instanceof esm.RateLimitedError).toBe(false); // two copies: instanceof cannot work
    expect(esm.isRejectedError(fromCjs)).toBe(true);
    expect(cjs.isRejectedError(new esm.QueueFullError('api', 0))).toBe(true);
    expect(esm.isTimeoutError(new cjs.TimeoutError('t', 5))).toBe(true);
  });

  it('composes policies from the two copies in one pipeline (registered RUN symbol)', async () => {
    const esm = (await import(PKG)) as typeof import('../../src/index.js');
    const cjs = require(PKG) as typeof import('../../src/index.js');
    const clock = esm.systemClock;
    const p = esm.pipeline(
      esm.tokenBucket({ capacity: 5, refillPerSecond: 5, clock }),
      cjs.leakyBucket({ ratePerSecond: 1000, burst: 5, clock: clock as never }),
    );
    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
  });
});
