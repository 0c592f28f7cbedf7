import { redisTokenBucket } from '/work/main/dist/redis/index.js';
const reply = [1, 96000000000000, 1000, 999999999, 0];
const fake = { sendCommand: (_args: string[]) => Promise.resolve(reply) };
const b = redisTokenBucket({ redis: fake, id: 'x', capacity: 1e9, refillPerSecond: 1e9, timeoutMs: 1000 });
const b2 = redisTokenBucket({ redis: fake, id: 'y', capacity: 1e9, refillPerSecond: 1e9, timeoutMs: 1000, breaker: false });
async function loop(f: () => Promise<unknown>, n: number) { const t = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t) / n * 1e6; }
for (let r = 0; r < 5; r++) {
  const bare = await loop(() => fake.sendCommand([]), 200000);
  const d = await loop(() => b.tryAcquire(), 200000);
  const nb = await loop(() => b2.tryAcquire(), 200000);
  if (r > 1) console.log('bare', bare.toFixed(0), 'ns  default', d.toFixed(0), 'ns  noBreaker', nb.toFixed(0), 'ns');
}
b.dispose(); b2.dispose();
