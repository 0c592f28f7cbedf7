/**
 * `sluice/sim`: a deterministic virtual-time simulator for judging backpressure policies before production does.
 *
 * Nobody can tell a good overload policy from a bad one by reading it; it has to be run against an overloaded
 * dependency. `simulate()` drives your real sluice pipeline, unmodified, on a virtual clock: open-loop clients with
 * deadlines (Poisson or bursty, several tenants and priority classes, optional client retries) call a modelled
 * downstream (c workers, a FIFO queue, a service-time distribution, capacity changes, hard-down intervals), and
 * every outcome is measured: goodput, latency percentiles, rejections by reason, wasted work, retry amplification,
 * the limit in force, per-tenant fairness and convergence after an event. The same seed gives the same event log,
 * byte for byte. Node.js only (it yields with `setImmediate` and hashes with `node:crypto`).
 * @module
 */
export { simulate, CLIENT_DEADLINE, type SimulateOptions, type SimResult, type SimEnvironment, type PolicyGauges } from './simulate.js';
export { SimClock } from './scheduler.js';
export { occContention, type ContentionOptions, type ContentionResult, type ContentionBackoff } from './contention.js';
export { exponential, lognormal, bimodal, deterministic, customService, type ServiceTime } from './distributions.js';
export { DownstreamError, type DownstreamOptions, type DownstreamStats, type DownstreamErrorKind, type CapacityChange, type DownInterval } from './downstream.js';
export { ramp, type LoadSource, type RateStep, type BurstOptions, type ClientRetry } from './load.js';
export {
  jainIndex,
  maxMinFair,
  convergenceTimeMs,
  percentile,
  type SimBucket,
  type SimSummary,
  type GroupSummary,
  type LatencySummary,
  type ConvergenceOptions,
} from './measure.js';
