/**
 * A quick look at the adaptive limiters on the scenarios that separate them (steady overload, demand step, worker
 * loss, slowdown, lognormal service, few workers), one seed, short runs: for trying an algorithm change in a minute
 * before the full `npm run bench:overload`. `npx tsx bench/overload/tune.ts [policyId,...] [--seeds N]`
 */
import { exponential, lognormal, simulate, type SimulateOptions } from '../../src/sim/index.js';
import { adaptivePolicies } from './policies.js';

const args = process.argv.slice(2);
const seedsAt = args.indexOf('--seeds');
const nSeeds = seedsAt >= 0 ? Number(args[seedsAt + 1]) : 1;
const only = args.find((a, i) => !a.startsWith('--') && (seedsAt < 0 || i !== seedsAt + 1))?.split(',');
const policies = (await adaptivePolicies()).filter((p) => only === undefined || only.includes(p.id));

interface Case {
  name: string;
  options: Omit<SimulateOptions, 'policy' | 'seed'>;
  /** Capacity in the measured window, rps. */
  capacity: number;
  from: number;
  to: number;
}
const steady = (name: string, perSecond: number, service = exponential(40), workers = 40, capacity = 1000): Case => ({
  name,
  options: { durationMs: 40_000, warmupMs: 10_000, deadlineMs: 1000, downstream: { workers, service }, load: { perSecond } },
  capacity: Math.min(capacity, perSecond),
  from: 10_000,
  to: 40_000,
});
const cases: Case[] = [
  steady('0.7×', 700),
  steady('1.2×', 1200),
  steady('3×', 3000),
  steady('10×', 10_000),
  steady('ln 3×', 3000, lognormal(40, 1)),
  steady('c=10 3×', 750, exponential(40), 10, 250),
  steady('0.8×', 800),
  steady('c=100 S=100 3×', 3000, exponential(100), 100, 1000),
  {
    name: 'S3 c/2',
    options: { durationMs: 60_000, deadlineMs: 1000, downstream: { workers: 40, service: exponential(40), changes: [{ atMs: 20_000, workers: 20 }, { atMs: 40_000, workers: 40 }] }, load: { perSecond: 800 } },
    capacity: 500,
    from: 20_000,
    to: 40_000,
  },
  {
    name: 'S4 2×S',
    options: { durationMs: 60_000, deadlineMs: 1000, downstream: { workers: 40, service: exponential(40), changes: [{ atMs: 20_000, serviceScale: 2 }, { atMs: 40_000, serviceScale: 1 }] }, load: { perSecond: 800 } },
    capacity: 500,
    from: 20_000,
    to: 40_000,
  },
  {
    name: 'S2 6×',
    options: { durationMs: 40_000, deadlineMs: 1000, downstream: { workers: 40, service: exponential(40) }, load: { perSecond: 500, schedule: [{ atMs: 10_000, perSecond: 3000 }] } },
    capacity: 1000,
    from: 10_000,
    to: 15_000,
  },
];
const header = ['policy', ...cases.map((c) => c.name)];
console.log(`| ${header.join(' | ')} |`);
for (const p of policies) {
  const cells: string[] = [];
  for (const c of cases) {
    const g: number[] = [];
    const l: number[] = [];
    const lim: number[] = [];
    const rej: number[] = [];
    for (let seed = 1; seed <= nSeeds; seed++) {
      const r = await simulate({ ...c.options, seed, policy: p.build });
      const w = r.window(c.from, c.to);
      g.push((100 * w.goodputPerSecond) / c.capacity);
      l.push(w.latency.p99);
      lim.push(w.meanLimit);
      rej.push(100 * w.rejectionRate);
    }
    const m = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    cells.push(`${m(g).toFixed(1)} % ${m(l).toFixed(0)} ms L${m(lim).toFixed(0)} r${m(rej).toFixed(2)}`);
  }
  console.log(`| ${p.id} | ${cells.join(' | ')} |`);
}
