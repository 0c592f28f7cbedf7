/**
 * The built package as a user gets it: `npm test` builds first (tsup), then these tests load `dist/` through the
 * package's own `exports` map (self-reference by name), in both module systems, and the packed tarball installed
 * into a fresh project (test/package/packed.ts), where scripts run in their own `node` processes.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedProject, runNode } from './packed.js';

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
    for (const entry of ['sluice', 'sluice/testing', 'sluice/sim', 'sluice/http', 'sluice/fetch', 'sluice/undici', 'sluice/axios', 'sluice/prometheus', 'sluice/otel', 'sluice/redis']) {
      const esm = (await import(entry)) as Record<string, unknown>;
      const cjs = require(entry) as Record<string, unknown>;
      expect(Object.keys(esm).length).toBeGreaterThan(0);
      expect(Object.keys(cjs).sort()).toEqual(Object.keys(esm).filter((k) => k !== 'default').sort());
    }
  });

  it('the core entry imports no optional peer (undici, axios, prom-client, @opentelemetry/api, ioredis, redis), nor node:crypto', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const dist = new URL('../../dist/', import.meta.url);
    const core = readFileSync(new URL('index.js', dist), 'utf8');
    const chunks = readdirSync(dist).filter((f) => f.startsWith('chunk-') && f.endsWith('.js'));
    for (const file of ['index.js', ...chunks]) {
      const text = file === 'index.js' ? core : readFileSync(new URL(file, dist), 'utf8');
      expect(text, file).not.toMatch(/from ['"](undici|axios|prom-client|@opentelemetry\/api|ioredis|redis)['"]|require\(['"](undici|axios|prom-client|@opentelemetry\/api|ioredis|redis)['"]\)/);
      if (file === 'index.js') expect(text, file).not.toMatch(/node:crypto/);
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

/** Loads the three entry points in the script's module system and reports what the packaging must guarantee. */
const SHARED_CORE = (load: string): string => `${load}
const { getEventListeners } = require('node:events');
(async () => {
  const out = {};
  // One copy of the core per module system: the entries share its objects.
  out.seededRandomShared = testing.seededRandom === main.seededRandom;
  // regression: sluice/sim had its own NEVER_ABORTED, so every call without a caller deadline added an abort
  // listener to the main entry's (process-wide) signal.
  const r = await sim.simulate({
    durationMs: 500,
    deadlineMs: Infinity,
    load: { perSecond: 400 },
    policy: ({ clock }) => main.bulkhead({ limit: 50, maxQueue: 1000, clock }),
  });
  out.calls = r.summary.attempts;
  out.listeners = getEventListeners(main.NEVER_ABORTED, 'abort').length;
  out.clockIsFrozen = Object.isFrozen(main.systemClock);
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('the packed package, installed into a fresh project', () => {
  let project: string;
  beforeAll(() => {
    project = packedProject();
  }, 60_000);

  it('regression: sluice/sim carried its own copy of the core (CommonJS): one NEVER_ABORTED, no listener left on it', () => {
    const out = runNode(project, 'shared-core.cjs', SHARED_CORE("const main = require('sluice'); const sim = require('sluice/sim'); const testing = require('sluice/testing');"));
    expect(out).toMatchObject({ seededRandomShared: true, listeners: 0, clockIsFrozen: true });
    expect((out as { calls: number }).calls).toBeGreaterThan(100);
  });

  it('regression: sluice/sim carried its own copy of the core (ESM): one NEVER_ABORTED, no listener left on it', () => {
    const out = runNode(
      project,
      'shared-core.mjs',
      SHARED_CORE(
        "import * as main from 'sluice'; import * as sim from 'sluice/sim'; import * as testing from 'sluice/testing'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      ),
    );
    expect(out).toMatchObject({ seededRandomShared: true, listeners: 0, clockIsFrozen: true });
    expect((out as { calls: number }).calls).toBeGreaterThan(100);
  });

  it('regression: ESM and CJS copies in one pipeline threw "every policy must share one clock"; they share systemClock and NEVER_ABORTED and compose', () => {
    const out = runNode(
      project,
      'dual.mjs',
      `import * as esm from 'sluice';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('sluice');
const out = { sameClock: esm.systemClock === cjs.systemClock, sameNever: esm.NEVER_ABORTED === cjs.NEVER_ABORTED };
// Default clocks everywhere: no clock passed.
const p = esm.pipeline(cjs.retry({ maxAttempts: 2 }), esm.tokenBucket({ capacity: 5, refillPerSecond: 5 }), cjs.bulkhead({ limit: 2 }), esm.timeout({ timeoutMs: 1000 }));
let attempts = 0;
out.result = await p.execute(async () => { if (++attempts === 1) throw new Error('flaky'); return 'ok'; });
out.attempts = attempts;
out.reversed = await cjs.pipeline(esm.bulkhead({ limit: 1 }), cjs.timeout({ timeoutMs: 1000 })).execute(() => 'ok');
// The copies share one table of names per metrics registry too.
const metrics = esm.createMetricsRegistry();
out.names = [esm.tokenBucket({ capacity: 1, refillPerSecond: 1, metrics }).name, cjs.tokenBucket({ capacity: 1, refillPerSecond: 1, metrics }).name];
console.log(JSON.stringify(out));
`,
    );
    expect(out).toEqual({ sameClock: true, sameNever: true, result: 'ok', attempts: 2, reversed: 'ok', names: ['tokenBucket', 'tokenBucket#2'] });
  });

  it('regression: import loaded hdr-histogram-js eagerly; it is loaded by the first recorded histogram value (ESM and CJS)', () => {
    const probe = `const hdrLoaded = () => Object.keys(require.cache).some((k) => k.includes('hdr-histogram-js'));
const out = { afterImport: hdrLoaded() };
const metrics = main.createMetricsRegistry();
const bucket = main.tokenBucket({ capacity: 5, refillPerSecond: 5, metrics });
out.afterCreate = hdrLoaded();
bucket.execute(() => 1).then(() => {
  out.afterRecord = hdrLoaded();
  out.count = metrics.histogramSummary('sluice_call_duration_ms', { policy: 'tokenBucket', kind: 'tokenBucket', outcome: 'success' }).count;
  console.log(JSON.stringify(out));
});
`;
    const expected = { afterImport: false, afterCreate: false, afterRecord: true, count: 1 };
    expect(runNode(project, 'lazy.cjs', `const main = require('sluice');
${probe}`)).toEqual(expected);
    expect(
      runNode(project, 'lazy.mjs', `import * as main from 'sluice'; import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);
${probe}`),
    ).toEqual(expected);
  });
});
