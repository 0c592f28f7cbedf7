/**
 * Exporters: what they cost the hot path, and what a scrape costs. `tokenBucket.execute(fn)` with no sink, with the
 * in-memory registry, with `prometheusMetrics()` (counters and gauges read at scrape time; histograms time every
 * call) and with `prometheusMetrics({ histograms: false })` (counters and gauges only: nothing is timed, so the hot
 * path is the bare one). Then, outside tinybench: the time of one `metricsText()` for 100 and for 400 policies (of
 * four kinds in equal numbers).
 */
import { bulkhead, circuitBreaker, createMetricsRegistry, retry, tokenBucket } from '../../src/index.js';
import { prometheusMetrics } from '../../src/exporters/prometheus.js';
import { asyncTask, type Suite } from '../harness.js';

const fn = async (): Promise<number> => 1;
const BIG = 1e12;
const bare = tokenBucket({ name: 'bare', capacity: BIG, refillPerSecond: BIG });
const registry = tokenBucket({ name: 'registry', capacity: BIG, refillPerSecond: BIG, metrics: createMetricsRegistry() });
const prom = tokenBucket({ name: 'prom', capacity: BIG, refillPerSecond: BIG, metrics: prometheusMetrics() });
const promNoHist = tokenBucket({ name: 'prom-no-hist', capacity: BIG, refillPerSecond: BIG, metrics: prometheusMetrics({ histograms: false }) });

async function scrapeOf(perKind: number): Promise<{ median: number; fastest: number; lines: number }> {
  const metrics = prometheusMetrics();
  const policies = [];
  for (let i = 0; i < perKind; i++) {
    policies.push(tokenBucket({ name: `bucket-${i}`, capacity: 10, refillPerSecond: 10, metrics }));
    policies.push(bulkhead({ name: `pool-${i}`, limit: 10, metrics }));
    policies.push(circuitBreaker({ name: `breaker-${i}`, metrics }));
    policies.push(retry({ name: `retry-${i}`, metrics }));
  }
  for (const p of policies) await p.execute(fn);
  const runs: number[] = [];
  let lines = 0;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const text = metrics.metricsText();
    runs.push(performance.now() - t0);
    lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  }
  for (const p of policies) p.dispose();
  runs.sort((a, b) => a - b);
  return { median: runs[runs.length >> 1]!, fastest: runs[0]!, lines };
}

async function scrapeCost(): Promise<readonly string[]> {
  const out = ['', '**One scrape** (`metricsText()`), 30 scrapes each, policies of four kinds in equal numbers (tokenBucket, bulkhead, circuitBreaker, retry):', '', '| policies | sample lines | median ms | fastest ms |', '| ---: | ---: | ---: | ---: |'];
  for (const perKind of [25, 100]) {
    const r = await scrapeOf(perKind);
    out.push(`| ${perKind * 4} | ${r.lines} | ${r.median.toFixed(1)} | ${r.fastest.toFixed(1)} |`);
  }
  return out;
}

const suite: Suite = {
  name: 'metrics',
  title: 'Exporters: the hot path with a sink attached, and one scrape',
  floor: 'tokenBucket.execute(fn), no sink',
  tasks: [
    asyncTask('tokenBucket.execute(fn), no sink', () => bare.execute(fn), { role: 'floor', note: 'a bucket that never runs out, no metrics sink.' }),
    asyncTask('tokenBucket.execute(fn), createMetricsRegistry()', () => registry.execute(fn), { note: 'the in-memory registry: call durations timed into hdr histograms.' }),
    asyncTask('tokenBucket.execute(fn), prometheusMetrics()', () => prom.execute(fn), { note: 'counters and gauges read at scrape time; call durations timed into buckets.' }),
    asyncTask('tokenBucket.execute(fn), prometheusMetrics({ histograms: false })', () => promNoHist.execute(fn), { note: 'counters and gauges only: nothing timed.' }),
  ],
  targets: [{ task: 'tokenBucket.execute(fn), prometheusMetrics({ histograms: false })', maxRatioToFloor: 1.1 }],
  extra: scrapeCost,
  dispose: () => {
    for (const b of [bare, registry, prom, promNoHist]) b.dispose();
  },
};

export default suite;
