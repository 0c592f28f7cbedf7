import { Redis } from 'ioredis';
import { RedisServer } from '/work/main/test/support/redis-server.ts';
import { redisTokenBucket } from '/work/main/src/redis/index.ts';
import { GCRA } from '/work/main/src/redis/scripts.ts';
const srv = await RedisServer.start();
const redis = new Redis(srv.port, '127.0.0.1');
const mk = (o: object) => redisTokenBucket({ redis, id: 'p' + Math.random(), capacity: 1e9, refillPerSecond: 1e9, timeoutMs: 1000, ...o });
const variants: Record<string, () => Promise<unknown>> = {};
const a = mk({}); const b = mk({ breaker: false });
await redis.call('SCRIPT', ['LOAD', GCRA.source]);
variants.bare = () => redis.call('EVALSHA', [GCRA.sha, '1', 'bare', '0.001', '1000000000', '1', '1']);
variants.default = () => a.tryAcquire();
variants.noBreaker = () => b.tryAcquire();
const res: Record<string, number[]> = {};
for (let round = 0; round < 6; round++) for (const [k, f] of Object.entries(variants)) {
  const c0 = process.cpuUsage(); let n = 0; const until = performance.now() + 300;
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() < until) { await f(); n++; } }));
  const c = process.cpuUsage(c0); if (round > 0) (res[k] ??= []).push((c.user + c.system) / n);
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(10), (v.reduce((x, y) => x + y) / v.length).toFixed(2), 'µs client CPU/call');
a.dispose(); b.dispose(); redis.disconnect(); await srv.stop();
