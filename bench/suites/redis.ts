/**
 * Redis: what the shared limiters add to a round trip. One loopback `redis-server`, started by the suite (the test
 * support's `RedisServer`: no persistence), and one ioredis client shared by every row:
 * - the floor, a bare `PING`, and two references: an `EVALSHA` of a script that returns 1, and `EVALSHA` of sluice's
 *   GCRA script with the arguments the bucket sends (the script alone, without sluice's JS around it), and the same
 *   for the lease scripts (acquire awaited, release sent without waiting, as the limiter does);
 * - sluice: `redisTokenBucket` (`tryAcquire()`, `execute(noop)`) and `redisConcurrencyLimit` (`acquire()` then
 *   `release()`), limits so high that every call is admitted, `timeoutMs: 1000`, the default breaker;
 * - the peer: rate-limiter-flexible 11's `RateLimiterRedis.consume(key)` (one `EVALSHA` of its INCR + PTTL script).
 *
 * The tinybench table is sequential (one call in flight). The extra tables measure, interleaved so that drift in
 * loopback latency over the run hits every row alike: per-call latency percentiles (each awaited call timed on its
 * own), and throughput of a closed loop with 1 and with 64 callers in flight.
 * Targets: `redisTokenBucket.tryAcquire()` adds ≤ 1 ms to the bare round trip's p99; its throughput is at least
 * rate-limiter-flexible's, with 1 and with 64 in flight.
 * Without `redis-server` on PATH the suite is skipped (nothing measured, no section written).
 *
 * The sluice rows run the built package (dist/, rebuilt first when src/ is newer), as users run it. tsx, which runs
 * the benchmarks, compiles with esbuild's `keepNames`, which wraps every function made per call in an
 * `Object.defineProperty` (`__name`): under it the limiters' JS measured about 40 % slower than built.
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisConcurrencyLimit, RedisTokenBucket } from '../../src/redis/index.js';
import { GCRA, LEASE_ACQUIRE, LEASE_RELEASE } from '../../src/redis/scripts.js';
import { RedisServer } from '../../test/support/redis-server.js';
import { asyncTask, type Role, type Suite } from '../harness.js';

const BIG = 1e9;
const TRIVIAL = 'return 1';
const noop = async (): Promise<void> => {};

let srv: RedisServer | undefined;
let redis: Redis | undefined;
let bucket: RedisTokenBucket | undefined;
let lim: RedisConcurrencyLimit | undefined;
let rlflx: RateLimiterRedis | undefined;
let trivialSha = '';
let serverVersion = 'unknown';
let rawSeq = 0;

// The arguments redisTokenBucket sends for a unit call (its constructor's: µs per token, capacity, cost, batch).
const GCRA_KEYS = ['bench:{raw-gcra}'];
const GCRA_ARGS = [String(1e6 / BIG), String(BIG), '1', '1'];
const LEASE_KEYS = ['bench:{raw-lease}:leases', 'bench:{raw-lease}:costs', 'bench:{raw-lease}:used'];

const live = (): Redis => redis!;
const evalsha = (sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown> => live().call('EVALSHA', sha, String(keys.length), ...keys, ...args);

interface Variant {
  readonly name: string;
  readonly role: Role;
  readonly op: () => Promise<unknown>;
  readonly note: string;
}

const FLOOR = 'ioredis PING';
const BUCKET = 'redisTokenBucket.tryAcquire()';
const PEER = "RateLimiterRedis.consume('k')";

const variants: readonly Variant[] = [
  { name: FLOOR, role: 'floor', op: () => live().call('PING'), note: "`redis.call('PING')`: the round trip no shared limiter can avoid." },
  { name: 'ioredis EVALSHA (return 1)', role: 'reference', op: () => evalsha(trivialSha, [], []), note: 'a script that returns 1: the round trip plus invoking Lua.' },
  {
    name: 'ioredis EVALSHA GCRA (script alone)',
    role: 'reference',
    op: () => evalsha(GCRA.sha, GCRA_KEYS, GCRA_ARGS),
    note: "sluice's GCRA script with the bucket's arguments, sent straight through ioredis: the bucket's server work, without its JS.",
  },
  { name: BUCKET, role: 'sluice', op: () => bucket!.tryAcquire(), note: '`redisTokenBucket({ capacity: 1e9, refillPerSecond: 1e9, timeoutMs: 1000 })`, default breaker: one GCRA `EVALSHA` per call.' },
  { name: 'redisTokenBucket.execute(noop)', role: 'sluice', op: () => bucket!.execute(noop), note: 'the same bucket around an async no-op.' },
  { name: PEER, role: 'peer', op: () => rlflx!.consume('k'), note: "rate-limiter-flexible 11 `RateLimiterRedis({ storeClient, points: 1e9, duration: 1 })`: its INCR + PTTL script through ioredis's `defineCommand` (EVALSHA); no timeout, no breaker." },
  {
    name: 'ioredis EVALSHA lease acquire + release (scripts alone)',
    role: 'reference',
    op: async () => {
      const id = `raw:${++rawSeq}`;
      await evalsha(LEASE_ACQUIRE.sha, LEASE_KEYS, ['1000000', '30000', id, '1']);
      void evalsha(LEASE_RELEASE.sha, LEASE_KEYS, [id]);
    },
    note: "sluice's lease scripts straight through ioredis: acquire awaited, release sent without waiting (as the limiter does).",
  },
  {
    name: 'redisConcurrencyLimit.acquire() + release()',
    role: 'sluice',
    op: async () => {
      const p = await lim!.acquire();
      p.release();
    },
    note: '`redisConcurrencyLimit({ limit: 1e6, timeoutMs: 1000 })`: the acquire script awaited; `release()` sends the release script without waiting.',
  },
];

/** Until the client has answered everything sent so far (fire-and-forget releases included): one connection, in order. */
const drain = (): Promise<unknown> => live().call('PING');

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The built sluice/redis, rebuilt when missing or older than src/. */
async function builtRedis(): Promise<typeof import('../../src/redis/index.js')> {
  const entry = join(ROOT, 'dist', 'redis', 'index.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newest(join(ROOT, 'src'))) {
    console.log('building dist/ (src/ is newer) ...');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  }
  return (await import(entry)) as typeof import('../../src/redis/index.js');
}

