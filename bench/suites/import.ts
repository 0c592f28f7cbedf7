/**
 * Import cost: what loading the package costs a process that starts, side by side with its peers. Each operation
 * spawns a fresh `node` process (no module cache, no JIT warm-up carried over), which loads one package and exits.
 * The table's ns/op is the whole process, spawn to exit, against a bare `node -e 0`; the notes give the import
 * alone, timed inside the child with `performance.now()` around the `import()` / `require()`.
 *
 * sluice is loaded from the built dist/ through its own exports map (self-reference by name, as a user's import
 * resolves it), so run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asyncTask, type BenchTask, type Role, type Suite } from '../harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = new URL('../../dist/index.js', import.meta.url);

/** In-child import times (ms) per task, collected while the suite runs (warm-up runs included). */
const samples = new Map<string, { inner: number[]; wall: number[] }>();

/** Spawns `node <args>`, resolves with the child's stdout once it exited with 0. */
function run(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // No execArgv: the child must not inherit this process's --import tsx or --expose-gc.
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench import: node ${args.join(' ')} exited with ${String(code)}`))));
  });
}

const timed = (load: string): string => `const t0 = performance.now(); ${load}; process.stdout.write(String(performance.now() - t0));`;

/** A task that spawns a process running `source` (ESM when `esm`), recording the import time it prints. */
function processTask(name: string, role: Role, source: string | undefined, esm: boolean, note: string): BenchTask {
  const rec = { inner: [] as number[], wall: [] as number[] };
  samples.set(name, rec);
  const args = source === undefined ? ['-e', '0'] : [...(esm ? ['--input-type=module'] : []), '-e', source];
  return asyncTask(
    name,
    async () => {
      if (!existsSync(DIST)) throw new Error('bench import: dist/ is missing; run `npm run build` first');
      const start = performance.now();
      const out = await run(args);
      rec.wall.push(performance.now() - start);
      if (source !== undefined) rec.inner.push(Number(out));
    },
    { role, batch: 1, note },
  );
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const ms = (x: number): string => x.toFixed(1);
const notes: string[] = [
  'Each operation is one fresh `node` process (spawned from the bench, cwd = the repository); ns/op is its whole life, spawn to exit. Node startup dominates it; × floor shows what loading the package adds.',
  'Import alone (timed inside the child around the `import()` / `require()`), median / p90 in ms over every run of the task, warm-up runs included:',
];

const suite: Suite = {
  name: 'import',
  title: 'Import cost (fresh process per load)',
  floor: 'node -e 0',
  allocations: false,
  tasks: [
    processTask('node -e 0', 'floor', undefined, false, 'a bare process: startup and exit, nothing loaded.'),
    processTask("import('sluice')", 'sluice', timed("await import('sluice')"), true, 'dist/index.js (ESM), through the exports map.'),
    processTask("require('sluice')", 'sluice', timed("require('sluice')"), false, 'dist/index.cjs (CommonJS), through the exports map.'),
    processTask(
      "import('sluice') + first histogram value",
      'sluice',
      timed("const s = await import('sluice'); s.createMetricsRegistry().histogram({ name: 'h', help: '', labels: {} }).record(1)"),
      true,
      'what a process that records latency pays by its first recorded value (hdr-histogram-js is loaded then).',
    ),
    processTask("import('cockatiel')", 'peer', timed("await import('cockatiel')"), true, 'cockatiel 3.2.1, ESM build.'),
    processTask("require('cockatiel')", 'peer', timed("require('cockatiel')"), false, 'cockatiel 3.2.1, CommonJS build.'),
    processTask("require('opossum')", 'peer', timed("require('opossum')"), false, 'opossum 9.0.0 (CommonJS only).'),
    processTask("import('p-limit')", 'peer', timed("await import('p-limit')"), true, 'p-limit 7.3.3 (ESM only).'),
  ],
  notes,
  dispose() {
    const first = notes.length;
    for (const [name, { inner, wall }] of samples) {
      const load = inner.length === 0 ? '' : `import ${ms(quantile(inner, 0.5))} / ${ms(quantile(inner, 0.9))} ms; `;
      notes.push(`\`${name}\`: ${load}whole process ${ms(quantile(wall, 0.5))} / ${ms(quantile(wall, 0.9))} ms (${wall.length} runs).`);
    }
    const med = (name: string): number => quantile(samples.get(name)!.inner, 0.5);
    const pairs: [string, string][] = [
      ["import('sluice')", "import('cockatiel')"],
      ["require('sluice')", "require('cockatiel')"],
    ];
    for (const [ours, theirs] of pairs) {
      const ok = med(ours) <= med(theirs);
      notes.push(`Target \`${ours}\` ≤ \`${theirs}\` (import alone, medians): ${ok ? 'met' : 'MISSED'}, ${ms(med(ours))} vs ${ms(med(theirs))} ms.`);
    }
    // The terminal table has no notes: print the figures this suite is about.
    console.log(['import alone, median / p90 (ms):', ...notes.slice(first)].map((l) => l.replaceAll('`', '')).join('\n'));
  },
};

export default suite;
