/**
 * The limiters on a real three-master Redis Cluster through ioredis's `Cluster`: every script's keys share one hash
 * slot (a script touching keys of two slots fails with CROSSSLOT), and different subjects spread over the masters.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisConcurrencyLimit, redisTokenBucket } from '../../src/redis/index.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { uid } from './clients.js';

let cluster: RedisCluster;
let redis: Cluster;
beforeAll(async () => {
  cluster = await RedisCluster.start();
  redis = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]!.port }], { redisOptions: { maxRetriesPerRequest: 1 } });
  redis.on('error', () => {});
  await redis.call('PING');
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** The masters holding at least one key that starts with `prefix`. */
async function mastersHolding(prefix: string): Promise<number> {
  let n = 0;
  for (const node of redis.nodes('master')) {
    const keys = (await node.call('KEYS', [`${prefix}*`])) as string[];
    if (keys.length > 0) n++;
  }
  return n;
}

describe('Redis limiters on a Redis Cluster (ioredis Cluster)', () => {
  it('redisTokenBucket: one slot per subject, subjects spread over the masters, exact refusals', async () => {
    const id = uid('cluster-bucket');
    const b = redisTokenBucket({ redis, id, capacity: 2, refillPerSecond: 1, timeoutMs: 1000 });
    for (let i = 0; i < 30; i++) {
      expect((await b.tryAcquire({ key: `tenant-${i}` })).ok).toBe(true);
      expect((await b.tryAcquire({ key: `tenant-${i}` })).ok).toBe(true);
      expect(await b.tryAcquire({ key: `tenant-${i}` })).toMatchObject({ ok: false, reason: 'RATE_LIMITED' });
    }
    expect(b.stats().storeCalls).toMatchObject({ error: 0, timeout: 0 });
    expect(await mastersHolding(`sluice:{${id}:`)).toBeGreaterThan(1);
    b.dispose();
  });

  it('redisConcurrencyLimit: its three keys per subject in one slot (no CROSSSLOT), released exactly once', async () => {
    const id = uid('cluster-lease');
    const l = redisConcurrencyLimit({ redis, id, limit: 2, timeoutMs: 1000 });
    const permits = [];
    for (let i = 0; i < 20; i++) {
      const a = await l.tryAcquire({ key: `job-${i}` });
      const b = await l.tryAcquire({ key: `job-${i}` });
      expect(a.ok && b.ok).toBe(true);
      expect(await l.tryAcquire({ key: `job-${i}` })).toMatchObject({ ok: false, reason: 'CONCURRENCY_LIMITED' });
      if (a.ok && b.ok) permits.push(a.permit, b.permit);
    }
    expect(l.stats().storeCalls).toMatchObject({ error: 0, timeout: 0 });
    expect(await mastersHolding(`sluice:{${id}:`)).toBeGreaterThan(1);
    for (const p of permits) p.release();
    for (let i = 0; i < 100 && (await mastersHolding(`sluice:{${id}:`)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await mastersHolding(`sluice:{${id}:`)).toBe(0);
    expect(l.stats().storeCalls.error).toBe(0);
    l.dispose();
  });
});
