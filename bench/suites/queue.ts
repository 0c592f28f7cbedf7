/**
 * Queueing: what a bulkhead costs when calls do wait. A burst of 10 000 calls of an immediately resolving function
 * behind a limit of 100, so 9 900 of them queue and are admitted one by one as permits free; figures are per call.
 * sluice's bulkhead with each queue discipline side by side with the bare burst and the peers (cockatiel's bulkhead,
 * p-limit, p-queue with and without priorities). Then, outside tinybench (one-shot measurements): heap held per
 * waiting call with 100 000 calls that never settle, and the time to drain 100 000 queued calls.
 */
import { bulkhead as cockatielBulkhead } from 'cockatiel';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { bulkhead, type Bulkhead, type BulkheadOptions, type ExecuteOptions } from '../../src/index.js';
import { asyncTask, type Suite } from '../harness.js';

const BURST = 10_000;
const LIMIT = 100;

const fn = async (): Promise<number> => 1;

/** Three priority classes and ten tenants, cycled through the burst (constant option objects, as hoisted in real code). */
const PRIORITIES: readonly ExecuteOptions[] = [{ priority: 'high' }, { priority: 'default' }, { priority: 'low' }];
const PQ_PRIORITIES = [{ priority: 100 }, { priority: 0 }, { priority: -100 }];
const TENANTS: readonly ExecuteOptions[] = Array.from({ length: 10 }, (_, i) => ({ tenant: `tenant-${i}` }));

type Call = (i: number) => Promise<unknown>;

/** One operation: BURST calls started at once, then awaited together. */
function burst(call: Call): () => Promise<unknown> {
  return () => {
    const all = new Array<Promise<unknown>>(BURST);
    for (let i = 0; i < BURST; i++) all[i] = call(i);
    return Promise.all(all);
  };
}

const gate = (queue: BulkheadOptions['queue']): Bulkhead => bulkhead({ name: `bench-${String(queue)}`, limit: LIMIT, maxQueue: Infinity, queue });
const fifo = gate('fifo');
const lifo = gate('lifo');
const priority = gate('priority');
const fair = gate('fair');
const codel = gate('codel');
const cockatiel = cockatielBulkhead(LIMIT, Infinity);
const limit = pLimit(LIMIT);
const pqueue = new PQueue({ concurrency: LIMIT });

// Uncontended: a limit no sequential loop reaches, with the disciplines whose enqueue path differs.
const openPriority = bulkhead({ name: 'bench-open-priority', limit: 1_000_000, queue: 'priority' });
const openFair = bulkhead({ name: 'bench-open-fair', limit: 1_000_000, queue: 'fair' });
const openFifo = bulkhead({ name: 'bench-open-fifo', limit: 1_000_000 });
const high: ExecuteOptions = { priority: 'high' };
const tenant: ExecuteOptions = { tenant: 'tenant-1' };

const opts = { batch: 1, calls: BURST } as const;

// ---- one-shot measurements ----------------------------------------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const never = (): Promise<never> => new Promise<never>(() => undefined);

interface Peer {
  name: string;
  /** Starts one call of `task` (the caller's promise is kept by the probe). */
  start: (task: () => Promise<unknown>) => Promise<unknown>;
  /** Drops whatever is still queued (when the library can), so the next probe starts clean. */
  clear: () => void;
}

