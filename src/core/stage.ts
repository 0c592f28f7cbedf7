/**
 * The fused path of `pipeline()`: a policy that implements {@link FastStage} lets a pipeline admit a call through it
 * synchronously and hear the outcome synchronously, so a pipeline of such policies costs one promise reaction per
 * call instead of one (or two) per layer. A policy declines ({@link SLOW}) whenever its answer is not a plain
 * "admitted now": the pipeline then runs that layer and every layer inside it through the general `[RUN]` path,
 * which is the reference behaviour. See docs/architecture.md ("The fused path").
 */
import type { Call } from './call.js';
import type { Task } from './context.js';

/**
 * Key of a policy's fast stage. Not registered (unlike `RUN`): two copies of sluice in one process compose through
 * `[RUN]`, and each copy fuses only its own policies.
 */
export const STAGE: unique symbol = Symbol('sluice.stage') as never;

/** {@link FastStage.enter}'s answer for "not now": nothing was changed, take the general path. */
export const SLOW: unique symbol = Symbol('sluice.slow') as never;

/** A policy's fused-path hooks. Both run synchronously and must not throw. */
export interface FastStage {
  /**
   * Admits `call` now, counting it, and returns what {@link exit} should get back (`undefined` when nothing); or
   * returns {@link SLOW} having changed nothing (a refusal, a wait, an abort, a half-open breaker, metrics to
   * time...), and the pipeline runs this policy through `[RUN]`. May read the clock through `call.time(clock)` so the
   * layers of one pass share one reading. A racer (a timeout) is always the innermost fused stage: it sets
   * `call.racer` and is then handed the call's promise through {@link track}.
   */
  enter(call: Call): unknown;
  /**
   * The layers inside ended with `value` (`isError`: a rejection). Returns `undefined` to pass the outcome outward
   * unchanged, or a promise whose outcome replaces it (a retry's further attempts, a fallback). `inner` runs the
   * layers inside this one again, through the general path, with a context the stage builds.
   */
  exit(call: Call, state: unknown, value: unknown, isError: boolean, inner: Task<unknown>): PromiseLike<unknown> | undefined;
  /** Racers only: `fn` returned `result` (a thenable) for a call this stage entered; race it against the deadline. */
  track?(call: Call, result: PromiseLike<unknown>): void;
  /**
   * Racers only: `fn` returned or threw synchronously for a call this stage entered. Returns true when the caller's
   * signal aborted meanwhile (counted by the racer): the outcome is then `call.callerSignal.reason`.
   */
  endedAtOnce?(call: Call): boolean;
}

/** Whether `p` has fused-path hooks. */
export function fastStageOf(p: object): FastStage | undefined {
  return (p as { [STAGE]?: FastStage })[STAGE];
}
