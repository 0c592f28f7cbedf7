/**
 * The package as a user installs it: `npm pack` of the built repository, installed into a fresh project in a temp
 * directory (offline when the dependencies are in npm's cache). Shared by the tests of test/package/: the project is
 * kept under the OS temp directory, keyed by a hash of everything the tarball holds (dist/, package.json,
 * README.md, LICENSE), so one test run packs and installs once, and a rebuilt dist/ gets a fresh project.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function hashTree(hash: ReturnType<typeof createHash>, dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    hash.update(path.slice(ROOT.length));
    if (entry.isDirectory()) hashTree(hash, path);
    else hash.update(readFileSync(path));
  }
}

function contentHash(): string {
  const hash = createHash('sha256');
  hashTree(hash, join(ROOT, 'dist'));
  for (const f of ['package.json', 'README.md', 'LICENSE']) if (existsSync(join(ROOT, f))) hash.update(readFileSync(join(ROOT, f)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The directory of a fresh project with the packed sluice installed (`<dir>/node_modules/sluice`). Builds it on the
 * first call for the current dist/ (about 1–2 s); later calls, from any test file, reuse it.
 */
export function packedProject(): string {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const final = join(tmpdir(), `sluice-packed-${contentHash()}`);
  if (existsSync(join(final, 'node_modules', 'sluice', 'package.json'))) return final;
  const work = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
  try {
    const out = execFileSync(NPM, ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, encoding: 'utf8' });
    const tarball = join(work, out.trim().split('\n').pop()!);
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sluice-consumer', version: '0.0.0', private: true }));
    execFileSync(NPM, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
      cwd: project,
      encoding: 'utf8',
    });
    // Projects of earlier builds (another hash) are left by earlier runs: drop those not touched for an hour.
    for (const old of readdirSync(tmpdir())) {
      const path = join(tmpdir(), old);
      if (old.startsWith('sluice-packed-') && path !== final && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
    try {
      renameSync(project, final);
    } catch (e) {
      // Another test file built the same project at the same time: use theirs.
      if (!existsSync(join(final, 'node_modules', 'sluice', 'package.json'))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return final;
}

/** Runs `node <file>` (written into `dir` with `source`) and returns what it printed, parsed as JSON. */
export function runNode(dir: string, file: string, source: string): unknown {
  writeFileSync(join(dir, file), source);
  const out = execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(out) as unknown;
}
