/**
 * The README's "Testing your code" snippet, runnable: a token bucket on a ManualClock, so a test waits for a refill
 * without real time passing (and without global fake timers).
 *
 *   npx tsx examples/virtual-time.ts
 *
 * In your project, import from 'sluice' and 'sluice/testing' instead of the relative paths.
 */
import { tokenBucket } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';

const clock = new ManualClock();
const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 10, clock });
const work = async (): Promise<string> => 'done';

const started = performance.now();
console.log('first call:', await bucket.execute(work)); // takes the only token
const second = bucket.execute(work); // no token left: waits in the queue for the refill
console.log('queued:', bucket.stats().queued);
await clock.advance(1000); // fires the refill timer; no real time passes
console.log('second call after advance(1000):', await second);
console.log(`virtual time ${clock.now()} ms, real time under ${Math.ceil(performance.now() - started)} ms`);