function peers(): Peer[] {
  const sluiceRow = (name: string, queue: BulkheadOptions['queue'], options?: (i: number) => ExecuteOptions | undefined): Peer => {
    let b: Bulkhead | undefined;
    let i = 0;
    return {
      name,
      start: (task) => {
        b ??= bulkhead({ name: `probe-${name}`, limit: LIMIT, maxQueue: Infinity, queue });
        return b.execute(task, options?.(i++));
      },
      clear: () => {
        b?.dispose();
        b = undefined;
      },
    };
  };
  let ck: ReturnType<typeof cockatielBulkhead> | undefined;
  let pl: ReturnType<typeof pLimit> | undefined;
  let pq: PQueue | undefined;
  return [
    sluiceRow('sluice bulkhead (fifo)', 'fifo'),
    sluiceRow('sluice bulkhead (priority)', 'priority', (i) => PRIORITIES[i % 3]),
    sluiceRow('sluice bulkhead (fair)', 'fair', (i) => TENANTS[i % 10]),
    sluiceRow('sluice bulkhead (codel)', 'codel'),
    {
      name: 'cockatiel bulkhead(100, Infinity)',
      start: (task) => (ck ??= cockatielBulkhead(LIMIT, Infinity)).execute(task),
      clear: () => (ck = undefined),
    },
    {
      name: 'p-limit(100)',
      start: (task) => (pl ??= pLimit(LIMIT))(task),
      clear: () => {
        pl?.clearQueue();
        pl = undefined;
      },
    },
    {
      name: 'p-queue { concurrency: 100 }',
      start: (task) => (pq ??= new PQueue({ concurrency: LIMIT })).add(task),
      clear: () => {
        pq?.clear();
        pq = undefined;
      },
    },
  ];
}

const HELD = 100_000;

/** Heap held per waiting call: HELD calls that never settle (LIMIT run, the rest wait), heap after gc minus before. */
async function heldBytes(peer: Peer): Promise<[number, number]> {
  let refused = 0;
  gc!();
  gc!();
  await turn();
  const before = process.memoryUsage().heapUsed;
  const held = new Array<Promise<unknown>>(HELD);
  for (let i = 0; i < HELD; i++) {
    const p = peer.start(never);
    p.catch(() => refused++); // CoDel may shed while real time passes; clear() rejects sluice's waiters
    held[i] = p;
  }
  await turn();
  gc!();
  gc!();
  const after = process.memoryUsage().heapUsed;
  const refusedWhileHeld = refused;
  peer.clear();
  held.length = 0;
  await turn();
  return [(after - before) / HELD, refusedWhileHeld];
}

/**
 * Wall time from the first of HELD calls (immediately resolving) to the last one settled, best of 3, ms; and how
 * many calls the last round refused (CoDel sheds a queue that stands longer than its interval, by design).
 */
async function drain(peer: Peer): Promise<[number, number]> {
  let best = Infinity;
  let refused = 0;
  for (let round = 0; round < 3; round++) {
    gc?.();
    await turn();
    const t0 = performance.now();
    const all = new Array<Promise<unknown>>(HELD);
    for (let i = 0; i < HELD; i++) all[i] = peer.start(fn);
    const settled = await Promise.allSettled(all);
    best = Math.min(best, performance.now() - t0);
    refused = settled.filter((x) => x.status === 'rejected').length;
    peer.clear();
  }
  return [best, refused];
}

async function extra(): Promise<string[]> {
  if (gc === undefined) return ['(held-memory and drain figures need node --expose-gc; `npm run bench` passes it)'];
  const rows: [string, number, number, number, number][] = [];
  for (const peer of peers()) rows.push([peer.name, ...(await heldBytes(peer)), ...(await drain(peer))]);
  const lines = [
    `Waiting calls (one-shot, ${HELD.toLocaleString('en-US')} calls behind a limit of ${LIMIT}):`,
    '',
    '| library | heap per waiting call (B) | of which shed while held | drain 100 000 queued calls (ms, best of 3) | of which refused |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(([name, b, shed, ms, refused]) => `| ${name} | ${b.toFixed(0)} | ${shed} | ${ms.toFixed(1)} | ${refused} |`),
    '',
    "Heap per waiting call: heapUsed after a full gc with the calls outstanding, minus before, over the calls; it includes the caller's promise and whatever the library keeps per waiter (for CoDel also the errors of the calls it shed while they queued: real time passes). Drain: every call of an immediately resolving function started at once, until the last settled (CoDel sheds the calls that would wait beyond its 100 ms interval while the queue stands: that is its job).",
  ];
  const fifoRow = rows[0]!;
  // CoDel's figure includes the errors of the calls it shed (real time passes while 100 000 calls queue).
  const worst = Math.max(...rows.slice(0, 3).map((r) => r[1]));
  lines.push(
    '',
    `Target: heap per waiting call ≤ 300 B (fifo, priority, fair): ${worst <= 300 ? 'met' : 'MISSED'}, at most ${worst.toFixed(0)} B.`,
    `Target: 100 000 queued calls drain in ≤ 60 ms (fifo): ${fifoRow[3] <= 60 ? 'met' : 'MISSED'}, ${fifoRow[3].toFixed(1)} ms.`,
  );
  return lines;
}

