/**
 * Several real processes share one limit through one real redis-server: the token bucket's window bound holds over
 * all of them together (server time, from the script's own replies), the concurrency limit holds at every instant,
 * and a killed process's leases come back within the lease time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisConcurrencyLimit } from '../../src/redis/index.js';
import { ioredisClient, useClient, useServer, worstWindowExcess, type Admission } from './clients.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

const server = useServer();
const c = useClient(server, ioredisClient);

interface Worker {
  readonly proc: ChildProcess;
  readonly lines: unknown[];
  /** Resolves with the lines when the process exits (rejects on a non-zero exit). */
  readonly done: Promise<unknown[]>;
  /** Resolves with the first line. */
  readonly first: Promise<unknown>;
}

function worker(job: Record<string, unknown>): Worker {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify({ port: server.port, ...job })], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: unknown[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  let onFirst!: (x: unknown) => void;
  const first = new Promise<unknown>((r) => (onFirst = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const x: unknown = JSON.parse(line);
    if (lines.push(x) === 1) onFirst(x);
  });
  const done = new Promise<unknown[]>((resolve, reject) => {
    proc.once('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(lines);
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return { proc, lines, done, first };
}

/** Most intervals that overlap at any instant. */
function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    [i.start, 1],
    [i.end, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!); // an end before a start at the same instant
  let n = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (n += d!));
  return most;
}

describe('Redis limits shared by several processes', () => {
  it('three processes on one redisTokenBucket admit, together, at most capacity + rate · window in every window of server time', async () => {
    const job = { mode: 'bucket', id: `mp-bucket-${process.pid}`, durationMs: 1500, capacity: 10, refillPerSecond: 100, callers: 3 };
    const logs = await Promise.all([worker(job), worker(job), worker(job)].map((w) => w.done));
    const all = logs.flat() as Admission[];
    expect(all.length).toBeGreaterThan(100); // ~10 + 100/s over the time all three ran
    for (const l of logs) expect(l.length).toBeGreaterThan(0); // every process got a share
    expect(worstWindowExcess(all, 10, 100)).toBeLessThanOrEqual(1e-9);
  }, 60_000);

  it('three processes batching (batch 5) admit at most capacity + rate · window + 3 × (batch − 1) in every window', async () => {
    const job = { mode: 'bucket', id: `mp-batch-${process.pid}`, durationMs: 1500, capacity: 10, refillPerSecond: 100, callers: 3, batch: 5 };
    const logs = await Promise.all([worker(job), worker(job), worker(job)].map((w) => w.done));
    const all = logs.flat() as Admission[];
    expect(all.length).toBeGreaterThan(100);
    // Local admission times on the machine's one wall clock; a reply's delay may shift one by up to 10 ms here
    // (a token at 100/s), hence the last term.
    expect(worstWindowExcess(all, 10, 100)).toBeLessThanOrEqual(3 * (5 - 1) + 100 * 0.01);
  }, 60_000);

  it('three processes on one redisConcurrencyLimit never hold more than the limit at once', async () => {
    const job = { mode: 'lease', id: `mp-lease-${process.pid}`, durationMs: 1500, limit: 3, holdMs: 8, callers: 3 };
    const logs = await Promise.all([worker(job), worker(job), worker(job)].map((w) => w.done));
    const all = logs.flat() as { start: number; end: number }[];
    expect(all.length).toBeGreaterThan(50);
    // Each interval runs from the acquire's reply to the release's sending: inside the lease's life in Redis, so
    // more than `limit` of them overlapping would prove an over-admission.
    expect(maxOverlap(all)).toBeLessThanOrEqual(3);
    expect(maxOverlap(all)).toBeGreaterThanOrEqual(2); // the processes did contend
  }, 60_000);

  it("a killed process's leases free within leaseMs, and the others get the slots back", async () => {
    const id = `mp-kill-${process.pid}`;
    const holder = worker({ mode: 'hold', id, limit: 2, leaseMs: 400, count: 2 });
    expect(await holder.first).toEqual({ held: 2 });
    const l = redisConcurrencyLimit({ redis: c.client, id, limit: 2, leaseMs: 400, timeoutMs: 1000 });
    expect((await l.tryAcquire()).ok).toBe(false);
    const killedAt = performance.now();
    holder.proc.kill('SIGKILL');
    await holder.done;
    let freedAt = NaN;
    for (;;) {
      const r = await l.tryAcquire();
      if (r.ok) {
        freedAt = performance.now();
        r.permit.release();
        break;
      }
      if (performance.now() - killedAt > 3_000) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    // The lease was renewed at most leaseMs/3 before the kill, so it ends within leaseMs of it (the rest: this
    // process's polling and scheduling on a loaded machine).
    expect(freedAt - killedAt).toBeLessThanOrEqual(400 + 200);
    l.dispose();
  }, 60_000);
});
