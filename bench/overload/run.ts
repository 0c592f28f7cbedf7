/**
 * `npm run bench:overload [-- --quick] [-- --scenario S1,S2] [-- --seeds 3] [-- --out docs/overload.md]`
 *
 * Runs the overload scenarios S1–S14 on the simulator for every policy that exists, and writes the results, next to
 * the queueing-theory ideal and sluice's targets (T1–T12), to docs/overload.md with SVG charts under docs/img/. The document is
 * rewritten after every scenario; sections of scenarios this run did not (yet) regenerate are kept from the existing
 * file and marked as such, so a partial or interrupted run leaves a whole and honest document.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mainRunner, workerRunner } from './parallel.js';
import { availablePolicies } from './policies.js';
import { SCENARIOS, type ScenarioOutput, type Table } from './scenarios.js';
import { timeSeriesSvg } from './charts.js';

// A larger young generation: the simulator allocates many short-lived objects per request (≈ 15 % faster).
setFlagsFromString('--max-semi-space-size=64');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    seeds: { type: 'string' },
    out: { type: 'string', default: 'docs/overload.md' },
    'no-charts': { type: 'boolean', default: false },
    jobs: { type: 'string' },
    policy: { type: 'string' },
    worker: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(`usage: npm run bench:overload -- [--quick] [--scenario S1,S5] [--seeds N] [--out FILE] [--no-charts]
  --quick      one seed, shorter runs and fewer load points (a few minutes)
  --scenario   run only these scenarios (comma-separated ids)
  --seeds      number of seeds (default 10, quick 1)
  --out        markdown output (default docs/overload.md); charts go to <out dir>/img/
  --no-charts  do not render the SVG charts
  --jobs       processes to simulate in (default: the number of cores); results are those of --jobs 1
  --policy     only these policies (comma-separated ids; scenarios that add their own variants keep them)
The output is rewritten after each scenario; sections this run does not regenerate are kept from the existing
file, marked with the command that generated them.`);
  process.exit(0);
}

const quick = args.quick;
const nSeeds = args.seeds !== undefined ? Number(args.seeds) : quick ? 1 : 10;
if (!Number.isInteger(nSeeds) || nSeeds < 1) throw new RangeError(`--seeds must be an integer ≥ 1, got ${args.seeds}`);
const seeds = Array.from({ length: nSeeds }, (_, i) => i + 1);
const wanted = args.scenario?.split(',').map((s) => s.trim().toUpperCase());
const scenarios = SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.id));
if (scenarios.length === 0) throw new RangeError(`--scenario ${args.scenario}: no such scenario (have ${SCENARIOS.map((s) => s.id).join(', ')})`);

const available = await availablePolicies();
const onlyPolicies = args.policy?.split(',').map((p) => p.trim());
const policies = onlyPolicies === undefined ? available.policies : available.policies.filter((p) => onlyPolicies.includes(p.id));
const missing = available.missing;
const processes = args.jobs !== undefined ? Number(args.jobs) : availableParallelism();
if (!Number.isInteger(processes) || processes < 1) throw new RangeError(`--jobs must be an integer ≥ 1, got ${args.jobs}`);
// Cheap scenarios first, so that an interrupted run has written as much as possible (the document keeps S1–S14 order).
const COST_ORDER = ['S6', 'S10', 'S9', 'S3', 'S4', 'S2', 'S13', 'S12', 'S14', 'S8', 'S7', 'S11', 'S5', 'S1'];
const order = [...scenarios].sort((a, b) => COST_ORDER.indexOf(a.id) - COST_ORDER.indexOf(b.id));
if (args.worker !== undefined) {
  // A forked worker: simulate this process's share of the jobs, send them to the main process, write nothing.
  const jobs = workerRunner(Number(args.worker), processes, seeds[0]!);
  for (const s of order) await s.run({ policies, seeds, quick, progress: () => {}, jobs });
  process.exit(0);
}
const parallel = processes > 1 ? mainRunner(fileURLToPath(import.meta.url), process.argv.slice(2), processes, seeds[0]!) : undefined;
const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const progress = (line: string): void => {
  process.stderr.write(`[${elapsed()}] ${line}\n`);
};
progress(`policies: ${policies.map((p) => p.id).join(', ')}; seeds: ${seeds.join(', ')}${quick ? '; quick' : ''}`);

const outPath = resolve(args.out);
const imgDir = join(dirname(outPath), 'img');
const command = `npm run bench:overload${quick || args.scenario !== undefined || args.seeds !== undefined || args.policy !== undefined ? ' --' : ''}${quick ? ' --quick' : ''}${args.scenario !== undefined ? ` --scenario ${args.scenario}` : ''}${args.seeds !== undefined ? ` --seeds ${args.seeds}` : ''}${args.policy !== undefined ? ` --policy ${args.policy}` : ''}`;
const today = new Date().toISOString().slice(0, 10);

/** Sections of the existing output, by scenario id, so a partial (or interrupted) run keeps the others. */
const previous = new Map<string, string>();
let previousProvenance: string | undefined;
if (existsSync(outPath)) {
  const old = readFileSync(outPath, 'utf8');
  // Files written before sections named their own command said it once, in the header.
  previousProvenance = /^Generated by (`[^`]+`) \(Node [^,]+, ([0-9-]+), (\d+) seed/m.exec(old)?.slice(1, 4).join('|');
  const parts = old.split(/^(?=## S\d+ — )/m).slice(1);
  for (const part of parts) {
    const id = /^## (S\d+) — /.exec(part)?.[1];
    if (id !== undefined) previous.set(id, part.trimEnd());
  }
}

const table = (t: Table): string => {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${t.header.map(esc).join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)];
  return (t.caption !== undefined ? `*${t.caption}*\n\n` : '') + lines.join('\n');
};

const outputs = new Map<string, ScenarioOutput>();
const chartFiles = new Map<string, string>();
const KEPT = '> Kept from an earlier run of this file: not regenerated by ';

const section = (o: ScenarioOutput): string =>
  [
    `## ${o.id} — ${o.title}`,
    '',
    `*Generated by \`${command}\` (${today}, ${seeds.length} seed(s)).*`,
    '',
    o.setup,
    '',
    ...(o.explain !== undefined ? [`**What the figures show.** ${o.explain}`, ''] : []),
    ...o.tables.flatMap((t) => [table(t), '']),
    ...o.charts.filter((c) => chartFiles.has(c.id)).flatMap((c) => [`![${c.title}](${chartFiles.get(c.id)!})`, '']),
    ...o.notes.map((n) => `- ${n}`),
  ].join('\n');

