/**
 * A service that serves its sluice metrics at /metrics for Prometheus, while it calls a flaky local dependency, in
 * real time (about a second).
 *
 *   npx tsx examples/metrics-service.ts
 *
 * The dependency (a node:http server on 127.0.0.1) answers in a few ms, but one request in four fails with a 502. The
 * service calls it through `protectFetch(fetch, { metrics })` 200 times, 10 at a time; `prometheusMetrics()` is the
 * sink, and the service's /metrics endpoint serves `metricsText()`. At the end the program scrapes its own /metrics,
 * as Prometheus would, and prints a few of the series (import docs/grafana/sluice-dashboard.json into Grafana to
 * chart them).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { protectFetch } from '../src/http/fetch.js';
import { prometheusMetrics } from '../src/exporters/prometheus.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

let served = 0;
const dependency = createServer((_req, res) => {
  const n = ++served;
  setTimeout(() => (n % 4 === 0 ? res.writeHead(502).end('bad gateway') : res.writeHead(200).end('ok')), 2);
});
const dependencyUrl = await listen(dependency);

const metrics = prometheusMetrics();
const api = protectFetch(fetch, { metrics, name: 'dependency' });
const metricsServer = createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': metrics.contentType }).end(metrics.metricsText());
});
const metricsUrl = await listen(metricsServer);

let ok = 0;
const failures = new Map<string, number>();
for (let batch = 0; batch < 20; batch++) {
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      try {
        await (await api(`${dependencyUrl}/work`)).text();
        ok++;
      } catch (e) {
        const code = String((e as { code?: unknown }).code ?? 'error');
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }),
  );
}
const failed = [...failures.values()].reduce((a, b) => a + b, 0);

const scrape = await (await fetch(`${metricsUrl}/metrics`)).text();
const samples = scrape.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
console.log(`200 calls: ${ok} answered, ${failed} failed${failed === 0 ? '' : ` (${[...failures].map(([c, n]) => `${c} ${n}`).join(', ')})`}; the dependency saw ${served} requests`);
console.log(`GET /metrics: ${samples.length} samples, content-type ${metrics.contentType}`);
const show = (prefix: string): void => {
  for (const l of samples.filter((s) => s.startsWith(prefix) && !s.includes('reason="DISPOSED"')).slice(0, 3)) console.log(`  ${l}`);
};
show('sluice_admitted_total');
show('sluice_retries_total');
show('sluice_circuit_state{');
show('sluice_call_duration_seconds_count{kind="retry"');

api.dispose();
metricsServer.close();
dependency.close();
metricsServer.closeAllConnections();
dependency.closeAllConnections();
