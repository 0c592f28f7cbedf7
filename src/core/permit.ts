/**
 * Permits: the proof of admission a limiter hands out. Release is structural: `execute()` releases in `finally`,
 * `using permit = ...` releases on scope exit, and a second release is a no-op.
 */

/**
 * How a permit ends, for limiters that learn from it (Netflix concurrency-limits semantics):
 * - `success`: the call completed; its latency is a valid sample.
 * - `ignore`: release without a sample (e.g. the caller gave up for its own reasons).
 * - `drop`: the call timed out or the dependency signalled overload; adaptive limits back off.
 */
export type PermitOutcome = 'success' | 'ignore' | 'drop';

/**
 * Proof of admission. Holding it may occupy capacity (a concurrency slot); releasing frees it.
 * @example
 * ```ts
 * const permit = await limiter.acquire();
 * try { await work(); } finally { permit.release(); }
 * // or: using permit = await limiter.acquire();
 * ```
 */
export interface Permit extends Disposable {
  /** Frees the capacity this permit holds. Idempotent: calls after the first do nothing. */
  release(outcome?: PermitOutcome): void;
  /** True once released. Always false for {@link NOOP_PERMIT}, which holds nothing to release. */
  readonly released: boolean;
}

/**
 * A permit that holds no capacity (rate limiters consume tokens at admission, nothing to give back).
 * Shared and immutable, so admission allocates nothing.
 */
export const NOOP_PERMIT: Permit = Object.freeze({
  release(): void {},
  released: false,
  [Symbol.dispose](): void {},
});

/**
 * A permit that calls `onRelease` exactly once. Used by limiters that hold capacity while a call runs.
 */
export class OncePermit implements Permit {
  private done = false;
  constructor(private readonly onRelease: (outcome: PermitOutcome) => void) {}
  get released(): boolean {
    return this.done;
  }
  release(outcome: PermitOutcome = 'success'): void {
    if (this.done) return;
    this.done = true;
    this.onRelease(outcome);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}