async function setup(): Promise<string | undefined> {
  const { redisConcurrencyLimit, redisTokenBucket } = await builtRedis();
  try {
    srv = await RedisServer.start();
  } catch (e) {
    const message = (e as Error).message;
    const why = /ENOENT/.test(message) ? 'redis-server is not on PATH' : `redis-server did not start: ${message.split('\n')[0]}`;
    return `${why}. Install it (apt-get install redis-server, or .ci/run) to run this suite.`;
  }
  redis = new Redis(srv.port, '127.0.0.1', { lazyConnect: false });
  await redis.call('PING');
  serverVersion = /redis_version:(\S+)/.exec(String(await redis.call('INFO', 'server')))?.[1] ?? 'unknown';
  trivialSha = String(await redis.call('SCRIPT', 'LOAD', TRIVIAL));
  for (const s of [GCRA, LEASE_ACQUIRE, LEASE_RELEASE]) await redis.call('SCRIPT', 'LOAD', s.source);
  bucket = redisTokenBucket({ redis, id: 'bench-bucket', capacity: BIG, refillPerSecond: BIG, timeoutMs: 1000 });
  lim = redisConcurrencyLimit({ redis, id: 'bench-lease', limit: 1e6, timeoutMs: 1000 });
  rlflx = new RateLimiterRedis({ storeClient: redis, points: BIG, duration: 1, keyPrefix: 'bench-rlflx' });
  // Warms the connection and the JIT; sluice's scripts are loaded above, rate-limiter-flexible's goes on its first NOSCRIPT.
  for (const v of variants) for (let i = 0; i < 200; i++) await v.op();
  await drain();
  return undefined;
}

async function dispose(): Promise<void> {
  bucket?.dispose();
  lim?.dispose();
  if (redis !== undefined) {
    try {
      await redis.quit();
    } catch {
      redis.disconnect();
    }
  }
  await srv?.stop();
  bucket = lim = rlflx = redis = srv = undefined;
}

// ---- measured outside tinybench -----------------------------------------------------------------------------------

const quantile = (sorted: Float64Array, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** Per-call latency, µs: `rounds` × `block` sequential calls per variant, the variants in rotated order each round. */
async function latencies(rounds: number, block: number): Promise<Float64Array[]> {
  const samples = variants.map(() => new Float64Array(rounds * block));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + r) % variants.length;
      const op = variants[v]!.op;
      const out = samples[v]!;
      for (let i = 0; i < block; i++) {
        const t0 = performance.now();
        await op();
        out[r * block + i] = (performance.now() - t0) * 1000;
      }
      await drain();
    }
  }
  for (const s of samples) s.sort();
  return samples;
}

