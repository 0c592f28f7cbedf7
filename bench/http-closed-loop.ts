/**
 * The closed loop against a real server: a node:http server on 127.0.0.1 with a quota of 500 requests per 10-second
 * window (fixed windows), which announces what is left on every answer (`RateLimit: "default";r=…;t=…` and
 * `RateLimit-Policy: "default";q=500;w=10`) and answers `429` with `Retry-After` once the window is spent. Requests
 * arrive at 150 per second (three times the quota: a service whose own callers each need one outbound call), each
 * with a 2-second budget, for 20 s of real time, through:
 * - ky 1 with retries on 429 after the server's Retry-After (what a careful client does today: each request waits
 *   alone, the others keep sending);
 * - `protectFetch(fetch)` with its defaults (the 429's Retry-After closes the origin for every worker, the RateLimit
 *   fields pace the origin's token bucket before the server has to refuse).
 * Prints the totals and writes docs/img/http-closed-loop.svg (server-side 200s and 429s per 500 ms).
 *
 *   npm run bench:http-loop                # prints the table, writes the chart
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ky, { HTTPError } from 'ky';
import { protectFetch } from '../src/http/fetch.js';
import { isRejectedError } from '../src/index.js';
import { panelsSvg, type Row } from './overload/charts.js';

const QUOTA = 500;
const WINDOW_MS = 10_000;
const RATE = 150;
const BUDGET_MS = 2000;
const RUN_MS = 20_000;
const BUCKET_MS = 500;

interface Tally {
  ok: number[];
  refused: number[];
  start: number;
}

/** A fixed-window quota server; its tally counts answers per 250 ms bucket since `start`. */
async function quotaServer(tally: Tally): Promise<{ url: string; close: () => Promise<void> }> {
  let windowStart = performance.now();
  let used = 0;
  const server = createServer((_req, res) => {
    const now = performance.now();
    if (now - windowStart >= WINDOW_MS) {
      windowStart += Math.floor((now - windowStart) / WINDOW_MS) * WINDOW_MS;
      used = 0;
    }
    const resetS = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    const b = Math.floor((now - tally.start) / BUCKET_MS);
    if (used >= QUOTA) {
      if (b >= 0) tally.refused[b] = (tally.refused[b] ?? 0) + 1;
      res.writeHead(429, { 'retry-after': String(resetS), ratelimit: `"default";r=0;t=${resetS}`, 'ratelimit-policy': `"default";q=${QUOTA};w=${WINDOW_MS / 1000}` });
      res.end('slow down');
      return;
    }
    used++;
    if (b >= 0) tally.ok[b] = (tally.ok[b] ?? 0) + 1;
    res.writeHead(200, { ratelimit: `"default";r=${QUOTA - used};t=${resetS}`, 'ratelimit-policy': `"default";q=${QUOTA};w=${WINDOW_MS / 1000}` });
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  client: string;
  tally: Tally;
  /** Calls that got a 200 within their budget. */
  succeeded: number;
  /** Calls that got a 200, but after their budget (useless to a caller who gave up). */
  late: number;
  /** Calls refused locally, without a request (sluice: the origin is closed or paced past the budget). */
  refusedLocally: number;
  /** Calls that ended with an error after sending (a 429 left after retries, a timeout). */
  failed: number;
  /** Median ms a failed call took to fail. */
  failMedianMs: number;
}

async function run(client: string, call: (url: string) => Promise<void>): Promise<Outcome> {
  const tally: Tally = { ok: [], refused: [], start: performance.now() };
  const server = await quotaServer(tally);
  let succeeded = 0;
  let late = 0;
  let refusedLocally = 0;
  let failed = 0;
  const failTimes: number[] = [];
  const calls: Promise<void>[] = [];
  const end = tally.start + RUN_MS;
  for (let i = 0; ; i++) {
    const due = tally.start + (i * 1000) / RATE;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t0 = performance.now();
    calls.push(
      call(server.url).then(
        () => {
          if (performance.now() - t0 <= BUDGET_MS) succeeded++;
          else late++;
        },
        (e: unknown) => {
          if (isRejectedError(e)) refusedLocally++;
          else failed++;
          failTimes.push(performance.now() - t0);
        },
      ),
    );
  }
  await Promise.all(calls);
  await server.close();
  failTimes.sort((a, b) => a - b);
  return { client, tally, succeeded, late, refusedLocally, failed, failMedianMs: failTimes.length === 0 ? 0 : failTimes[failTimes.length >> 1]! };
}

const kyClient = ky.create({ retry: { limit: 3, statusCodes: [429], afterStatusCodes: [429] }, timeout: BUDGET_MS });
const outcomes: Outcome[] = [];
outcomes.push(
  await run('ky (retry 429 after Retry-After)', async (url) => {
    try {
      await kyClient.get(url).text();
    } catch (e) {
      if (e instanceof HTTPError) await e.response.body?.cancel();
      throw e;
    }
  }),
);
const api = protectFetch(fetch, { retry: { maxAttempts: 3 } });
outcomes.push(
  await run('sluice protectFetch (shared gate + pacing)', async (url) => {
    const res = await api(url, { sluice: { timeoutMs: BUDGET_MS } });
    await res.text();
  }),
);
api.dispose();

const buckets = Math.ceil(RUN_MS / BUCKET_MS);
/** Answers within the time of offered load (retries that run on after it are not counted). */
const sum = (xs: number[]): number => {
  let n = 0;
  for (let b = 0; b < buckets; b++) n += xs[b] ?? 0;
  return n;
};
console.log(`quota ${QUOTA} per ${WINDOW_MS / 1000} s window (${(QUOTA * 1000) / WINDOW_MS} req/s); ${RATE} calls/s offered for ${RUN_MS / 1000} s, ${BUDGET_MS} ms budget each`);
console.log('| client | 200s served | 429s sent back | requests refused by the server | calls succeeded in budget | succeeded late | refused locally (never sent) | failed after sending | median time to fail (ms) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const o of outcomes) {
  const ok = sum(o.tally.ok);
  const refused = sum(o.tally.refused);
  console.log(`| ${o.client} | ${ok} | ${refused} | ${((100 * refused) / Math.max(1, ok + refused)).toFixed(1)} % | ${o.succeeded} | ${o.late} | ${o.refusedLocally} | ${o.failed} | ${o.failMedianMs.toFixed(0)} |`);
}
const rows: Row[] = [];
for (const o of outcomes) {
  for (let b = 0; b < buckets; b++) {
    const t = (b * BUCKET_MS) / 1000;
    rows.push({ t, policy: o.client, panel: '200s per s (server side)', value: ((o.tally.ok[b] ?? 0) * 1000) / BUCKET_MS });
    rows.push({ t, policy: o.client, panel: '429s per s (server side)', value: ((o.tally.refused[b] ?? 0) * 1000) / BUCKET_MS });
  }
}
const svg = await panelsSvg(
  `Closed loop on a real server: quota ${QUOTA} per ${WINDOW_MS / 1000} s, ${RATE} calls/s offered`,
  rows,
  ['200s per s (server side)', '429s per s (server side)'],
  'real time (s)',
  Array.from({ length: RUN_MS / WINDOW_MS }, (_, i) => i * WINDOW_MS),
);
writeFileSync(new URL('../docs/img/http-closed-loop.svg', import.meta.url), svg);
console.log('wrote docs/img/http-closed-loop.svg');
