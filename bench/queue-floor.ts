/**
 * The floor under the queue suite's figures: what any waiting call costs on this runtime, whatever the library.
 * - heap held by a pending promise that can be settled from outside (its resolve function kept; and both);
 * - the drain time of 100 000 queued calls through a minimal limiter (an array of resolvers: no deadlines, aborts,
 *   priorities, metrics or hostile-value handling), and the bare burst of 100 000 calls with `Promise.all`.
 *
 *   node --expose-gc --import tsx bench/queue-floor.ts
 */
export {};
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const N = 100_000;

function heldPerItem(make: () => unknown): number {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const keep = new Array<unknown>(N);
  for (let i = 0; i < N; i++) keep[i] = make();
  gc!();
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / N;
  keep.length = 0;
  return bytes;
}

const slot = heldPerItem(() => 1);
const withResolve = heldPerItem(() => {
  let resolve: ((v: unknown) => void) | undefined;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
});
const withBoth = heldPerItem(() => {
  let resolve: ((v: unknown) => void) | undefined;
  let reject: ((e: unknown) => void) | undefined;
  const promise = new Promise((r, j) => ((resolve = r), (reject = j)));
  return { promise, resolve, reject };
});
console.log(`array slot: ${slot.toFixed(0)} B; pending promise + resolve kept: ${withResolve.toFixed(0)} B; + reject too: ${withBoth.toFixed(0)} B (each with its holder object and slot)`);

/** A minimal concurrency limiter: an array queue of resolvers, the next run at each release. */
function minimal(limit: number): (fn: () => Promise<unknown>) => Promise<unknown> {
  let active = 0;
  const queue: { fn: () => Promise<unknown>; resolve: (v: unknown) => void }[] = [];
  let head = 0;
  const release = (): void => {
    active--;
    if (head < queue.length) {
      const next = queue[head]!;
      queue[head++] = undefined as never;
      run(next.fn, next.resolve);
    }
  };
  const run = (fn: () => Promise<unknown>, resolve: (v: unknown) => void): void => {
    active++;
    const p = fn();
    resolve(p);
    p.then(release, release);
  };
  return (fn) => {
    if (active < limit) return new Promise((resolve) => run(fn, resolve));
    return new Promise((resolve) => queue.push({ fn, resolve }));
  };
}

const fn = async (): Promise<number> => 1;
async function best(op: () => Promise<unknown>): Promise<number> {
  let ms = Infinity;
  for (let round = 0; round < 3; round++) {
    gc!();
    const t0 = performance.now();
    await op();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const drain = await best(() => {
  const limit = minimal(100);
  return Promise.all(Array.from({ length: N }, () => limit(fn)));
});
const bare = await best(() => Promise.all(Array.from({ length: N }, () => fn())));
console.log(`drain 100 000 queued calls, minimal limiter: ${drain.toFixed(1)} ms; bare burst of 100 000 calls: ${bare.toFixed(1)} ms (best of 3)`);
