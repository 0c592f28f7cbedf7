/**
 * The one thing sluice needs of a Redis client: send a command, get its reply. ioredis, node-redis and Valkey's
 * clients all fit through {@link redisCommander}; so does a test double.
 */
import { createHash } from 'node:crypto';
import * as v from '../core/validate.js';

/**
 * The smallest Redis client interface: one method that sends a command (its name and arguments as strings) and
 * resolves with the reply (integers as numbers, bulk strings as strings, arrays as arrays) or rejects with the error
 * reply. node-redis clients (`createClient()`, v4 and later) have it as they are.
 * @example
 * ```ts
 * const commander: RedisCommander = { sendCommand: (args) => valkey.customCommand(args) };
 * ```
 */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis (or iovalkey) client or cluster: its generic `call(command, args)`. */
export interface IoredisLike {
  call(command: string, args: string[]): Promise<unknown>;
}

/** What the Redis limiters accept as `redis`: an ioredis client, a node-redis client, or a {@link RedisCommander}. */
export type RedisClient = IoredisLike | RedisCommander;

/**
 * The {@link RedisCommander} of a client: ioredis and iovalkey through their `call()` (which routes by key on a
 * cluster), anything else with `sendCommand(args)` (node-redis, a test double) as it is. A node-redis *cluster*'s
 * `sendCommand` takes the routing key first; wrap it: `{ sendCommand: (a) => cluster.sendCommand(a[3], false, a) }`
 * (sluice's scripts put their first key at index 3).
 * @throws {TypeError} naming `option` when `client` has neither `call` nor `sendCommand`.
 * @example
 * ```ts
 * const commander = redisCommander(new Redis(6379)); // ioredis
 * ```
 */
export function redisCommander(client: RedisClient, owner = 'redisCommander', option = 'redis'): RedisCommander {
  const c = client as Partial<IoredisLike & RedisCommander> | null | undefined;
  if (typeof c !== 'object' || c === null) throw new TypeError(`${owner}: option "${option}" must be an ioredis or node-redis client (or { sendCommand(args) }), got ${v.describeValue(client)}`);
  // ioredis also has a `sendCommand`, taking a Command object: `call` is the one that takes plain arguments.
  if (typeof c.call === 'function' && !('isOpen' in c)) {
    const io = c as IoredisLike;
    return { sendCommand: (args) => io.call(args[0]!, args.slice(1)) };
  }
  if (typeof c.sendCommand === 'function') {
    const nr = c as RedisCommander;
    return { sendCommand: (args) => nr.sendCommand(args) };
  }
  throw new TypeError(`${owner}: option "${option}" must be an ioredis or node-redis client (or { sendCommand(args) }), got an object with neither call() nor sendCommand()`);
}

/** A Lua script, called by its SHA1 and sent whole only when the server does not have it yet. */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** The `EVALSHA` command for `keys` and `args`, as one array (built once per call, no spreading). */
  command(keys: readonly string[], args: readonly string[]): string[] {
    const cmd = new Array<string>(3 + keys.length + args.length);
    cmd[0] = 'EVALSHA';
    cmd[1] = this.sha;
    cmd[2] = String(keys.length);
    let i = 3;
    for (const k of keys) cmd[i++] = k;
    for (const a of args) cmd[i++] = a;
    return cmd;
  }

  /**
   * The same call as `EVAL` with the whole script, for a server that answered `NOSCRIPT` (a fresh server, a
   * `SCRIPT FLUSH`, a failover to a replica that never saw it); running it also caches the script there.
   */
  evalCommand(cmd: readonly string[]): string[] {
    const e = cmd.slice();
    e[0] = 'EVAL';
    e[1] = this.source;
    return e;
  }
}

/** Whether `e` is the server's `NOSCRIPT` error reply. Never throws. */
export function isNoScript(e: unknown): boolean {
  try {
    return e instanceof Error && /NOSCRIPT/i.test(e.message);
  } catch {
    return false;
  }
}
