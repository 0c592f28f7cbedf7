/**
 * The optimistic-concurrency contention model of the AWS "Exponential Backoff and Jitter" post (scenario S6): N
 * clients start together, each reads one row's version and writes it back conditionally; a conflicting write fails
 * and the client backs off before reading again. Used to judge backoff functions and to validate the simulator.
 */
import { seededRandom, type RandomSource } from '../core/random.js';
import * as v from '../core/validate.js';
import { SimClock } from './scheduler.js';

/**
 * A backoff as sluice's retry family defines it (`fullJitter()`, `decorrelatedJitter()`, ... fit as they are):
 * the delay in ms before the retry that follows failed attempt `attempt`.
 */
export type ContentionBackoff = (input: {
  readonly attempt: number;
  readonly previousDelayMs: number;
  readonly outcome: { readonly kind: 'error'; readonly error: unknown };
  readonly random: RandomSource;
}) => number;

/** Options of {@link occContention}. */
export interface ContentionOptions {
  /** Contending clients N. Integer ≥ 1. Required. */
  clients: number;
  /** Backoff before each re-read after a conflict. Required (use `() => 0` for none). */
  backoff: ContentionBackoff;
  /** Independent runs averaged. Integer ≥ 1. Default 100. */
  runs?: number;
  /** Seed. Default 1. */
  seed?: number;
  /** Mean one-way network delay, ms; delays are |N(mean, sd)|. Default 10. */
  networkMeanMs?: number;
  /** Standard deviation of the network delay, ms. Default 2. */
  networkSdMs?: number;
}

/** Result of {@link occContention}, averaged over runs. */
export interface ContentionResult {
  /** Write calls per run (the post's "calls"), mean. */
  calls: number;
  /** Time until the last client finished, ms, mean. */
  completionMs: number;
  /** 99th percentile of per-client completion times over all runs, ms. */
  p99ClientCompletionMs: number;
  runs: number;
}

const CONFLICT = { kind: 'error' as const, error: 'conflict' };

/**
 * Runs the OCC contention model on the simulator's scheduler. The ideal is N calls in about N × 20 ms.
 *
 * @throws {TypeError | RangeError} on bad options.
 * @example
 * ```ts
 * const r = await occContention({ clients: 100, backoff: fullJitter({ baseMs: 10, capMs: 2000 }) });
 * // ≈ 800 calls, ≈ 4.9 s
 * ```
 */
export async function occContention(options: ContentionOptions): Promise<ContentionResult> {
  const o = v.optionsObject<ContentionOptions>('occContention', options, v.keys('clients', 'backoff', 'runs', 'seed', 'networkMeanMs', 'networkSdMs'));
  if (o.clients === undefined) throw new TypeError('occContention: option "clients" is required');
  const clients = v.integer('occContention', 'clients', o.clients, 1);
  const backoff = v.func<ContentionBackoff>('occContention', 'backoff', o.backoff);
  const runs = v.opt(o.runs, 100, (x) => v.integer('occContention', 'runs', x, 1));
  const seed = v.opt(o.seed, 1, (x) => v.between('occContention', 'seed', x, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  const mean = v.opt(o.networkMeanMs, 10, (x) => v.nonNegative('occContention', 'networkMeanMs', x));
  const sd = v.opt(o.networkSdMs, 2, (x) => v.nonNegative('occContention', 'networkSdMs', x));
  const random = seededRandom(seed);
  const delay = (): number => {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.abs(mean + sd * z);
  };
  let calls = 0;
  let completion = 0;
  const perClient: number[] = [];
  for (let run = 0; run < runs; run++) {
    const clock = new SimClock();
    let version = 0;
    let last = 0;
    for (let c = 0; c < clients; c++) {
      let attempt = 0;
      let previousDelayMs = 0;
      // Every event is `sync` (no promise work), so a run fires without yielding to the event loop.
      const read = (): void => {
        // The version is read at the server; the reply travels back and the write travels out: two delays.
        const seen = version;
        clock.schedule(clock.now() + delay() + delay(), () => write(seen), 'write', true);
      };
      const write = (seen: number): void => {
        calls++;
        const ok = seen === version;
        if (ok) version++;
        clock.schedule(clock.now() + delay(), () => reply(ok), 'reply', true);
      };
      const reply = (ok: boolean): void => {
        const now = clock.now();
        last = now;
        if (ok) {
          perClient.push(now);
          return;
        }
        attempt++;
        const wait = backoff({ attempt, previousDelayMs, outcome: CONFLICT, random });
        previousDelayMs = wait;
        clock.schedule(now + delay() + wait, read, 'read', true);
      };
      clock.schedule(delay(), read, 'read', true);
    }
    await clock.run(Infinity);
    completion += last;
  }
  perClient.sort((a, b) => a - b);
  return {
    calls: calls / runs,
    completionMs: completion / runs,
    p99ClientCompletionMs: perClient[Math.min(perClient.length - 1, Math.ceil(0.99 * perClient.length) - 1)]!,
    runs,
  };
}
