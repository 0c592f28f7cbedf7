/**
 * Every program in examples/ runs as a user would run it (`npx tsx examples/<name>.ts`), exits 0 and prints what its
 * header promises, so an API change that breaks an example fails here instead of in a reader's terminal.
 *
 * The assertions check the example's claims (who is refused, with which code; that the protected run keeps its
 * goodput), not its whole output: the real-time examples (buckets, protected-fetch) move by a few ms and a call or two
 * from run to run, and the simulator examples are deterministic but their exact figures may legitimately change when
 * the simulator's measurement is corrected.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const out = mkdtempSync(join(tmpdir(), 'sluice-examples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `examples/<file>` with tsx in a child process (no colours), killed after `timeoutMs`. */
function run(file: string, args: string[] = [], timeoutMs = 15_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(EXAMPLES, file), ...args],
      { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
      (error, stdout, stderr) => {
        const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout: plain(stdout), stderr: plain(stderr) });
      },
    );
  });
}

/** Exit code 0 (with stderr in the failure message when not). */
function expectSuccess(r: Run): void {
  expect(r.code, `exit code; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`).toBe(0);
}

/** The number captured by `re` in `text` (the test fails if the line is missing). */
function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  expect(m, `no match for ${String(re)} in:\n${text}`).not.toBeNull();
  return Number(m![1]!.replaceAll(',', ''));
}

/** The times (ms since the burst) at which buckets.ts printed "call N runs". */
function runTimes(text: string): number[] {
  return [...text.matchAll(/^\s+(\d+) ms {2}call +\d+ runs$/gm)].map((m) => Number(m[1]));
}

const TESTED = ['buckets.ts', 'demo-sim-guide.ts', 'demo.ts', 'http-service.ts', 'metrics-service.ts', 'protected-fetch.ts', 'shared-quota.ts', 'virtual-time.ts'];

