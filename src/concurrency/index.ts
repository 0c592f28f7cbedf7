/**
 * Concurrency family: limit how *many* calls to a dependency run at once. Rate limits cap arrivals, but when a
 * dependency slows down, the calls already admitted pile up (Little's law: in-flight = rate × latency) until every
 * socket, connection or worker is stuck behind it. A concurrency limit bounds that pile: beyond it callers wait in a
 * short bounded queue or are refused at once, so the service keeps serving everything else. The queue's discipline
 * decides who waits and who is shed when the dependency cannot keep up: arrival order, newest first, priority
 * classes, CoDel's controlled delay, or per-tenant fair shares.
 * @module
 */
export { bulkhead, type Bulkhead, type BulkheadOptions, type BulkheadConfig, type BulkheadStats } from './bulkhead.js';
export {
  lifoQueue,
  priorityQueue,
  codelQueue,
  fairQueue,
  type QueueName,
  type PriorityQueueOptions,
  type CodelQueueOptions,
  type FairQueueOptions,
} from './queues/index.js';
export { adaptiveLimiter, type AdaptiveLimiter, type AdaptiveLimiterOptions, type AdaptiveLimiterStats } from './adaptive-limiter.js';
export {
  fixedLimit,
  aimdLimit,
  vegasLimit,
  gradient2Limit,
  envoyGradientLimit,
  windowedLimit,
  sluiceLimit,
  type LimitAlgorithm,
  type LimitSample,
  type LimitBounds,
  type FixedLimitOptions,
  type AimdLimitOptions,
  type VegasLimitOptions,
  type Gradient2LimitOptions,
  type EnvoyGradientLimitOptions,
  type WindowedLimitOptions,
  type SluiceLimitOptions,
} from './limits/index.js';
