/**
 * Queue disciplines: who waits, who goes next and who is shed when a limiter's callers queue. Each is a pure data
 * structure (no timers, no clock of its own), so one set serves the bulkhead and the adaptive limiter alike, and
 * each is tested by feeding it waiters. Pick one by name (`bulkhead({ queue: 'priority' })`), build one with
 * options (`bulkhead({ queue: fairQueue({ weights: { gold: 3 } }) })`), or plug in your own
 * {@link QueueDiscipline}.
 */
import { fifoQueue, type QueueDiscipline } from '../../core/queue.js';
import { describeValue } from '../../core/validate.js';
import { codelQueue } from './codel.js';
import { fairQueue } from './fair.js';
import { lifoQueue } from './lifo.js';
import { priorityQueue } from './priority.js';

export { fifoQueue, PRIORITY, priorityClassOf, type PriorityClass, type QueueDiscipline, type QueuedCall } from '../../core/queue.js';
export { lifoQueue } from './lifo.js';
export { priorityQueue, type PriorityQueueOptions } from './priority.js';
export { codelQueue, type CodelQueueOptions } from './codel.js';
export { fairQueue, type FairQueueOptions } from './fair.js';

/** The built-in disciplines by name, each with its defaults. */
export type QueueName = 'fifo' | 'lifo' | 'priority' | 'codel' | 'fair';

const BY_NAME: Readonly<Record<QueueName, () => QueueDiscipline>> = Object.freeze({
  fifo: fifoQueue,
  lifo: lifoQueue,
  priority: priorityQueue,
  codel: codelQueue,
  fair: fairQueue,
});

/** Methods every discipline must have (the optional ones are checked where used). */
const REQUIRED = ['enqueue', 'peek', 'dequeue', 'remove', 'victim', 'drain'] as const;

/** Disciplines already serving a limiter: one instance holds one limiter's waiters. */
const inUse = new WeakSet<object>();

/**
 * The discipline for a limiter's `queue` option: a name, or a discipline object (checked for its methods, empty, and
 * not already serving another limiter).
 * @throws {TypeError} on an unknown name, an object without the methods, or a discipline already in use.
 * @internal
 */
export function resolveQueue(owner: string, spec: unknown): QueueDiscipline {
  if (spec === undefined) return fifoQueue();
  if (typeof spec === 'string') {
    if (Object.prototype.hasOwnProperty.call(BY_NAME, spec)) return BY_NAME[spec as QueueName]();
    throw new TypeError(`${owner}: option "queue" must be one of ${Object.keys(BY_NAME).map((k) => `"${k}"`).join(', ')} or a queue discipline, got "${spec}"`);
  }
  if (typeof spec !== 'object' || spec === null) {
    throw new TypeError(`${owner}: option "queue" must be a queue name or a queue discipline object, got ${describeValue(spec)}`);
  }
  const d = spec as Record<string, unknown>;
  for (const m of REQUIRED) {
    if (typeof d[m] !== 'function') throw new TypeError(`${owner}: option "queue" is missing method ${m}() of a queue discipline`);
  }
  if ((d.shed === undefined) !== (d.nextShedAt === undefined)) {
    throw new TypeError(`${owner}: option "queue" must implement shed() and nextShedAt() together, or neither`);
  }
  if (d.size !== 0) throw new TypeError(`${owner}: option "queue" must be an empty discipline (size 0), got size ${describeValue(d.size)}`);
  if (inUse.has(spec)) throw new TypeError(`${owner}: option "queue": this discipline already serves another limiter; build one per limiter`);
  inUse.add(spec);
  return spec as QueueDiscipline;
}