describe('examples/', () => {
  it('every example program has a test here', () => {
    const programs = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts')).sort();
    expect(programs).toEqual([...TESTED].sort());
  });

  it('buckets.ts: the token bucket admits its burst then the refill, the leaky bucket paces; the rest are refused with a hint', async () => {
    const r = await run('buckets.ts');
    expectSuccess(r);
    const [token, leaky] = r.stdout.split('Leaky bucket:');
    expect(token).toContain('Token bucket: capacity 5, refill 10/s');
    // 5 at once, then 10/s for at most 1.2 s: about 17 admitted, the rest refused at once.
    const tAdmitted = num(token!, /"admitted":(\d+)/);
    const tRejected = num(token!, /"rejected":(\d+)/);
    expect(tAdmitted + tRejected).toBe(20);
    expect(tAdmitted).toBeGreaterThanOrEqual(16);
    expect(tAdmitted).toBeLessThanOrEqual(18);
    // The burst runs at once (within a few ms on a loaded machine), the next call a refill later (about 100 ms).
    expect(runTimes(token!).filter((ms) => ms < 50)).toHaveLength(5);
    expect(token).toMatch(/refused: MAX_WAIT_EXCEEDED, retry after \d+ ms/);
    // One every 100 ms for at most 1.2 s: about 13 admitted.
    const lAdmitted = num(leaky!, /"admitted":(\d+)/);
    const lRejected = num(leaky!, /"rejected":(\d+)/);
    expect(lAdmitted + lRejected).toBe(20);
    expect(lAdmitted).toBeGreaterThanOrEqual(12);
    expect(lAdmitted).toBeLessThanOrEqual(14);
    expect(runTimes(leaky!).filter((ms) => ms < 50)).toHaveLength(1);
    expect(leaky).toMatch(/refused: MAX_WAIT_EXCEEDED, retry after \d+ ms/);
  });

  it('protected-fetch.ts: 60 calls against a flaky local server, almost all answered', async () => {
    const r = await run('protected-fetch.ts');
    expectSuccess(r);
    expect(r.stdout).toMatch(/^60 calls in \d+ ms, \d+ requests reached the server$/m);
    const outcomes = [...r.stdout.matchAll(/^\s+(\d+) {2}(.+)$/gm)].map((m) => [m[2]!, Number(m[1])] as const);
    expect(outcomes.reduce((s, [, n]) => s + n, 0)).toBe(60);
    // One request in five is a 503 and one in ten hangs (30 % of single attempts fail, so about 42 of 60 would be
    // answered without retries): retries inside the 1.5 s deadline recover nearly all (59 on an idle machine; the
    // bound leaves room for a loaded CI machine, where attempts run closer to their 300 ms timeout).
    expect(Object.fromEntries(outcomes).ok).toBeGreaterThanOrEqual(46);
    // Whatever failed says why: a retry that gave up names its reason and the last error.
    for (const [outcome] of outcomes) expect(outcome).toMatch(/^(ok|refused: [A-Z_]+|timed out|gave up after \d attempts \(\w+\), last: .+)$/);
    // More requests than calls reached the server: the retries.
    expect(num(r.stdout, /(\d+) requests reached the server/)).toBeGreaterThan(60);
  });

  it('http-service.ts: the dependency\'s 429 closes it for every caller, and the service answers 503 + Retry-After', async () => {
    const r = await run('http-service.ts');
    expectSuccess(r);
    const reached = num(r.stdout, /60 requests to the service, (\d+) reached the dependency/);
    // 20 served, then at most the 10 already in flight when the first 429 came back: the gate kept the rest home.
    expect(reached).toBeGreaterThanOrEqual(21);
    expect(reached).toBeLessThanOrEqual(30);
    expect(num(r.stdout, /^\s+(\d+) {2}200$/m)).toBe(20);
    expect(num(r.stdout, /^\s+(\d+) {2}503 \(Retry-After: 2\)$/m)).toBe(40);
    expect(r.stdout).toContain('come back in 2 s');
  });

  it('metrics-service.ts: serves /metrics in the Prometheus format while it calls a flaky dependency', async () => {
    const r = await run('metrics-service.ts');
    expectSuccess(r);
    const answered = num(r.stdout, /200 calls: (\d+) answered/);
    expect(answered).toBeGreaterThan(180); // one 502 in four, retried
    expect(num(r.stdout, /the dependency saw (\d+) requests/)).toBeGreaterThan(200); // the retries
    expect(num(r.stdout, /GET \/metrics: (\d+) samples/)).toBeGreaterThan(100);
    expect(r.stdout).toContain('content-type text/plain; version=0.0.4; charset=utf-8');
    expect(r.stdout).toMatch(/sluice_retries_total\{kind="retry",policy="dependency\/http:\/\/127\.0\.0\.1:\d+"\} [1-9]\d*/);
    expect(r.stdout).toMatch(/sluice_call_duration_seconds_count\{kind="retry",outcome="success",policy="dependency\/[^"]+"\} \d+/);
  });

  it('demo.ts (npm run demo): unprotected collapses during the flash crowd, the token bucket keeps goodput and refuses at once', async () => {
    const r = await run('demo.ts', ['--out', out]);
    expectSuccess(r);
    const row = (label: string): string[] => {
      const line = r.stdout.split('\n').find((l) => l.includes(label));
      expect(line, `row "${label}" in:\n${r.stdout}`).toBeDefined();
      return line!.split('│').map((c) => c.trim()).filter((c) => c !== '').slice(1);
    };
    const [goodUnprotected, goodSluice] = row('goodput (answered within 1 s)').map((c) => num(c, /(\d+) rps/));
    expect(goodUnprotected).toBeLessThan(300);
    expect(goodSluice).toBeGreaterThan(900);
    const [p99Unprotected, p99Sluice] = row('p99 latency of successes').map((c) => num(c, /(\d+) ms/));
    expect(p99Sluice).toBeLessThan(300);
    expect(p99Unprotected).toBeGreaterThan(p99Sluice!);
    expect(row('callers timed out')[1]).toBe('0');
    expect(row('rejected at once (reason)')[1]).toMatch(/^\d+ % \(RATE_LIMITED \d+, in 0 ms\)$/);
    const [afterUnprotected, afterSluice] = row('goodput after the rush').map((c) => num(c, /(\d+) rps/));
    expect(afterUnprotected).toBeLessThan(100);
    expect(afterSluice).toBeGreaterThan(550);
    expect(r.stdout).toContain(`Chart: ${join(out, 'demo-flash-crowd.svg')}`);
    expect(existsSync(join(out, 'demo-flash-crowd.svg'))).toBe(true);
  });

  it('demo-sim-guide.ts (docs/simulator.md): both candidates hold goodput near 950 rps and converge', async () => {
    const r = await run('demo-sim-guide.ts');
    expectSuccess(r);
    for (const name of ['token bucket 950/s', 'bucket → pacer']) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(name));
      expect(line, `line for "${name}" in:\n${r.stdout}`).toBeDefined();
      const goodput = num(line!, /goodput (\d+) rps/);
      expect(goodput).toBeGreaterThan(900);
      expect(goodput).toBeLessThanOrEqual(1000);
      expect(line).toMatch(/rejected \{"[A-Z_]+":\d+/);
      expect(line).toMatch(/converged in \d+ ms$/);
    }
  });

  it('virtual-time.ts (the README testing snippet): the queued call runs after advance(1000), without real time', async () => {
    const r = await run('virtual-time.ts');
    expectSuccess(r);
    expect(r.stdout).toContain('first call: done');
    expect(r.stdout).toContain('queued: 1');
    expect(r.stdout).toContain('second call after advance(1000): done');
    expect(r.stdout).toMatch(/^virtual time 1000 ms, real time under \d+ ms$/m);
    expect(num(r.stdout, /real time under (\d+) ms/)).toBeLessThan(500);
  });

  it('shared-quota.ts: two processes share one quota through a real redis-server and stay under the partner’s limit', async () => {
    const redis = await RedisServer.start();
    try {
      const r = await run('shared-quota.ts', [redis.url], 30_000);
      expectSuccess(r);
      const served = num(r.stdout, /partner: (\d+) requests served/);
      const refused = num(r.stdout, /, (\d+) refused with 429/);
      const ms = num(r.stdout, /refused with 429, in (\d+) ms/);
      expect(served).toBe(24);
      expect(refused).toBe(0);
      expect(num(r.stdout, /worker A: (\d+) × 200/) + num(r.stdout, /worker B: (\d+) × 200/)).toBe(24);
      // A burst of 4, then 9 per second for both together: 20 more take at least 2.2 s.
      expect(ms).toBeGreaterThanOrEqual(2_000);
    } finally {
      await redis.stop();
    }
  }, 40_000);
});