/** CPU time redis-server has used, µs (`INFO cpu`: user + system, all threads). */
async function serverCpuUs(): Promise<number> {
  const info = String(await live().call('INFO', 'cpu'));
  const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

interface Slice {
  calls: number;
  ms: number;
  /** CPU time of this process and of redis-server during the slice, µs. */
  clientCpuUs: number;
  serverCpuUs: number;
}

/** Completed calls per second of `inflight` callers each awaiting `op` in a loop for `ms`, and the CPU both sides used. */
async function closedLoop(op: () => Promise<unknown>, inflight: number, ms: number): Promise<Slice> {
  let calls = 0;
  const server0 = await serverCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      await op();
      calls++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, caller));
  const elapsed = performance.now() - t0;
  await drain();
  const cpu = process.cpuUsage(cpu0);
  const server = (await serverCpuUs()) - server0;
  return { calls, ms: elapsed, clientCpuUs: cpu.user + cpu.system, serverCpuUs: server };
}

interface Throughput {
  /** Calls per second, over all slices. */
  rate: number;
  /** Calls per second of each round's slice, in round order (rows of one round ran back to back). */
  rounds: number[];
  /** CPU per call, µs: this process (client library, limiter, the loop itself) and redis-server. */
  clientUs: number;
  serverUs: number;
}

/** Calls/s per variant with `inflight` callers: `rounds` slices of `sliceMs` per variant, in rotated order. */
async function throughput(inflight: number, rounds: number, sliceMs: number): Promise<Throughput[]> {
  const sum = variants.map((): Slice => ({ calls: 0, ms: 0, clientCpuUs: 0, serverCpuUs: 0 }));
  const perRound = variants.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + r) % variants.length;
      const res = await closedLoop(variants[v]!.op, inflight, sliceMs);
      perRound[v]!.push((res.calls * 1000) / res.ms);
      const t = sum[v]!;
      t.calls += res.calls;
      t.ms += res.ms;
      t.clientCpuUs += res.clientCpuUs;
      t.serverCpuUs += res.serverCpuUs;
    }
  }
  return sum.map((t, v) => ({ rate: (t.calls * 1000) / t.ms, rounds: perRound[v]!, clientUs: t.clientCpuUs / t.calls, serverUs: t.serverCpuUs / t.calls }));
}

/**
 * Row `v` against row `peer`: the median over rounds of their ratio within a round. Rows of one round ran within a
 * couple of seconds of each other, so drift in the machine's speed over the run cancels out of each ratio.
 */
function medianRatio(tp: readonly Throughput[], v: number, peer: number): number {
  const r = tp[v]!.rounds.map((x, i) => x / tp[peer]!.rounds[i]!).sort((a, b) => a - b);
  const m = r.length >> 1;
  return r.length % 2 === 1 ? r[m]! : (r[m - 1]! + r[m]!) / 2;
}

const us = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const signed = (x: number): string => (x >= 0 ? `+${us(x)}` : `−${us(-x)}`);
const perSec = (x: number): string => Math.round(x).toLocaleString('en-US');

const ROUNDS = 20;
const BLOCK = 250;
const TP_ROUNDS = 12;
const TP_SLICE_MS = 150;

