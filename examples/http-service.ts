/**
 * A service that protects its outbound calls with sluice/fetch and passes the pushback on to its own callers, in real
 * time (about a second).
 *
 *   npx tsx examples/http-service.ts
 *
 * The dependency (a node:http server on 127.0.0.1) allows 20 requests, then answers `429` with `Retry-After: 2`. The
 * service (another node:http server) calls it once per request through `protectFetch(fetch)`. Its own callers send
 * 60 requests, 10 at a time: the first 20 are served; the next 10 were already on their way when the first 429 came
 * back (they get 429s too, and their 2 s wait does not fit their 500 ms budget, so they end at once); the 429 closed
 * the dependency's origin for every caller of the service, so the last 30 are never sent to it. Every refused request
 * is answered at once with `503` and `Retry-After: 2`, which `sendRejection()` builds from sluice's refusal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { protectFetch } from '../src/http/fetch.js';
import { sendRejection } from '../src/http/index.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

// The dependency: 20 requests, then "come back in 2 s".
let reachedDependency = 0;
const dependency = createServer((_req, res) => {
  reachedDependency++;
  if (reachedDependency > 20) {
    res.writeHead(429, { 'retry-after': '2' }).end('quota exhausted');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ order: reachedDependency }));
});
const dependencyUrl = await listen(dependency);

// The service: one outbound call per request, protected; a refusal becomes 503 + Retry-After for our caller.
const api = protectFetch(fetch, { retry: { maxAttempts: 2 } });
const service = createServer(async (_req, res) => {
  try {
    const upstream = await api(`${dependencyUrl}/orders`, { sluice: { timeoutMs: 500 } });
    res.writeHead(200, { 'content-type': 'application/json' }).end(await upstream.text());
  } catch (e) {
    if (!sendRejection(res, e)) res.writeHead(500).end(String(e));
  }
});
const serviceUrl = await listen(service);

// The service's callers: 60 requests, 10 at a time.
const statuses = new Map<string, number>();
let retryAfter: string | null = null;
for (let batch = 0; batch < 6; batch++) {
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      const res = await fetch(`${serviceUrl}/checkout`);
      await res.text();
      const key = `${res.status}${res.headers.has('retry-after') ? ` (Retry-After: ${res.headers.get('retry-after')})` : ''}`;
      if (res.status === 503) retryAfter = res.headers.get('retry-after');
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }),
  );
}

console.log(`60 requests to the service, ${reachedDependency} reached the dependency`);
for (const [status, n] of [...statuses].sort()) console.log(`  ${String(n).padStart(2)}  ${status}`);
console.log(`the service told its callers to come back in ${retryAfter ?? '?'} s, as the dependency told it`);

api.dispose();
service.close();
dependency.close();
service.closeAllConnections();
dependency.closeAllConnections();
