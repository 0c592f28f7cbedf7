/**
 * fast-check over random arrival schedules across 2–4 clients (separate connections to one real redis-server): the
 * shared token bucket's window bound holds on server time, the shared concurrency limit holds at every instant, and
 * every lease is released (the keys are gone once all calls have ended). Reproduce with FC_SEED=<seed printed below>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redisCommander, redisConcurrencyLimit, redisTokenBucket } from '../../src/redis/index.js';
import { fcParams } from '../rate/prop-driver.js';
import { ioredisClient, recording, sleep, uid, useClient, useServer, worstWindowExcess, type Admission } from './clients.js';

const server = useServer();
const clients = [0, 1, 2, 3].map(() => useClient(server, ioredisClient));

const arrival = fc.record({ gapMs: fc.integer({ min: 0, max: 3 }), cost: fc.integer({ min: 1, max: 3 }), holdMs: fc.integer({ min: 0, max: 6 }) });
const schedules = fc.integer({ min: 2, max: 4 }).chain((n) => fc.array(fc.array(arrival, { minLength: 5, maxLength: 25 }), { minLength: n, maxLength: n }));

describe('shared limits over random schedules', () => {
  it('redisTokenBucket: tokens admitted by all clients in any window of server time ≤ capacity + rate · window', async () => {
    await fc.assert(
      fc.asyncProperty(schedules, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 20, max: 2000 }), async (perClient, capacity, rate) => {
        const id = uid('prop-bucket');
        const log: Admission[] = [];
        const limiters = perClient.map((_, i) => redisTokenBucket({ redis: recording(redisCommander(clients[i]!.client), log), id, capacity, refillPerSecond: rate, timeoutMs: 2000, name: `c${i}` }));
        await Promise.all(
          perClient.map(async (arrivals, i) => {
            for (const a of arrivals) {
              if (a.gapMs > 0) await sleep(a.gapMs);
              await limiters[i]!.tryAcquire({ cost: Math.min(a.cost, capacity) });
            }
          }),
        );
        for (const l of limiters) l.dispose();
        expect(log.length).toBeGreaterThan(0);
        expect(worstWindowExcess(log, capacity, rate)).toBeLessThanOrEqual(capacity * 1e-9);
      }),
      fcParams('shared-limits.prop (bucket)', 25),
    );
  }, 120_000);

  it('redisConcurrencyLimit: units in flight never exceed the limit, and every lease is released', async () => {
    await fc.assert(
      fc.asyncProperty(schedules, fc.integer({ min: 3, max: 6 }), async (perClient, limit) => {
        const id = uid('prop-lease');
        const limiters = perClient.map((_, i) => redisConcurrencyLimit({ redis: clients[i]!.client, id, limit, timeoutMs: 2000, name: `c${i}` }));
        const intervals: { start: number; end: number; cost: number }[] = [];
        await Promise.all(
          perClient.map(async (arrivals, i) => {
            const running: Promise<void>[] = [];
            for (const a of arrivals) {
              if (a.gapMs > 0) await sleep(a.gapMs);
              const r = await limiters[i]!.tryAcquire({ cost: a.cost });
              if (!r.ok) continue;
              const start = performance.now();
              running.push(
                sleep(a.holdMs).then(() => {
                  intervals.push({ start, end: performance.now(), cost: a.cost });
                  r.permit.release();
                }),
              );
            }
            await Promise.all(running);
          }),
        );
        // Each interval lies inside its lease's life in Redis (from the acquire's reply to the release's sending).
        const edges = intervals.flatMap((x) => [
          [x.start, x.cost],
          [x.end, -x.cost],
        ]);
        edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
        let inflight = 0;
        for (const [, d] of edges) {
          inflight += d!;
          expect(inflight).toBeLessThanOrEqual(limit);
        }
        // Releases are sent without waiting: within a moment every key of the limit is gone.
        const c = clients[0]!;
        for (let i = 0; i < 100 && Number(await c.command('EXISTS', `sluice:{${id}}:leases`, `sluice:{${id}}:used`)) !== 0; i++) await sleep(5);
        expect(Number(await c.command('EXISTS', `sluice:{${id}}:leases`, `sluice:{${id}}:costs`, `sluice:{${id}}:used`))).toBe(0);
        for (const l of limiters) expect(l.stats().held).toBe(0);
        for (const l of limiters) l.dispose();
      }),
      fcParams('shared-limits.prop (lease)', 25),
    );
  }, 120_000);
});
