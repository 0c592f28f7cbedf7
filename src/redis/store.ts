/**
 * The guarded round trip every Redis limiter makes: a timeout on each call (one timer for all of them), a circuit
 * breaker that stops paying that timeout while Redis is down, and the counts and latency of every call.
 */
import { plainCall, type Call } from '../core/call.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { isRejectedError } from '../core/errors.js';
import { SLOW, fastStageOf, type FastStage } from '../core/stage.js';
import type { Histogram } from '../metrics/metrics.js';
import type { CircuitBreaker } from '../breaker/circuit-breaker.js';
import { isNoScript, type RedisCommander, type Script } from './client.js';

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

/** No breaker generation: the call is not the breaker's (unguarded), or the breaker runs it itself. */
const NO_GENERATION: unique symbol = Symbol('none');

// Captures a promise's resolving functions without an executor closure per call (as core/call.ts does).
let capturedResolve: (value: unknown) => void = () => {};
let capturedReject: (reason: unknown) => void = () => {};
function capture(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A call in flight: in the guard's list until it settles or times out. */
class Pending {
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  settled = false;
  /** Sent again with `EVAL` after a `NOSCRIPT`. */
  resent = false;
  readonly promise: Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  constructor(
    readonly guard: StoreGuard,
    readonly start: number,
    readonly deadline: number,
    /** What the breaker's `enter` returned for this call, to hand back to its `exit`. */
    readonly generation: unknown,
    readonly script: Script,
    readonly cmd: string[],
  ) {
    this.promise = new Promise(capture);
    this.resolve = capturedResolve;
    this.reject = capturedReject;
  }
  readonly answered = (reply: unknown): void => this.guard.answered(this, reply);
  readonly failed = (e: unknown): void => this.guard.failed(this, e);
}

export class StoreGuard {
  readonly counts: StoreCallCounts = { ok: 0, error: 0, timeout: 0, circuit_open: 0 };
  /**
   * Calls in flight, oldest first, in a doubly linked list: a call leaves it the moment it settles, so the list holds
   * only what is in flight. Every call has the same timeout, so deadlines are in list order too: one timer, armed for
   * the oldest, serves them all.
   */
  private head: Pending | undefined = undefined;
  private tail: Pending | undefined = undefined;
  private timer: TimerHandle | undefined;
  /** The timer fired with the oldest call overdue, and was re-armed once before declaring it timed out. */
  private grace = false;
  private closed = false;
  /**
   * The breaker's fused-path hooks: a call it admits synchronously (closed, nobody listening to its outcomes) costs
   * no promise of its own, and its outcome is handed back synchronously when the call settles. `breakerCall` is the
   * record those hooks read (the caller's signal: none); the breaker's general path (`execute`) takes every other case.
   */
  private readonly stage: FastStage | undefined;
  private readonly breakerCall: Call = plainCall();
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
  ) {
    this.stage = breaker === undefined ? undefined : fastStageOf(breaker);
  }

  /**
   * Runs `script`, through the breaker unless `guarded` is false (releases and renewals: they must be tried whatever
   * the breaker says, and their failures are not the breaker's business). Rejects with a {@link StoreCallError}.
   */
  run(script: Script, keys: readonly string[], args: readonly string[], guarded = true): Promise<unknown> {
    return this.send(script, script.command(keys, args), guarded);
  }

  /**
   * As {@link run}, with the command already built (`script.command(keys, args)`); it is not modified, so a caller may
   * send the same array again.
   */
  send(script: Script, cmd: string[], guarded = true): Promise<unknown> {
    if (this.closed && guarded) return Promise.reject(new StoreCallError('error', 0));
    if (!guarded || this.breaker === undefined) return this.call(script, cmd, NO_GENERATION);
    const generation = this.stage === undefined ? SLOW : this.stage.enter(this.breakerCall);
    if (generation !== SLOW) return this.call(script, cmd, generation);
    return this.breaker.execute(() => this.call(script, cmd, NO_GENERATION)).catch(this.onBreakerError);
  }

  private readonly onBreakerError = (e: unknown): never => {
    if (e instanceof StoreCallError) throw e;
    if (isRejectedError(e)) {
      this.counts.circuit_open++;
      throw new StoreCallError('circuit_open', e.retryAfterMs, { cause: e });
    }
    throw new StoreCallError('error', 0, { cause: e });
  };

  private call(script: Script, cmd: string[], generation: unknown): Promise<unknown> {
    const start = this.clock.now();
    const p = new Pending(this, start, start + this.timeoutMs, generation, script, cmd);
    this.push(p);
    this.transmit(cmd).then(p.answered, p.failed);
    return p.promise;
  }

  /** @internal the reply of `p`'s command. */
  answered(p: Pending, reply: unknown): void {
    if (p.settled) return;
    this.unlink(p);
    this.counts.ok++;
    this.latency?.record(this.clock.now() - p.start);
    if (p.generation !== NO_GENERATION) this.stage!.exit(this.breakerCall, p.generation, reply, false, unused);
    p.resolve(reply);
  }

  /** @internal `p`'s command failed: sent again whole on `NOSCRIPT`, else the call fails. */
  failed(p: Pending, e: unknown): void {
    if (p.settled) return;
    if (!p.resent && isNoScript(e)) {
      // A server without the script: send it whole, under the same timeout.
      p.resent = true;
      this.transmit(p.script.evalCommand(p.cmd)).then(p.answered, p.failed);
      return;
    }
    this.unlink(p);
    this.counts.error++;
    this.fail(p, new StoreCallError('error', 0, { cause: e }));
  }

  /** Rejects `p` (already unlinked) with `error`, telling the breaker when the call was its own. */
  private fail(p: Pending, error: StoreCallError): void {
    if (p.generation !== NO_GENERATION) this.stage!.exit(this.breakerCall, p.generation, error, true, unused);
    p.reject(error);
  }

  /** Hands a command to the client; a client that throws instead of rejecting gives a rejected promise. */
  private transmit(cmd: string[]): Promise<unknown> {
    try {
      return this.redis.sendCommand(cmd);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private push(p: Pending): void {
    if (this.tail === undefined) this.head = p;
    else {
      this.tail.next = p;
      p.prev = this.tail;
    }
    this.tail = p;
    if (this.timer === undefined) this.arm(p.deadline);
  }

  /** Marks `p` settled and takes it out of the list (the timer stays armed; it finds the next oldest when it fires). */
  private unlink(p: Pending): void {
    p.settled = true;
    if (p.prev === undefined) this.head = p.next;
    else p.prev.next = p.next;
    if (p.next === undefined) this.tail = p.prev;
    else p.next.prev = p.prev;
    p.prev = p.next = undefined;
  }

  private arm(at: number): void {
    this.timer = this.clock.setTimeout(this.onTimer, at - this.clock.now());
  }

  /**
   * Times out the calls whose deadline has passed and re-arms for the next one (or not at all). An overdue call gets
   * one more turn of the event loop first: when the process itself was busy past the deadline (a long task, a GC
   * pause), a reply that arrived meanwhile is read in that turn's I/O phase, after the timers, and counts as an
   * answer rather than as a timeout that Redis never caused.
   */
  private expire(now: number): void {
    const head = this.head;
    if (head === undefined) {
      this.grace = false;
      return;
    }
    if (head.deadline > now) {
      this.grace = false;
      this.arm(head.deadline);
      return;
    }
    if (!this.grace) {
      this.grace = true;
      this.timer = this.clock.setTimeout(this.onTimer, 0);
      return;
    }
    this.grace = false;
    for (let p = this.head; p !== undefined && p.deadline <= now; p = this.head) {
      this.unlink(p);
      this.counts.timeout++;
      this.fail(p, new StoreCallError('timeout', 0));
    }
    if (this.head !== undefined) this.arm(this.head.deadline);
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
    this.grace = false;
    for (let p = this.head; p !== undefined; p = this.head) {
      this.unlink(p);
      this.counts.error++;
      this.fail(p, new StoreCallError('error', 0));
    }
  }
}

/** The breaker's `exit` never runs the layers inside it again here: nothing is inside. */
function unused(): never {
  throw new Error('unreachable');
}
