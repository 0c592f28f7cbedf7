/**
 * The guarded round trip every Redis limiter makes: a timeout on each call (one timer for all of them), a circuit
 * breaker that stops paying that timeout while Redis is down, and the counts and latency of every call.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { isRejectedError } from '../core/errors.js';
import type { Histogram } from '../metrics/metrics.js';
import type { CircuitBreaker } from '../breaker/circuit-breaker.js';
import type { RedisCommander, Script } from './client.js';

/** Why a store call gave no answer: it timed out, failed (connection or error reply), or the breaker refused it. */
export type StoreFailureKind = 'timeout' | 'error' | 'circuit_open';

/** Counts of store calls by outcome (the `outcome` label of `sluice_store_calls_total`). */
export interface StoreCallCounts {
  ok: number;
  error: number;
  timeout: number;
  circuit_open: number;
}

/** A store call that gave no answer; `cause` is the client's error (for `error`) or the breaker's refusal. */
export class StoreCallError extends Error {
  constructor(
    readonly kind: StoreFailureKind,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(kind === 'timeout' ? 'store call timed out' : kind === 'circuit_open' ? 'store circuit open' : 'store call failed', options);
    this.name = 'StoreCallError';
  }
}

class Pending {
  settled = false;
  constructor(
    readonly deadline: number,
    readonly reject: (e: StoreCallError) => void,
  ) {}
}

export class StoreGuard {
  readonly counts: StoreCallCounts = { ok: 0, error: 0, timeout: 0, circuit_open: 0 };
  /**
   * Calls in flight, oldest first. Every call has the same timeout, so deadlines are in order too: one timer, armed
   * for the oldest, serves them all. Settled calls are dropped when they reach the head.
   */
  private readonly pending: Pending[] = [];
  private head = 0;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.expire(this.clock.now());
  };

  constructor(
    private readonly redis: RedisCommander,
    private readonly clock: Clock,
    readonly timeoutMs: number,
    readonly breaker: CircuitBreaker | undefined,
    private readonly latency: Histogram | undefined,
  ) {}

  /**
   * Runs `script`, through the breaker unless `guarded` is false (releases and renewals: they must be tried whatever
   * the breaker says, and their failures are not the breaker's business). Rejects with a {@link StoreCallError}.
   */
  run(script: Script, keys: readonly string[], args: readonly string[], guarded = true): Promise<unknown> {
    if (this.closed && guarded) return Promise.reject(new StoreCallError('error', 0));
    if (!guarded || this.breaker === undefined) return this.call(script, keys, args);
    return this.breaker.execute(() => this.call(script, keys, args)).catch((e: unknown) => {
      if (e instanceof StoreCallError) throw e;
      if (isRejectedError(e)) {
        this.counts.circuit_open++;
        throw new StoreCallError('circuit_open', e.retryAfterMs, { cause: e });
      }
      throw new StoreCallError('error', 0, { cause: e });
    });
  }

  private call(script: Script, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const start = this.clock.now();
    return new Promise<unknown>((resolve, reject) => {
      const p = new Pending(start + this.timeoutMs, reject);
      this.pending.push(p);
      if (this.timer === undefined) this.arm(p.deadline);
      let sent: Promise<unknown>;
      try {
        sent = script.run(this.redis, keys, args);
      } catch (e) {
        sent = Promise.reject(e);
      }
      sent.then(
        (reply) => {
          if (p.settled) return;
          p.settled = true;
          this.counts.ok++;
          this.latency?.record(this.clock.now() - start);
          resolve(reply);
        },
        (e: unknown) => {
          if (p.settled) return;
          p.settled = true;
          this.counts.error++;
          reject(new StoreCallError('error', 0, { cause: e }));
        },
      );
    });
  }

  private arm(at: number): void {
    this.timer = this.clock.setTimeout(this.onTimer, at - this.clock.now());
  }

  /** Times out every call whose deadline has passed, and re-arms for the next one (or not at all). */
  private expire(now: number): void {
    const q = this.pending;
    while (this.head < q.length) {
      const p = q[this.head]!;
      if (!p.settled) {
        if (p.deadline > now) break;
        p.settled = true;
        this.counts.timeout++;
        p.reject(new StoreCallError('timeout', 0));
      }
      this.head++;
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else {
      if (this.head > 1024 && this.head * 2 > q.length) {
        q.splice(0, this.head);
        this.head = 0;
      }
      this.arm(q[this.head]!.deadline);
    }
  }

  /** Calls in flight that have not settled. */
  get inflight(): number {
    let n = 0;
    for (let i = this.head; i < this.pending.length; i++) if (!this.pending[i]!.settled) n++;
    return n;
  }

  /**
   * Disposal: fails every call in flight at once, clears the timer, and refuses later guarded calls. Unguarded ones
   * (the releases of permits still held) are still sent, each under its timeout.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const q = this.pending.splice(0);
    this.head = 0;
    for (const p of q) {
      if (p.settled) continue;
      p.settled = true;
      this.counts.error++;
      p.reject(new StoreCallError('error', 0));
    }
  }
}
