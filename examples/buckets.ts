/**
 * Token bucket vs leaky bucket on the same burst, in real time (about 3 seconds).
 *
 *   npx tsx examples/buckets.ts
 *
 * 20 calls arrive at once. The token bucket lets 5 through immediately (its capacity), then admits the rest as
 * tokens refill at 10/s. The leaky bucket lets them leave one every 100 ms, whatever the burst. Calls that would
 * wait longer than 1.2 s are refused at once, with a retry hint, instead of waiting in vain.
 */
import { isRejectedError, leakyBucket, tokenBucket, type Policy } from '../src/index.js';

async function burst(title: string, policy: Policy, calls: number): Promise<void> {
  console.log(`\n${title}`);
  const start = performance.now();
  const at = () => `${String(Math.round(performance.now() - start)).padStart(5)} ms`;
  await Promise.all(
    Array.from({ length: calls }, (_, i) =>
      policy
        .execute(async () => console.log(`  ${at()}  call ${String(i + 1).padStart(2)} runs`))
        .catch((e: unknown) => {
          if (isRejectedError(e)) console.log(`  ${at()}  call ${String(i + 1).padStart(2)} refused: ${e.code}, retry after ${Math.ceil(e.retryAfterMs)} ms`);
          else throw e;
        }),
    ),
  );
}

const bucket = tokenBucket({ name: 'api', capacity: 5, refillPerSecond: 10, maxQueue: 50, maxWaitMs: 1200 });
await burst('Token bucket: capacity 5, refill 10/s, wait at most 1.2 s', bucket, 20);
console.log('  stats:', JSON.stringify({ admitted: bucket.stats().admitted, rejected: bucket.stats().rejectedBy.MAX_WAIT_EXCEEDED }));

const pacer = leakyBucket({ name: 'mailer', ratePerSecond: 10, maxQueue: 50, maxWaitMs: 1200 });
await burst('Leaky bucket: 10 calls/s, one every 100 ms, wait at most 1.2 s', pacer, 20);
console.log('  stats:', JSON.stringify({ admitted: pacer.stats().admitted, rejected: pacer.stats().rejectedBy.MAX_WAIT_EXCEEDED }));
