/**
 * Timeout family: bound how long anything may take. A slow dependency holds the caller, its permits and its memory
 * for as long as it likes unless something gives up on it; a deadline set once at the top (`ExecuteOptions.deadline`
 * or `timeoutMs`) has to bound queue waits, attempts and backoff together. `timeout()` enforces a per-attempt limit
 * and that deadline, hands `fn` a signal that aborts when either passes, and rejects the caller on time even when
 * `fn` ignores the signal, without a timer or an AbortController per call.
 * @module
 */
export { timeout, type Timeout, type TimeoutOptions, type TimeoutStats, type TimeoutEvent, type TimeoutEvents } from './timeout.js';
