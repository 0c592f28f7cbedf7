/**
 * Rate family: limit how *often* a dependency is called. A token bucket lets bursts through up to its capacity and
 * then holds a sustained rate; a leaky bucket smooths calls into an even stream. Both refuse with an exact
 * `retryAfterMs` instead of letting a queue grow without bound.
 * @module
 */
export { tokenBucket, type TokenBucket, type TokenBucketOptions, type TokenBucketConfig, type TokenBucketStats } from './token-bucket.js';
export { leakyBucket, type LeakyBucket, type LeakyBucketOptions, type LeakyBucketConfig, type LeakyBucketStats } from './leaky-bucket.js';
export { cooldown, type Cooldown, type CooldownOptions, type CooldownStats } from './cooldown.js';
