/**
 * Fallback family: degrade instead of failing. When a dependency is down, slow or refused locally by a limiter or
 * breaker, the caller often has something better than an error to return: a cached response, a default, a reduced
 * answer. `fallback()` turns selected failures (including sluice's own rejections, which is how backpressure becomes
 * a degraded response rather than an outage) into that value, and never hides the caller's own abort.
 * @module
 */
export {
  fallback,
  type Fallback,
  type FallbackOptions,
  type FallbackHandler,
  type FallbackKind,
  type FallbackStats,
  type FallbackEvent,
  type FallbackEvents,
} from './fallback.js';
