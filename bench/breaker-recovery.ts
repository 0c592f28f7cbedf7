/**
 * How fast does a circuit breaker close once its dependency heals, when the healed dependency is still somewhat flaky?
 * And how few calls does a dead dependency see? Deterministic: virtual time (ManualClock), seeded arrivals, service
 * times and failures; no wall-clock timing is measured.
 *
 * Recovery runs: 100 calls/s (Poisson arrivals), service time exponential with a 20 ms mean. The dependency is hard
 * down (every call fails in 1 ms) from t = 0 for `--down-ms` (default 5 s) plus a seeded 0–3 s, then heals to a background failure rate
 * p ∈ {0, 10, 20, 30 %} (a failing call takes as long as a successful one). Reported: time from the heal to the
 * breaker's first close, median / p90 / max over the seeds.
 *
 * Hard-down runs: the same traffic against a dependency that never heals, for 60 s. Reported: calls the breaker let
 * through after it first opened (its probes), per minute, median / max over the seeds.
 *
 *   npm run bench:breaker-recovery                               # 200 seeds, breaker defaults
 *   npm run bench:breaker-recovery -- --seeds 50 --p 0.3         # fewer seeds, one failure rate
 *   npm run bench:breaker-recovery -- --options '{"halfOpenProbes":10}'   # other breaker options (JSON)
 */
import { parseArgs } from 'node:util';
import { circuitBreaker, type CircuitBreakerOptions } from '../src/breaker/index.js';
import { ManualClock, seededRandom } from '../src/testing/index.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '200' },
    p: { type: 'string', multiple: true },
    'down-ms': { type: 'string', default: '5000' },
    options: { type: 'string', default: '{}' },
    'no-hard-down': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run bench:breaker-recovery -- [--seeds N] [--p 0.2]... [--down-ms 5000] [--options JSON] [--no-hard-down]');
  process.exit(0);
}

const RATE_PER_SECOND = 100;
const MEAN_SERVICE_MS = 20;
const DEAD_FAIL_MS = 1;
/** A recovery run gives up this long after the heal (reported as the time if reached). */
const GIVE_UP_MS = 120_000;
const HARD_DOWN_MS = 60_000;

interface Run {
  /** Heal to first close, ms (GIVE_UP_MS when it never closed). */
  healToClosedMs: number;
  /** Calls let through after the first opening while the dependency was hard down. */
  probesWhileDown: number;
  /** Hard-down ms observed after the first opening. */
  downAfterOpenMs: number;
}

/**
 * One run: dependency hard down on [0, healAt), then failing with probability `p`. Ends at the first close after the
 * heal (recovery run) or at `endAt` (hard-down run: healAt = Infinity).
 */
async function run(seed: number, p: number, healAt: number, endAt: number, extra: Partial<CircuitBreakerOptions>): Promise<Run> {
  const clock = new ManualClock();
  const random = seededRandom(seed);
  const breaker = circuitBreaker({ ...extra, clock, random: seededRandom(seed * 7919 + 1) });
  let openedAt = NaN;
  let closedAt = NaN;
  breaker.events.on('open', (e) => {
    if (openedAt !== openedAt) openedAt = e.at;
  });
  breaker.events.on('close', (e) => {
    if (closedAt !== closedAt && e.at >= healAt) closedAt = e.at;
  });
  let probesWhileDown = 0;
  const exp = (mean: number): number => -mean * Math.log(1 - random());
  const pending: Promise<unknown>[] = [];
  for (let t = exp(1000 / RATE_PER_SECOND); t < endAt && closedAt !== closedAt; t += exp(1000 / RATE_PER_SECOND)) {
    await clock.advanceTo(t);
    const down = t < healAt;
    // Drawn per arrival whether or not the call is admitted, so every configuration sees the same dependency.
    const fails = down || random() < p;
    const serviceMs = down ? DEAD_FAIL_MS : exp(MEAN_SERVICE_MS);
    pending.push(
      breaker
        .execute(() => {
          if (down && t >= openedAt) probesWhileDown++;
          return new Promise<string>((resolve, reject) => {
            clock.setTimeout(() => (fails ? reject(new Error('down')) : resolve('ok')), serviceMs);
          });
        })
        .catch(() => undefined),
    );
    if (pending.length > 1000) pending.splice(0, pending.length - 100);
  }
  await clock.runAll();
  await Promise.all(pending);
  return {
    healToClosedMs: closedAt === closedAt ? closedAt - healAt : Math.min(GIVE_UP_MS, clock.now() - healAt),
    probesWhileDown,
    downAfterOpenMs: Math.min(healAt, endAt) - openedAt,
  };
}

/** A second seed derived from a run's seed. */
function seed2(s: number): number {
  return s * 104_729 + 17;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const seeds = Number(values.seeds);
const downMs = Number(values['down-ms']);
const ps = (values.p ?? ['0', '0.1', '0.2', '0.3']).map(Number);
const extra = JSON.parse(values.options) as Partial<CircuitBreakerOptions>;

console.log(`breaker recovery: ${seeds} seeds, ${RATE_PER_SECOND} calls/s, service exp(${MEAN_SERVICE_MS} ms), hard down ${downMs / 1000}–${downMs / 1000 + 3} s then healed; options ${JSON.stringify(extra)}`);
console.log('| background failure rate | heal → closed median (s) | p90 (s) | max (s) | never closed |');
console.log('|---|---|---|---|---|');
for (const p of ps) {
  const times: number[] = [];
  for (let s = 1; s <= seeds; s++) {
    // The heal falls anywhere in a 3 s span (more than two open intervals), so that it is not always at the same
    // phase of the breaker's (nearly deterministic) schedule of probes.
    const healAt = downMs + 3_000 * seededRandom(seed2(s))();
    times.push((await run(s, p, healAt, Infinity, extra)).healToClosedMs);
  }
  times.sort((a, b) => a - b);
  const never = times.filter((x) => x >= GIVE_UP_MS).length;
  const f = (ms: number): string => (ms / 1000).toFixed(2);
  console.log(`| ${(p * 100).toFixed(0)} % | ${f(quantile(times, 0.5))} | ${f(quantile(times, 0.9))} | ${f(times.at(-1)!)} | ${never} |`);
}
if (!values['no-hard-down']) {
  const perMinute: number[] = [];
  for (let s = 1; s <= seeds; s++) {
    const r = await run(s, 0, Infinity, HARD_DOWN_MS, extra);
    perMinute.push((r.probesWhileDown / r.downAfterOpenMs) * 60_000);
  }
  perMinute.sort((a, b) => a - b);
  console.log(
    `hard down for ${HARD_DOWN_MS / 1000} s: calls let through after the first opening, per minute: median ${quantile(perMinute, 0.5).toFixed(1)}, ` +
      `max ${perMinute.at(-1)!.toFixed(1)} (of ${RATE_PER_SECOND * 60} offered)`,
  );
}
