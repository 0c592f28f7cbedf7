/**
 * The Redis clients the tests run against (ioredis and node-redis, both real), connected to a test server, and a
 * recording commander that keeps the raw replies of the scripts (their server timestamps prove the window bounds).
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll } from 'vitest';
import type { RedisCommander } from '../../src/redis/index.js';
import { RedisServer } from '../support/redis-server.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let seq = 0;
/** A name no other test (nor another test file's process) uses: limits of different tests never share a key. */
export const uid = (base: string): string => `${base}-${process.pid}-${++seq}`;

/** A real redis-server for this test file: started before its tests, stopped after them. */
export function useServer(): RedisServer {
  const server = RedisServer.unstarted();
  beforeAll(() => server.boot());
  afterAll(() => server.stop());
  return server;
}

/**
 * A client connected (by `connect`) before the tests of the enclosing `describe` and closed after them. The object
 * returned stands for it from then on.
 */
export function useClient(server: RedisServer, connect: (server: RedisServer) => Promise<TestClient>): TestClient {
  let c: TestClient | undefined;
  beforeAll(async () => {
    c = await connect(server);
  });
  afterAll(async () => {
    await c?.close();
  });
  const live = (): TestClient => {
    if (c === undefined) throw new Error('the test client is not connected yet');
    return c;
  };
  return {
    get label() {
      return live().label;
    },
    get client() {
      return live().client;
    },
    command: (...args) => live().command(...args),
    close: () => live().close(),
  };
}

export interface TestClient {
  readonly label: string;
  /** The real client, handed to the limiters as it is (typed loosely: both clients' types are generic). */
  readonly client: Redis | RedisCommander;
  /** Runs a command directly (for inspecting keys). */
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export async function ioredisClient(server: RedisServer, options: { enableOfflineQueue?: boolean } = {}): Promise<TestClient> {
  const client = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: options.enableOfflineQueue ?? true, retryStrategy: () => 20 });
  client.on('error', () => {}); // reconnection errors while a test has stopped the server
  await client.connect();
  return {
    label: 'ioredis',
    client,
    command: (...args) => client.call(args[0]!, ...args.slice(1)),
    close: async () => {
      client.disconnect();
    },
  };
}

export async function nodeRedisClient(server: RedisServer): Promise<TestClient> {
  const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 20 } });
  client.on('error', () => {});
  await client.connect();
  return {
    label: 'node-redis',
    client,
    command: (...args) => client.sendCommand(args),
    close: async () => {
      client.destroy();
    },
  };
}

export const CLIENTS = [
  ['ioredis', ioredisClient],
  ['node-redis', nodeRedisClient],
] as const;

/** An admission as the GCRA script reported it: server time (µs since the script epoch) and tokens taken. */
export interface Admission {
  readonly atUs: number;
  readonly taken: number;
}

/**
 * A commander over `inner` that records every admission of the GCRA script on the server's clock: it asks the script
 * for the server's time (its optional fifth argument), reads it off the reply `{value, extra, now}` to
 * `EVALSHA sha 1 key T capacity cost [batch]` (value > 0: admitted; tokens taken = cost + extra), and hands the
 * limiter the reply it would have had without the flag.
 */
export function recording(inner: RedisCommander, log: Admission[]): RedisCommander {
  return {
    async sendCommand(args) {
      const gcra = (args[0] === 'EVALSHA' || args[0] === 'EVAL') && args[2] === '1' && args.length >= 7 && args.length <= 8;
      if (!gcra) return inner.sendCommand(args);
      const batching = args.length === 8;
      const reply = await inner.sendCommand([...args.slice(0, 7), args[7] ?? '0', '1']);
      if (!Array.isArray(reply)) return reply;
      const [value, extra, now] = reply.map(Number) as [number, number, number];
      if (value > 0) log.push({ atUs: now, taken: Number(args[6]) + extra });
      return batching ? [value, extra] : value;
    },
  };
}

/**
 * The largest excess over `capacity + rate · window` of the tokens admitted in any window of server time (windows
 * that start and end at admissions are the worst ones). ≤ 0 when the bound holds everywhere.
 */
export function worstWindowExcess(log: readonly Admission[], capacity: number, refillPerSecond: number): number {
  const a = [...log].sort((x, y) => x.atUs - y.atUs);
  let worst = -Infinity;
  for (let i = 0; i < a.length; i++) {
    let sum = 0;
    for (let j = i; j < a.length; j++) {
      sum += a[j]!.taken;
      const excess = sum - (capacity + (refillPerSecond * (a[j]!.atUs - a[i]!.atUs)) / 1e6);
      if (excess > worst) worst = excess;
    }
  }
  return worst;
}