async function extra(): Promise<{ lines: string[]; targets: string[] }> {
  const lat = await latencies(ROUNDS, BLOCK);
  const floor = variants.findIndex((v) => v.name === FLOOR);
  const p = (v: number, q: number): number => quantile(lat[v]!, q);
  const lines = [
    '',
    `**Sequential latency per call**, µs, one call in flight: ${ROUNDS} rounds × ${BLOCK} calls per row (${ROUNDS * BLOCK} each), rows in rotated order each round; "added" is the row minus \`${FLOOR}\` at the same percentile.`,
    '',
    '| row | role | p50 µs | p90 µs | p99 µs | added p50 µs | added p99 µs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (let v = 0; v < variants.length; v++) {
    const added = v === floor ? ['–', '–'] : [signed(p(v, 0.5) - p(floor, 0.5)), signed(p(v, 0.99) - p(floor, 0.99))];
    lines.push(`| \`${variants[v]!.name}\` | ${variants[v]!.role} | ${us(p(v, 0.5))} | ${us(p(v, 0.9))} | ${us(p(v, 0.99))} | ${added.join(' | ')} |`);
  }

  const tp1 = await throughput(1, TP_ROUNDS, TP_SLICE_MS);
  const tp64 = await throughput(64, TP_ROUNDS, TP_SLICE_MS);
  const peer = variants.findIndex((v) => v.name === PEER);
  lines.push(
    '',
    `**Throughput**, calls/s of a closed loop (each caller awaits one call, then makes the next) with 1 and with 64 callers in flight: ${TP_ROUNDS} slices × ${TP_SLICE_MS} ms per row and concurrency, rows in rotated order; "× rate-limiter-flexible" is the median over rounds of the row's rate over the peer's in the same round. ` +
      'CPU µs per call at 64 in flight: this process (`process.cpuUsage()`: ioredis, the limiter, the loop) and redis-server (`INFO cpu`), both user + system; ' +
      'with two cores and two busy processes, the larger of the two bounds the rate, and unlike calls/s it barely moves with the load of other work on the machine.',
    '',
    '| row | role | calls/s, 1 in flight | × rate-limiter-flexible | calls/s, 64 in flight | × rate-limiter-flexible | client CPU µs/call | server CPU µs/call |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (let v = 0; v < variants.length; v++) {
    const a = tp1[v]!;
    const c = tp64[v]!;
    lines.push(
      `| \`${variants[v]!.name}\` | ${variants[v]!.role} | ${perSec(a.rate)} | ${medianRatio(tp1, v, peer).toFixed(2)} | ` +
        `${perSec(c.rate)} | ${medianRatio(tp64, v, peer).toFixed(2)} | ${c.clientUs.toFixed(1)} | ${c.serverUs.toFixed(1)} |`,
    );
  }

  // Every sluice call must have been decided by Redis: a timeout or an open breaker would admit it locally
  // (failureMode 'open') and flatter the figures.
  // (counted since the limiters were made: warm-up, the tinybench rows, the allocation probe and these tables).
  const sb = bucket!.stats();
  const sl = lim!.stats();
  const failures = [sb, sl].reduce((n, s) => n + s.storeCalls.error + s.storeCalls.timeout + s.storeCalls.circuit_open, 0);
  const fallbacks = [sb, sl].reduce((n, s) => n + s.fallbacks.open + s.fallbacks.closed + s.fallbacks.local, 0);
  if (failures > 0 || fallbacks > 0) throw new Error(`bench redis: ${failures} store calls failed and ${fallbacks} calls fell back; the figures would not be Redis's`);
  lines.push(
    '',
    `redis-server ${serverVersion}. Store calls over the whole run: bucket ${perSec(sb.storeCalls.ok)}, lease limiter ${perSec(sl.storeCalls.ok)} (acquires and releases); none failed, timed out or fell back, so every sluice call was decided by Redis.`,
  );

  const b = variants.findIndex((v) => v.name === BUCKET);
  const addedP99 = p(b, 0.99) - p(floor, 0.99);
  const targets = [
    `${addedP99 <= 1000 ? 'met' : 'MISSED'}: \`${BUCKET}\` p99 ≤ the bare round trip's p99 + 1 ms (loopback): ${us(p(b, 0.99))} µs vs ${us(p(floor, 0.99))} µs, added ${signed(addedP99)} µs (p50 added ${signed(p(b, 0.5) - p(floor, 0.5))} µs)`,
  ];
  for (const [n, tp] of [
    [1, tp1],
    [64, tp64],
  ] as const) {
    const ratio = medianRatio(tp, b, peer);
    const cpu = n === 64 ? `; CPU per call ${tp[b]!.clientUs.toFixed(1)} vs ${tp[peer]!.clientUs.toFixed(1)} µs client, ${tp[b]!.serverUs.toFixed(1)} vs ${tp[peer]!.serverUs.toFixed(1)} µs server` : '';
    targets.push(`${ratio >= 1 ? 'met' : 'MISSED'}: \`${BUCKET}\` throughput ≥ \`${PEER}\`'s, ${n} in flight: ${perSec(tp[b]!.rate)} vs ${perSec(tp[peer]!.rate)} calls/s (median ratio over ${TP_ROUNDS} rounds ${ratio.toFixed(2)}×)${cpu}`);
  }
  return { lines, targets };
}

const BATCH = 200;

const suite: Suite = {
  name: 'redis',
  title: 'Redis: the shared limiters against a loopback redis-server',
  floor: FLOOR,
  tasks: variants.map((v) => asyncTask(v.name, v.op, { role: v.role, batch: BATCH, note: v.note })),
  notes: [
    'One `redis-server` (no persistence) on 127.0.0.1, started by the suite, and one ioredis client for every row; both share the 2 cores with this process, so a round trip includes the server being scheduled.',
    'sluice is loaded from the built package (dist/, rebuilt first when src/ is newer), as users run it: tsx, which runs the benchmarks, compiles with esbuild\'s `keepNames`, which costs every function made per call an `Object.defineProperty` (the limiters measured about 40 % slower under it).',
    'The tinybench table is sequential (one call in flight, batches of 200). B/op counts what is allocated before the awaited reply; the replies of releases sent without waiting land after the probe and are not counted.',
    'The tinybench rows run one after the other, and loopback latency on a shared VM drifts by up to 3× within a run, so compare rows in the interleaved tables below, which also give percentiles and throughput with many calls in flight.',
  ],
  setup,
  extra,
  dispose,
};

export default suite;
