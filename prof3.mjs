import { protectFetch } from './dist/fetch/index.js';
const fake = { status: 200, statusText: 'OK', headers: { get: () => null, forEach: () => {} }, body: null };
const double = () => Promise.resolve(fake);
const off = { retry: false, breaker: false, concurrency: false, cooldown: false, pacing: false, loadFactor: false, attemptTimeoutMs: Infinity };
const variants = [['default', {}], ['no attempt timeout', { attemptTimeoutMs: Infinity }], ['all off', off], ['retry', { ...off, retry: {} }], ['breaker', { ...off, breaker: {} }], ['cooldown', { ...off, cooldown: {} }], ['pacing', { ...off, pacing: {} }], ['limiter', { ...off, concurrency: {} }], ['timeout', { ...off, attemptTimeoutMs: 30000 }], ['loadFactor', { ...off, loadFactor: {} }]];
for (let round = 0; round < 2; round++) for (const [n, o] of variants) {
  const f = protectFetch(double, o);
  for (let i = 0; i < 20000; i++) await f('http://127.0.0.1:1/');
  const t = performance.now(); const N = 100000;
  for (let i = 0; i < N; i++) await f('http://127.0.0.1:1/');
  if (round) console.log(n.padEnd(24), ((performance.now() - t) / N * 1000).toFixed(2), 'µs');
  f.dispose();
}
