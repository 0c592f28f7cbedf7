/**
 * Catches what sluice re-raises asynchronously (src/core/safe-call.ts `reportError`: a microtask that throws), so a
 * test can assert on it and the suite does not fail from an uncaught error. Microtasks queued by anything else run
 * as usual.
 */
import { vi } from 'vitest';

export interface Reported {
  /** Errors thrown by microtasks queued while capturing. */
  readonly errors: unknown[];
  restore(): void;
}

export function captureReported(): Reported {
  const errors: unknown[] = [];
  const original = globalThis.queueMicrotask;
  const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((cb: () => void) =>
    original(() => {
      try {
        cb();
      } catch (e) {
        errors.push(e);
      }
    }),
  );
  return { errors, restore: () => spy.mockRestore() };
}

/**
 * Runs `body` and returns the messages of the errors sluice re-raised asynchronously meanwhile (until one macrotask
 * after `body` settled); caught here so they do not fail the run.
 */
export async function collectReported(body: () => Promise<void>): Promise<string[]> {
  const r = captureReported();
  try {
    await body();
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    r.restore();
  }
  return r.errors.map((e) => (e instanceof Error ? e.message : String(e)));
}
