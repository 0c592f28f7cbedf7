/**
 * The simulator's virtual time: a {@link Clock} whose timers are events in one binary heap, ordered by due time and
 * then by sequence number, and a run loop that lets promise reactions settle between events.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

/** One scheduled callback. Cancelled events stay in the heap (or lane) and are skipped when reached (lazy deletion). */
interface SimEvent {
  at: number;
  seq: number;
  callback: () => void;
  /** Short tag written to the event log. */
  label: string;
  /** True when the callback never starts promise reactions, so no microtask drain is needed after it. */
  sync: boolean;
  cancelled: boolean;
}

const hostSetImmediate = globalThis.setImmediate;
const hostNextTick = globalThis.process.nextTick;
const hostQueueMicrotask = globalThis.queueMicrotask;

/** Events fired between two yields to the host event loop (so I/O, progress output and test runners stay alive). */
const EVENTS_PER_YIELD = 4096;

/**
 * A virtual clock and event scheduler. Every sluice policy in a simulation takes it as its `clock`; the simulator
 * schedules its own arrivals and completions on the same heap, so policy timers and model events interleave in one
 * total order (time, then sequence number).
 *
 * Between two events the run loop waits until the microtask queue is empty: a promise chain started by an event
 * settles, at the event's virtual time, before time moves on. It does so cheaply and soundly by queueing a microtask
 * that calls `process.nextTick(next event)`: Node runs the tick queue only after the microtask queue has drained
 * completely, including reactions queued by reactions. (0.15 µs per event; a `setImmediate` turn per event costs 0.77 µs.)
 * Every few thousand events the loop yields one macrotask turn so the host's I/O keeps flowing. Events marked `sync`
 * (they start no promise work) skip the wait. Policies under test must not use host timers, `setImmediate` or
 * `process.nextTick` themselves; sluice's policies use only the injected clock.
 *
 * @example
 * ```ts
 * const clock = new SimClock();
 * const bucket = tokenBucket({ capacity: 5, refillPerSecond: 10, clock });
 * clock.schedule(100, () => void bucket.execute(work));
 * await clock.run(1000);
 * ```
 */
export class SimClock implements Clock {
  private time: number;
  private seq = 0;
  private heap: SimEvent[] = [];
  /**
   * Events scheduled in nondecreasing time order ({@link scheduleInOrder}), in a FIFO beside the heap: most timers a
   * simulation arms are callers' deadlines (now + D, so each is due no earlier than the last), and most of those are
   * cancelled, so keeping them out of the heap saves a logarithmic insert and removal each.
   */
  private lane: SimEvent[] = [];
  private laneHead = 0;
  private live = 0;
  private fired = 0;
  /** Event log lines (`<time> <label>`), when enabled. */
  readonly log: string[] | undefined;

  /**
   * @param options.startMs - initial virtual time, ms. Default 0.
   * @param options.log - record one line per fired event in {@link SimClock.log}. Default false.
   * @throws {RangeError} when `startMs` is not finite.
   */
  constructor(options: { startMs?: number; log?: boolean } = {}) {
    const start = options.startMs ?? 0;
    if (typeof start !== 'number' || !Number.isFinite(start)) throw new RangeError(`SimClock: option "startMs" must be a finite number, got ${String(start)}`);
    this.time = start;
    this.log = options.log === true ? [] : undefined;
  }

  /**
   * Event-loop stalls of the simulated process, sorted by start: no event of this process fires inside one; every
   * one due in `[from, to)` fires at `to` (in the order it was scheduled), as the timers and I/O callbacks of a blocked
   * Node event loop run once it frees up. The downstream is another process: its own events
   * ({@link scheduleRemote}) run on time, and only its answers wait.
   */
  private readonly stalls: { from: number; to: number }[] = [];
  private stallAt = 0;

  /**
   * Models an event-loop stall of `durationMs` from `fromMs` (see the class notes). Add stalls before `run`.
   * @throws {RangeError} when a bound is not finite or the duration is negative.
   */
  stall(fromMs: number, durationMs: number): void {
    if (!Number.isFinite(fromMs) || !Number.isFinite(durationMs) || durationMs < 0) {
      throw new RangeError(`SimClock.stall: fromMs and durationMs must be finite, durationMs >= 0, got ${fromMs}, ${durationMs}`);
    }
    this.stalls.push({ from: fromMs, to: fromMs + durationMs });
    this.stalls.sort((a, b) => a.from - b.from);
  }

  /** Whether any stall was added: the downstream then hands its answers over as events of this process. */
  get stalled(): boolean {
    return this.stalls.length !== 0;
  }

  /** When an event of this process due at `at` fires: `at`, or the end of the stall it falls in. */
  private firesAt(at: number): number {
    const st = this.stalls;
    // Stalls over before now can hold nothing back any more (the time only moves forward).
    while (this.stallAt < st.length && st[this.stallAt]!.to <= this.time) this.stallAt++;
    for (let k = this.stallAt; k < st.length && st[k]!.from <= at; k++) if (at < st[k]!.to) at = st[k]!.to;
    return at;
  }

  /** Current virtual time, ms. */
  now(): number {
    return this.time;
  }

  /** Schedules `callback` `delayMs` from now (0 when negative), after every event already due at that time. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const d = delayMs > 0 ? delayMs : 0;
    return this.push(this.time + d, callback, 'timer', false);
  }

  /** Cancels a timer or event; a no-op when already fired or cancelled. */
  clearTimeout(handle: TimerHandle): void {
    const e = handle as SimEvent | undefined;
    if (e === undefined || e === null || e.cancelled) return;
    e.cancelled = true;
    this.live--;
  }

