/**
 * Every benchmark suite, one line each. To add one: write bench/suites/<name>.ts with `export default` a Suite
 * (see bench/harness.ts), then add its line here. `npm run bench -- --suite <name>` runs it alone.
 */
export { default as rate } from './rate.js';
export { breakerSuite as breaker, retrySuite as retry, timeoutSuite as timeout, pipelineSuite as pipeline } from './failure.js';
export { default as fallback } from './fallback.js';
export { default as import } from './import.js';
export { default as queue } from './queue.js';
export { fetchSuite as httpFetch, undiciSuite as httpUndici, axiosSuite as httpAxios, overheadSuite as httpOverhead } from './http.js';
export { default as metrics } from './metrics.js';
export { default as redis } from './redis.js';
