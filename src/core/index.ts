/**
 * Core contract: what every sluice primitive is made of. A Policy wraps a function; a Limiter also hands out
 * permits; backpressure is a value (`tryAcquire`) at the bottom and a typed error (`RejectedError`) at the top.
 * Time and randomness are injected so that tests and the simulator run in virtual time.
 * @module
 */
export { systemClock, coarseClock, type Clock, type TimerHandle, type CoarseClockHost } from './clock.js';
export { systemRandom, seededRandom, type RandomSource } from './random.js';
export { NEVER_ABORTED, type ExecuteOptions, type ExecutionContext, type Task } from './context.js';
export {
  SluiceError,
  RejectedError,
  RateLimitedError,
  QueueFullError,
  MaxWaitExceededError,
  DeadlineExceededError,
  ConcurrencyLimitedError,
  DisposedError,
  ShedError,
  TimeoutError,
  REJECTION_CODES,
  isRejectedError,
  isTimeoutError,
  isSluiceError,
  type RejectionCode,
  type FailureCode,
  type ShedTrigger,
} from './errors.js';
export { fifoQueue, PRIORITY, priorityClassOf, type PriorityClass, type QueueDiscipline, type QueuedCall } from './queue.js';
export { NOOP_PERMIT, type Permit, type PermitOutcome } from './permit.js';
export type { Policy, Limiter, AcquireOptions, AcquireResult, Refusal } from './policy.js';
export { pipeline } from './pipeline.js';
export type { CommonOptions, QueueOptions, QueueingStats } from './limiter-base.js';
export type { LimiterEvents, LimiterCounts, RejectEvent, DisposeEvent } from './telemetry.js';