  /**
   * Schedules a model event at absolute time `atMs` (clamped to now). `sync: true` promises the callback starts no
   * promise work, which lets the loop skip the microtask drain after it.
   * @returns a handle for {@link SimClock.clearTimeout}.
   */
  schedule(atMs: number, callback: () => void, label = 'event', sync = false): TimerHandle {
    return this.push(atMs > this.time ? atMs : this.time, callback, label, sync);
  }

  /**
   * Schedules an event of another process (the downstream's own work: a worker finishing, a capacity change), which a
   * stall of this process does not hold back. Its callback must not settle anything this process awaits directly:
   * hand answers over with {@link schedule} (then they wait for the stall to end).
   */
  scheduleRemote(atMs: number, callback: () => void, label = 'event', sync = false): TimerHandle {
    return this.push(atMs > this.time ? atMs : this.time, callback, label, sync, true);
  }

  /** Number of scheduled, uncancelled events (timers included). */
  pendingTimers(): number {
    return this.live;
  }

  /** Events fired so far. */
  get eventsFired(): number {
    return this.fired;
  }

  /**
   * Fires events in order until the next one is due after `untilMs` (or none is left), then sets the time to
   * `untilMs`. Resolves once every promise reaction started by the last event has run.
   * @throws whatever an event callback throws (the run stops there).
   */
  run(untilMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let sinceYield = 0;
      // Runs inside a microtask; the tick it queues runs once the microtask queue is empty.
      const afterDrain = (): void => hostNextTick(step);
      const step = (): void => {
        try {
          for (;;) {
            const e = this.take(untilMs);
            if (e === undefined) {
              if (untilMs > this.time && Number.isFinite(untilMs)) this.time = untilMs;
              resolve();
              return;
            }
            this.time = e.at;
            this.live--;
            this.fired++;
            if (this.log !== undefined) this.log.push(`${e.at} ${e.label}`);
            e.callback();
            if (!e.sync) break;
          }
          if (++sinceYield >= EVENTS_PER_YIELD) {
            sinceYield = 0;
            hostSetImmediate(step);
          } else {
            hostQueueMicrotask(afterDrain);
          }
        } catch (err) {
          reject(err);
        }
      };
      hostSetImmediate(step);
    });
  }

  private push(at: number, callback: () => void, label: string, sync: boolean, remote = false): SimEvent {
    if (!remote && this.stalls.length !== 0) at = this.firesAt(at);
    const e: SimEvent = { at, seq: ++this.seq, callback, label, sync, cancelled: false };
    this.live++;
    this.insert(e);
    return e;
  }

  /**
   * Schedules an event of this process that is due no earlier than every event scheduled this way before it (a
   * caller's deadline: now + a constant): appended to a FIFO in O(1) instead of the heap, and most such events are
   * cancelled long before they are due. Falls back to the heap when the order does not hold.
   */
  scheduleInOrder(atMs: number, callback: () => void, label = 'event'): TimerHandle {
    let at = atMs > this.time ? atMs : this.time;
    if (this.stalls.length !== 0) at = this.firesAt(at);
    const lane = this.lane;
    if (lane.length !== this.laneHead && lane[lane.length - 1]!.at > at) return this.push(at, callback, label, false, true);
    const e: SimEvent = { at, seq: ++this.seq, callback, label, sync: false, cancelled: false };
    this.live++;
    lane.push(e);
    return e;
  }

  /**
   * Removes and returns the earliest uncancelled event (by time, then sequence) if it is due by `untilMs`, from the
   * heap or the lane. Cancelled events at either head are dropped on the way.
   */
  private take(untilMs: number): SimEvent | undefined {
    const lane = this.lane;
    while (this.laneHead < lane.length && lane[this.laneHead]!.cancelled) lane[this.laneHead++] = undefined as never;
    if (this.laneHead === lane.length && this.laneHead !== 0) {
      lane.length = 0;
      this.laneHead = 0;
    } else if (this.laneHead > 4096 && this.laneHead * 2 > lane.length) {
      this.lane = lane.slice(this.laneHead);
      this.laneHead = 0;
    }
    const h = this.heap;
    while (h.length !== 0 && h[0]!.cancelled) this.pop();
    const l = this.laneHead < this.lane.length ? this.lane[this.laneHead]! : undefined;
    const top = h.length !== 0 ? h[0]! : undefined;
    const fromLane = l !== undefined && (top === undefined || l.at < top.at || (l.at === top.at && l.seq < top.seq));
    const e = fromLane ? l : top;
    if (e === undefined || e.at > untilMs) return undefined;
    if (fromLane) this.lane[this.laneHead++] = undefined as never;
    else this.pop();
    return e;
  }

  private insert(e: SimEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.at < e.at || (pe.at === e.at && pe.seq < e.seq)) break;
      h[i] = pe;
      i = p;
    }
    h[i] = e;
  }

  /** Removes the heap's root (cancelled or not). */
  private pop(): void {
    const h = this.heap;
    {
      const n = h.length;
      if (n === 0) return;
      const last = h.pop()!;
      if (n > 1) {
        let i = 0;
        const m = n - 1;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= m) break;
          const r = l + 1;
          let c = l;
          let ce = h[l]!;
          if (r < m) {
            const re = h[r]!;
            if (re.at < ce.at || (re.at === ce.at && re.seq < ce.seq)) {
              c = r;
              ce = re;
            }
          }
          if (last.at < ce.at || (last.at === ce.at && last.seq < ce.seq)) break;
          h[i] = ce;
          i = c;
        }
        h[i] = last;
      }
    }
  }
}
