/**
 * Keyed family: one policy per key (origin, customer, tenant, partition), made on first use and kept in a bounded,
 * least-recently-used map, so per-key limits cost memory in proportion to the keys in use, never to the keys seen.
 * @module
 */
export { keyed, type Keyed, type KeyedOptions, type KeyedStats, type KeyedEvents, type KeyInfo, type EvictEvent, type EvictionReason } from './keyed.js';
