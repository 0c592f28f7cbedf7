/**
 * The deadline queue behind `timeout()`. It now lives in core (bulkhead shares it); re-exported here so that
 * existing imports keep working.
 */
export { DeadlineHeap, type DeadlineEntry } from '../core/deadline-heap.js';
