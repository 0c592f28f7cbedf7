/**
 * A protected fetch against a flaky local dependency, in real time (about 2 seconds).
 *
 *   npx tsx examples/protected-fetch.ts
 *
 * The dependency (a node:http server on 127.0.0.1) answers in ~20 ms, but one request in five gets a 503 and one in
 * ten hangs for 3 s. The pipeline retries with jittered backoff inside a retry budget, fails fast through a breaker
 * if the dependency goes down, holds the rate at 50/s, lets an adaptive limiter find how many calls may run at once
 * (it starts at 20 and follows the dependency's latency), and gives each attempt 300 ms.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  adaptiveLimiter,
  circuitBreaker,
  isRejectedError,
  isRetryExhaustedError,
  isTimeoutError,
  pipeline,
  retry,
  timeout,
  tokenBucket,
} from '../src/index.js';

let served = 0;
const server = createServer((_req, res) => {
  const n = ++served;
  if (n % 10 === 0) return void setTimeout(() => res.end('slow'), 3000).unref(); // hangs past every deadline
  setTimeout(() => {
    if (n % 5 === 0) {
      res.statusCode = 503;
      return res.end('overloaded');
    }
    res.end('ok');
  }, 20).unref();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

// Outermost first: retry → breaker → rate → concurrency → per-attempt timeout → fetch.
const dependency = pipeline(
  retry({ maxAttempts: 3 }),
  circuitBreaker(),
  tokenBucket({ capacity: 10, refillPerSecond: 50, maxQueue: 100, maxWaitMs: 1000 }),
  adaptiveLimiter({ maxQueue: 100 }),
  timeout({ timeoutMs: 300 }),
);

const tally = new Map<string, number>();
const count = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
const started = performance.now();

await Promise.all(
  Array.from({ length: 60 }, () =>
    dependency
      .execute(
        async ({ signal }) => {
          const res = await fetch(url, { signal });
          if (res.status >= 500) throw new HttpError(res.status);
          return res.text();
        },
        { timeoutMs: 1500 }, // the whole call, retries and waits included
      )
      .then(
        () => count('ok'),
        (e: unknown) =>
          count(
            isRejectedError(e)
              ? `refused: ${e.code}`
              : isTimeoutError(e)
                ? 'timed out'
                : isRetryExhaustedError(e)
                  ? `gave up after ${e.attempts} attempts (${e.reason}), last: ${(e.lastError as Error).message}`
                  : `failed: ${(e as Error).message}`,
          ),
      ),
  ),
);

console.log(`60 calls in ${Math.round(performance.now() - started)} ms, ${served} requests reached the server`);
for (const [outcome, n] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(3)}  ${outcome}`);
server.close();
server.closeAllConnections();
