/**
 * The packed package's types, as TypeScript projects of each module-resolution mode see them: `sluice`,
 * `sluice/sim`, `sluice/testing`, `sluice/fetch`, `sluice/http` and `sluice/redis` must resolve to their declarations (not `any`) under `node10` (old setups, which
 * ignore `exports`), `node16` (ESM and CommonJS files) and `bundler`. Each project is type-checked by the
 * repository's own TypeScript, with `skipLibCheck: false` so the declarations themselves are checked too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, packedProject } from './packed.js';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Uses one export of each entry point, and proves the types are real: a wrong argument must be an error. */
const SOURCE = `import { tokenBucket, NEVER_ABORTED, type TokenBucket } from 'sluice';
import { simulate, type SimResult } from 'sluice/sim';
import { ManualClock } from 'sluice/testing';
import { protectFetch } from 'sluice/fetch';
import { parseRetryAfter } from 'sluice/http';
import { redisTokenBucket, type RedisCommander } from 'sluice/redis';

const api = protectFetch(fetch, { retry: { maxAttempts: 2 } });
const redis: RedisCommander = { sendCommand: async () => 1 };
const quota = redisTokenBucket({ redis, id: 'q', capacity: 10, refillPerSecond: 1 });
// @ts-expect-error refillPerSecond is a number
redisTokenBucket({ redis, id: 'q', capacity: 10, refillPerSecond: 'one' });
const hint: number | undefined = parseRetryAfter('120', Date.now());
// @ts-expect-error retry.maxAttempts is a number
protectFetch(fetch, { retry: { maxAttempts: 'two' } });
const clock = new ManualClock();
const bucket: TokenBucket = tokenBucket({ capacity: 1, refillPerSecond: 1, clock });
const name: string = bucket.name;
const signal: AbortSignal = NEVER_ABORTED;
const run: (o: Parameters<typeof simulate>[0]) => Promise<SimResult> = simulate;
// @ts-expect-error capacity is a number: this line must be an error, so the types are not \`any\`
tokenBucket({ capacity: 'ten', refillPerSecond: 1 });
// @ts-expect-error ManualClock has no such method
clock.notAMethod();
export { name, signal, run, api, hint, quota };
`;

interface Mode {
  readonly dir: string;
  readonly compilerOptions: Record<string, unknown>;
  readonly files: readonly string[];
  readonly packageType?: 'module' | 'commonjs';
}

const MODES: readonly Mode[] = [
  { dir: 'types-node10', compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, files: ['index.ts'] },
  // node16: a .cts file resolves through "require" (index.d.cts), a .mts file through "import" (index.d.ts).
  { dir: 'types-node16', compilerOptions: { module: 'node16', moduleResolution: 'node16' }, files: ['index.cts', 'index.mts'] },
  { dir: 'types-bundler', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, files: ['index.ts'], packageType: 'module' },
];

function typecheck(project: string, mode: Mode): string {
  const dir = join(project, mode.dir);
  mkdirSync(dir, { recursive: true });
  for (const f of mode.files) writeFileSync(join(dir, f), SOURCE);
  if (mode.packageType !== undefined) writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: mode.packageType }));
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      // A typical Node project: @types/node (which also declares Symbol.dispose and Disposable).
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      types: ['node'],
      ...mode.compilerOptions,
    },
    files: mode.files,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  try {
    return execFileSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `tsc failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
}

describe('the packed package types', () => {
  let project: string;
  beforeAll(() => {
    project = packedProject();
  }, 60_000);

  it('regression: subpath types did not resolve under moduleResolution node10 (typesVersions)', () => {
    expect(typecheck(project, MODES[0]!)).toBe('');
  }, 20_000);

  it('resolve under node16, from a CommonJS (.cts) and an ESM (.mts) file', () => {
    expect(typecheck(project, MODES[1]!)).toBe('');
  }, 20_000);

  it('resolve under bundler', () => {
    expect(typecheck(project, MODES[2]!)).toBe('');
  }, 20_000);
});
