/**
 * fallback(), success path: what a fallback costs when nothing fails. Side by side with the bare call, the least any
 * fallback can cost (subscribing to the rejection), and cockatiel's fallback.
 */
import { fallback as cockatielFallback, handleAll } from 'cockatiel';
import { fallback } from '../../src/index.js';
import { asyncTask, type Suite } from '../harness.js';

/** The protected function: the cheapest async function there is. */
const fn = async (): Promise<number> => 1;
const onError = (): number => 0;

const fb = fallback({ value: 0, name: 'bench-fallback' });
const cfb = cockatielFallback(handleAll, 0);

const suite: Suite = {
  name: 'fallback',
  title: 'Fallback, nothing fails',
  floor: 'await fn()',
  tasks: [
    asyncTask('await fn()', () => fn(), { role: 'floor', note: '`fn = async () => 1`, awaited in a sequential loop.' }),
    asyncTask('fn().then(undefined, handler)', () => fn().then(undefined, onError), {
      role: 'reference',
      note: 'the least any fallback can do (subscribe to the rejection): a lower bound.',
    }),
    asyncTask('fallback.execute(fn)', () => fb.execute(fn)),
    asyncTask('cockatiel fallback(handleAll, 0).execute(fn)', () => cfb.execute(fn), { role: 'peer', note: 'cockatiel 3.2.1.' }),
  ],
  targets: [{ task: 'fallback.execute(fn)', maxRatioToFloor: 2 }],
  notes: ['Async rows await 1000 calls in sequence per tinybench iteration and report the mean per call.'],
  dispose() {
    const s = fb.stats();
    if (s.fallbacks !== 0) throw new Error(`bench: the fallback was used ${s.fallbacks} times; the success path was not measured`);
  },
};

export default suite;