const kept = (id: string): string | undefined => {
  const old = previous.get(id);
  if (old === undefined) return undefined;
  const lines = old.split('\n').filter((l) => !l.startsWith(KEPT));
  if (!lines.some((l) => l.startsWith('*Generated by ')) && previousProvenance !== undefined) {
    const [cmd, date, n] = previousProvenance.split('|');
    lines.splice(1, 0, '', `*Generated by ${cmd} (${date}, ${n} seed(s)).*`);
  }
  // Say which run did not regenerate it, right under the heading (one blank line either side, however often kept).
  const rest = lines.slice(1);
  while (rest[0] === '') rest.shift();
  return [lines[0], '', `${KEPT}\`${command}\` (${today}).`, '', ...rest].join('\n');
};

/** Writes the document: this run's sections, and every other section kept from the existing file (marked). */
const write = (done: boolean): void => {
  const ids = SCENARIOS.map((s) => s.id);
  const body = ids.map((id) => (outputs.has(id) ? section(outputs.get(id)!) : kept(id))).filter((x): x is string => x !== undefined);
  const keptIds = ids.filter((id) => !outputs.has(id) && previous.has(id));
  const md = [
    '# Overload scenarios: sluice policies on the simulator',
    '',
    `Last written by \`${command}\` (Node ${process.version}, ${today}, ${seeds.length} seed(s); ${done ? `total wall time ${elapsed()}` : `in progress, ${elapsed()} so far`}).`,
    keptIds.length > 0
      ? `Sections ${keptIds.join(', ')} were not regenerated by that run and are kept from an earlier one (each section names the command that generated it).`
      : 'Every section below was generated by that run.',
    'Do not edit by hand: rerun the command.',
    '',
    'Canonical model, an M/M/40 queue: a downstream with c = 40 workers, FIFO queue, exponential service time with mean 40 ms,',
    'so capacity C = 1000 rps; open-loop Poisson clients with a 1 s deadline; a caller that gives up releases its permit,',
    'and the downstream does not cancel abandoned work (it is counted as wasted work). Every policy is the real sluice',
    "primitive running unmodified on the simulator's virtual clock (`sluice/sim`, see docs/simulator.md).",
    'Cells show the median over seeds and, in parentheses, the worst seed. "Ideal" is the limit queueing theory sets for',
    'this model: goodput min(λ, C); below capacity, the latency of the M/M/40 queue (Erlang C formula: unloaded p50 27.7 ms,',
    'p99 184 ms); above it, a perfect limiter that holds at most L calls in flight, i.e. an M/M/40/L queue (L = 43 gives',
    "99.96 % of C with p99 186 ms at 3 × C); Little's law (J. D. C. Little, Operations Research 9(3), 1961) gives the",
    'mean latency at saturation, L / C. "Target" (T1–T12) is a goal sluice sets for its own defaults, given in a table row where one is defined.',
    'The scenarios follow experiment designs from the overload-control literature: goodput and latency against offered',
    "load (D. Yanacek, \"Using load shedding to avoid overload\", Amazon Builders' Library); demand spikes (I. Cho et al.,",
    '"Overload Control for µs-scale RPCs with Breakwater", OSDI 2020); retry storms and metastability (N. Bronson et al.,',
    '"Metastable Failures in Distributed Systems", HotOS 2021); backoff under contention (M. Brooker, "Exponential Backoff',
    "and Jitter\", AWS Architecture Blog, 2015); fairness by Jain's index (R. Jain, D. Chiu, W. Hawe, DEC-TR-301, 1984);",
    'breaker defaults of resilience4j (https://github.com/resilience4j/resilience4j) and failsafe-go.',
    '',
    `Policies compared: ${policies.map((p) => p.label).join('; ')}.`,
    missing.length > 0 ? `Not available yet, so not compared: ${missing.join('; ')}.` : '',
    '',
    ...body.flatMap((b) => [b, '']),
  ].join('\n');
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, md);
};

for (const [i, s] of order.entries()) {
  progress(`${s.id} (${i + 1}/${order.length}): ${s.title}`);
  const t0 = performance.now();
  const out = await s.run({ policies, seeds, quick, progress: (l) => progress(`  ${l}`), jobs: parallel?.runner });
  out.notes.push(`Wall time of this scenario: ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
  outputs.set(s.id, out);
  if (!args['no-charts']) {
    for (const c of out.charts) {
      if (c.lines.length === 0) continue;
      mkdirSync(imgDir, { recursive: true });
      const file = join(imgDir, `${c.id}.svg`);
      writeFileSync(file, await timeSeriesSvg(c.title, c.lines, c.marks));
      chartFiles.set(c.id, relative(dirname(outPath), file));
      progress(`  chart ${relative(process.cwd(), file)}`);
    }
  }
  write(false);
  progress(`  wrote ${relative(process.cwd(), outPath)} (${s.id})`);
}
write(true);
progress(`wrote ${relative(process.cwd(), outPath)} in ${elapsed()}`);
parallel?.close();
