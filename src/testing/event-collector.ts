/**
 * Records events from any sluice emitter, for assertions.
 */

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** One recorded event. */
export interface CollectedEvent {
  event: string;
  payload: unknown;
}

/**
 * Subscribes to the named events of an emitter and keeps them in order.
 * @example
 * ```ts
 * const events = collectEvents(bucket.events, ['reject']);
 * await bucket.execute(fn).catch(() => {});
 * expect(events.of('reject')).toHaveLength(1);
 * events.stop();
 * ```
 */
export function collectEvents(emitter: unknown, names: readonly string[]) {
  const e = emitter as Emitter;
  const all: CollectedEvent[] = [];
  const listeners = names.map((event) => {
    const listener = (payload: unknown): void => {
      all.push({ event, payload });
    };
    e.on(event, listener);
    return [event, listener] as const;
  });
  return {
    /** Every event, in order. */
    all,
    /** Payloads of one event name. */
    of<T = unknown>(event: string): T[] {
      return all.filter((x) => x.event === event).map((x) => x.payload as T);
    },
    /** Unsubscribes. */
    stop(): void {
      for (const [event, listener] of listeners) e.off(event, listener);
    },
  };
}
