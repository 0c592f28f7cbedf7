/**
 * `sluice/redis`: limits shared by many processes through Redis or Valkey. Quotas (a third-party API's "100 requests
 * per minute per key", "at most 10 concurrent exports") are shared; overload control (adaptive limiter, bulkhead,
 * breaker) stays in each process, because a network hop per request is a new failure point. Each decision is one
 * atomic Lua script on the server's clock (Redis 5.0 or later, or Valkey); every Redis call has a timeout, a breaker
 * and a failure mode.
 *
 * ioredis and node-redis are optional peers, passed in: this entry point imports neither.
 * @module
 */
export { redisTokenBucket, type RedisTokenBucket, type RedisTokenBucketOptions, type RedisTokenBucketStats } from './redis-token-bucket.js';
export { redisConcurrencyLimit, type RedisConcurrencyLimit, type RedisConcurrencyLimitOptions, type RedisConcurrencyLimitStats } from './redis-concurrency-limit.js';
export {
  StoreUnavailableError,
  type FailureMode,
  type SharedLimiter,
  type SharedAcquireResult,
  type StoreLimiterOptions,
  type StoreLimiterStats,
  type StoreLimiterEvents,
  type StoreFailureEvent,
} from './store-limiter.js';
export type { StoreCallCounts, StoreFailureKind } from './store.js';
export { redisCommander, type RedisCommander, type RedisClient, type IoredisLike } from './client.js';
