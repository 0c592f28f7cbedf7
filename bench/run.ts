/**
 * Runs the benchmark suites and prints one table per suite; `--write` also updates docs/benchmarks.md.
 *
 *   npm run bench                         # every suite
 *   npm run bench -- --suite rate         # one suite (repeatable)
 *   npm run bench -- --write              # and update docs/benchmarks.md
 *   npm run bench -- --time 2000          # ms measured per task (default 1000)
 *   npm run bench -- --filter tokenBucket # only tasks whose name matches (regex; the floor always runs)
 *
 * A suite whose setup finds something missing (the redis suite without a redis-server on PATH) prints why and is
 * skipped: nothing measured, no section written.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { SuiteSkipped, machineFacts, markdownSection, runSuite, targetLines, textTable, updateMarkdown, type Suite } from './harness.js';
import * as registry from './suites/index.js';

const { values } = parseArgs({
  options: {
    suite: { type: 'string', multiple: true, short: 's' },
    write: { type: 'boolean', default: false },
    time: { type: 'string' },
    filter: { type: 'string' },
    'no-alloc': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const all: Suite[] = Object.values(registry as Record<string, Suite>);

if (values.help) {
  console.log('usage: npm run bench -- [--suite <name>]... [--filter <regex>] [--write] [--time <ms>] [--no-alloc] [--list]');
  process.exit(0);
}
if (values.list) {
  for (const s of all) console.log(`${s.name.padEnd(12)} ${s.title}`);
  process.exit(0);
}

const wanted = values.suite ?? all.map((s) => s.name);
const unknown = wanted.filter((n) => !all.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const timeMs = values.time === undefined ? undefined : Number(values.time);
if (timeMs !== undefined && !(timeMs > 0)) {
  console.error(`--time must be a positive number of ms, got ${values.time}`);
  process.exit(2);
}
if (values.write && values.filter !== undefined) {
  console.error('--write records whole suites; drop --filter');
  process.exit(2);
}
if ((globalThis as { gc?: unknown }).gc === undefined) {
  console.warn('warning: run with node --expose-gc (npm run bench does): no gc between tasks, no allocation figures');
}

const facts = machineFacts();
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
console.log(`${facts.cpu}, ${facts.cores} cores, ${facts.platform}; Node ${facts.node}; tinybench ${facts.tinybench}`);

for (const suite of all.filter((s) => wanted.includes(s.name))) {
  console.log(`\n== ${suite.title} [${suite.name}]`);
  const filter = values.filter === undefined ? undefined : new RegExp(values.filter);
  let result;
  try {
    result = await runSuite(suite, { timeMs, filter, allocations: !values['no-alloc'] });
  } catch (e) {
    if (!(e instanceof SuiteSkipped)) throw e;
    // A suite that needs something this machine lacks (a redis-server) measures nothing and writes no section.
    console.log(`skipped: ${e.reason}${values.write ? ' (docs/benchmarks.md left as it is)' : ''}`);
    continue;
  }
  console.log(textTable(result));
  if (result.extra.length > 0) console.log(result.extra.join('\n').replaceAll('`', ''));
  for (const line of targetLines(result)) console.log(line.replaceAll('`', ''));
  console.log(`load average (1 min) before / after: ${result.loadBefore[0]!.toFixed(2)} / ${result.loadAfter[0]!.toFixed(2)}`);
  if (values.write) {
    const path = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
    updateMarkdown(path, suite.name, markdownSection(result, facts, command));
    console.log(`updated ${path} [${suite.name}]`);
  }
}
