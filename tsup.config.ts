import { defineConfig } from 'tsup';

/**
 * Every entry point (sluice, sluice/testing, sluice/sim, sluice/http, sluice/fetch, sluice/undici, sluice/axios, sluice/prometheus, sluice/otel, sluice/redis) is built into one module graph per
 * format: code shared by several entries lives in one chunk (dist/chunk-*.js, dist/chunk-*.cjs) that they all import,
 * so each format holds exactly one copy of the core (one NEVER_ABORTED, one systemClock, one Context class). With
 * `splitting: false` every entry carried its own copy. CJS splitting goes through rollup (tsup runs rollup for
 * `treeshake`), which emits `require()`d chunks. `shims` gives the CJS build `import.meta.url`, which the metrics
 * registry's lazy `createRequire` needs. test/package/ checks all of this on the packed tarball.
 */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'sim/index': 'src/sim/index.ts',
    'http/index': 'src/http/index.ts',
    'fetch/index': 'src/http/fetch-entry.ts',
    'undici/index': 'src/http/undici-entry.ts',
    'axios/index': 'src/http/axios-entry.ts',
    'prometheus/index': 'src/exporters/prometheus-entry.ts',
    'otel/index': 'src/exporters/otel-entry.ts',
    'redis/index': 'src/redis/index.ts',
  },
  // Optional peers: never bundled, only their types are imported.
  external: ['undici', 'axios', '@opentelemetry/api', 'prom-client', 'ioredis', 'redis'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  shims: true,
  treeshake: true,
});
