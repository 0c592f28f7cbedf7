/**
 * `sluice/testing`: deterministic time and randomness for tests of code that uses sluice. A manual clock replaces
 * global fake timers (which fight `queueMicrotask`), a seeded random source makes jitter reproducible, and an event
 * collector records what a primitive emitted.
 * @module
 */
export { ManualClock, flushMicrotasks } from './manual-clock.js';
export { collectEvents, type CollectedEvent } from './event-collector.js';
export { seededRandom } from '../core/random.js';