const suite: Suite = {
  name: 'queue',
  title: 'Bulkhead queues: a burst of 10 000 calls behind a limit of 100 (per call)',
  floor: 'burst: fn() × 10 000',
  tasks: [
    asyncTask('burst: fn() × 10 000', burst(() => fn()), { ...opts, role: 'floor', note: 'the bare burst: 10 000 calls of `async () => 1` started at once, then `Promise.all`.' }),
    asyncTask('bulkhead fifo', burst(() => fifo.execute(fn)), { ...opts, note: "`bulkhead({ limit: 100, maxQueue: Infinity })` (queue 'fifo', the default)." }),
    asyncTask('bulkhead lifo', burst(() => lifo.execute(fn)), opts),
    asyncTask('bulkhead priority', burst((i) => priority.execute(fn, PRIORITIES[i % 3])), { ...opts, note: "queue 'priority'; calls cycle through the classes high, default, low." }),
    asyncTask('bulkhead fair', burst((i) => fair.execute(fn, TENANTS[i % 10])), { ...opts, note: "queue 'fair'; calls cycle through 10 tenants." }),
    asyncTask('bulkhead codel', burst(() => codel.execute(fn)), { ...opts, note: "queue 'codel' (target 5 ms, interval 100 ms; a burst that drains in well under 100 ms is never shed)." }),
    asyncTask('cockatiel bulkhead', burst(() => cockatiel.execute(fn)), { ...opts, role: 'peer', note: 'cockatiel 3.2.1 `bulkhead(100, Infinity)`.' }),
    asyncTask('p-limit', burst(() => limit(fn)), { ...opts, role: 'peer', note: 'p-limit 7.3.3 `pLimit(100)`.' }),
    asyncTask('p-queue', burst(() => pqueue.add(fn)), { ...opts, role: 'peer', note: 'p-queue 8.1.1 `new PQueue({ concurrency: 100 })`.' }),
    asyncTask('p-queue priority', burst((i) => pqueue.add(fn, PQ_PRIORITIES[i % 3])), { ...opts, role: 'peer', note: 'the same with `{ priority }` cycling through 100, 0, -100.' }),
    asyncTask('uncontended bulkhead fifo', () => openFifo.execute(fn), { note: 'one call at a time, limit 1e6 (never waits): the rate suite\'s `bulkhead.execute(fn)` row.' }),
    asyncTask('uncontended bulkhead priority', () => openPriority.execute(fn, high), { note: "the same with queue 'priority' and `{ priority: 'high' }`." }),
    asyncTask('uncontended bulkhead fair', () => openFair.execute(fn, tenant), { note: "the same with queue 'fair' and `{ tenant }`." }),
  ],
  notes: [
    'For the burst rows, ns/op, ops/s and B/op are per call (each tinybench iteration is one burst of 10 000 calls); the uncontended rows are per call as in every suite, and their × floor is against the burst floor, so read their ns/op.',
  ],
  targets: [
    { task: 'bulkhead fifo', maxNsPerOp: 250 },
    { task: 'bulkhead priority', maxNsPerOp: 400 },
    { task: 'bulkhead fair', maxNsPerOp: 400 },
  ],
  extra,
  dispose() {
    for (const b of [fifo, lifo, priority, fair, codel, openFifo, openPriority, openFair]) {
      const s = b.stats();
      if (s.rejected !== 0 || s.inflight !== 0) throw new Error(`bench queue: ${b.name} refused ${s.rejected} calls or kept ${s.inflight} permits`);
      b.dispose();
    }
  },
};

export default suite;
