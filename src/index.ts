/**
 * sluice: backpressure for Node.js services without a network hop.
 * @packageDocumentation
 */
export * from './core/index.js';
export * from './metrics/index.js';
export * from './rate/index.js';
export * from './concurrency/index.js';
export * from './breaker/index.js';
export * from './retry/index.js';
export * from './timeout/index.js';
export * from './fallback/index.js';
export * from './keyed/index.js';
