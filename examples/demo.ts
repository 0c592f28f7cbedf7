/**
 * `npm run demo`: a story from the field, replayed on sluice's simulator in a few seconds.
 *
 * A checkout service calls a payments API that can serve about 1000 requests per second (40 workers, 40 ms each).
 * Callers give up after 1 s. At t = 10 s a marketing push sends 2500 rps for 20 s, then traffic returns to 600 rps.
 * The same traffic is served twice: unprotected, and through a sluice token bucket in front of the API.
 *
 *   npm run demo                 # table in the terminal, chart under the OS temp dir
 *   npm run demo -- --out DIR    # write the chart to DIR instead (e.g. --out docs/img for the README)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { tokenBucket } from '../src/index.js';
import { exponential, simulate, type SimResult, type SimulateOptions } from '../src/sim/index.js';
import { timeSeriesSvg } from '../bench/overload/charts.js';

const { values: args } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string', default: '1' } } });

const rushFrom = 10_000;
const rushTo = 30_000;
const scenario: SimulateOptions = {
  seed: Number(args.seed),
  durationMs: 45_000,
  deadlineMs: 1000,
  downstream: { workers: 40, service: exponential(40) },
  load: { schedule: [{ atMs: 0, perSecond: 600 }, { atMs: rushFrom, perSecond: 2500 }, { atMs: rushTo, perSecond: 600 }] },
};

console.log('A payments API serves ~1000 rps (40 workers × 40 ms). Callers give up after 1 s.');
console.log('At t = 10 s a flash crowd arrives: 2500 rps for 20 s, then 600 rps again. Simulating 45 s twice...\n');

const t0 = performance.now();
const unprotected = await simulate(scenario);
const protectedRun = await simulate({
  ...scenario,
  // The pipeline under test: a real sluice token bucket on the simulator's clock. Sized a little under capacity, with
  // a burst of one worker pool; calls beyond it are refused at once (RATE_LIMITED, with retryAfterMs).
  policy: ({ clock }) => tokenBucket({ name: 'payments', capacity: 40, refillPerSecond: 950, clock }),
});
const wallMs = performance.now() - t0;

const during = (r: SimResult) => r.window(rushFrom, rushTo);
const after = (r: SimResult) => r.window(rushTo, r.durationMs);
const fmtRate = (x: number) => `${x.toFixed(0)} rps`;
const fmtMs = (x: number) => (Number.isNaN(x) ? 'no successes' : `${x.toFixed(0)} ms`);
const rejected = (r: SimResult) => {
  const s = during(r);
  const by = Object.entries(s.rejectedBy).map(([code, n]) => `${code} ${n}`);
  return s.rejected === 0 ? '0' : `${((100 * s.rejected) / s.attempts).toFixed(0)} % (${by.join(', ')}, in ${s.rejectLatencyP50Ms.toFixed(0)} ms)`;
};

const table = new Table({ head: ['during the rush (10–30 s)', 'unprotected', 'sluice tokenBucket'] });
table.push(
  ['goodput (answered within 1 s)', fmtRate(during(unprotected).goodputPerSecond), fmtRate(during(protectedRun).goodputPerSecond)],
  ['p99 latency of successes', fmtMs(during(unprotected).latency.p99), fmtMs(during(protectedRun).latency.p99)],
  ['callers timed out', String(during(unprotected).timeouts), String(during(protectedRun).timeouts)],
  ['rejected at once (reason)', rejected(unprotected), rejected(protectedRun)],
  ['wasted work (API time on abandoned calls)', `${(100 * during(unprotected).wastedFraction).toFixed(0)} %`, `${(100 * during(protectedRun).wastedFraction).toFixed(0)} %`],
  ['goodput after the rush (30–45 s, offered 600 rps)', fmtRate(after(unprotected).goodputPerSecond), fmtRate(after(protectedRun).goodputPerSecond)],
);
console.log(table.toString());

const dir = args.out !== undefined ? resolve(args.out) : join(tmpdir(), 'sluice-demo');
mkdirSync(dir, { recursive: true });
const file = join(dir, 'demo-flash-crowd.svg');
writeFileSync(
  file,
  await timeSeriesSvg(
    'Flash crowd: 600 → 2500 → 600 rps against a 1000 rps API (callers give up after 1 s)',
    [
      { policy: 'unprotected', series: unprotected.series },
      { policy: 'sluice tokenBucket(950/s, burst 40)', series: protectedRun.series },
    ],
    [rushFrom, rushTo],
  ),
);
console.log(`\nUnprotected, the API keeps working on requests whose callers have left: its queue grows, every answer`);
console.log(`comes too late, and it stays useless long after the rush. With sluice, excess calls are refused at`);
console.log(`once with a reason and a retry hint, and everyone admitted is answered in time.`);
console.log(`\nChart: ${file}`);
console.log(`(simulated 2 × 45 s of virtual time in ${(wallMs / 1000).toFixed(1)} s; same seed, same numbers: try --seed 2)`);
