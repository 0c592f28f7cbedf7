/**
 * Two processes share one partner API's quota through Redis.
 *
 * The partner allows a burst of 5 and 10 requests per second in total, whoever sends them, and answers 429 beyond
 * that. This program starts that partner (a local HTTP server that enforces its quota with sluice's own token bucket)
 * and two worker processes of itself. Each worker sends 12 requests through one `redisTokenBucket` with the same `id`,
 * waiting (`maxWaitMs`) for the shared quota instead of being refused: together they stay under the partner's limit,
 * which a per-process bucket of the full quota would exceed twofold.
 *
 *   npx tsx examples/shared-quota.ts [redis://127.0.0.1:6379]
 *
 * Needs a Redis or Valkey server at that URL (default: REDIS_URL, else redis://127.0.0.1:6379).
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { tokenBucket } from '../src/index.js';
import { redisTokenBucket } from '../src/redis/index.js';

const url = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUESTS_PER_WORKER = 12;

if (process.env.SHARED_QUOTA_WORKER === undefined) await partnerAndWorkers();
else await worker(process.env.SHARED_QUOTA_WORKER, Number(process.env.PARTNER_PORT));

async function partnerAndWorkers(): Promise<void> {
  // The partner's own limit: a burst of 5, 10 per second, for all callers together.
  const quota = tokenBucket({ capacity: 5, refillPerSecond: 10 });
  const seen = { ok: 0, tooMany: 0 };
  const partner = createServer((_req, res) => {
    const r = quota.tryAcquire();
    if (r.ok) seen.ok++;
    else seen.tooMany++;
    res.writeHead(r.ok ? 200 : 429).end();
  });
  await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
  const port = (partner.address() as AddressInfo).port;
  const t0 = performance.now();
  const workers = ['A', 'B'].map(
    (name) =>
      new Promise<string>((resolve, reject) => {
        let out = '';
        const child = fork(process.argv[1]!, [url], { env: { ...process.env, SHARED_QUOTA_WORKER: name, PARTNER_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
        child.stdout!.on('data', (d) => (out += String(d)));
        child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`worker ${name} exited with ${code}`))));
      }),
  );
  for (const line of await Promise.all(workers)) console.log(line);
  console.log(`partner: ${seen.ok} requests served, ${seen.tooMany} refused with 429, in ${Math.round(performance.now() - t0)} ms`);
  partner.close();
  quota.dispose();
}

async function worker(name: string, partnerPort: number): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  // The same id in every process: one bucket in Redis. A request admitted here reaches the partner a little later,
  // and not always equally late (the first request of a process opens a connection), so keep some headroom: a
  // burst one below the partner's and a rate 10 % under it.
  const partnerQuota = redisTokenBucket({ redis, id: 'example:partner-api', capacity: 4, refillPerSecond: 9, maxWaitMs: 5_000, timeoutMs: 50 });
  const statuses: number[] = [];
  for (let i = 0; i < REQUESTS_PER_WORKER; i++) {
    const res = await partnerQuota.execute(() => fetch(`http://127.0.0.1:${partnerPort}/`));
    statuses.push(res.status);
  }
  const s = partnerQuota.stats();
  console.log(`worker ${name}: ${statuses.filter((x) => x === 200).length} × 200, ${statuses.filter((x) => x === 429).length} × 429; round trips to Redis ${s.storeCalls.ok}, fallbacks ${s.fallbacks.open}`);
  partnerQuota.dispose();
  redis.disconnect();
}
