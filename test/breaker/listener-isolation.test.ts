import { afterEach, describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/breaker/circuit-breaker.js';
import { consecutiveFailures } from '../../src/breaker/strategies/consecutive-failures.js';
import { pipeline } from '../../src/core/pipeline.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/index.js';
import { captureReported, type Reported } from '../support/reported.js';

describe('circuitBreaker event listeners', () => {
  let reported: Reported | undefined;
  afterEach(() => reported?.restore());

  it.each([false, true])(
    'regression: a listener that throws neither replaces fn\'s outcome nor breaks the state machine (in a pipeline: %s)',
    async (inPipeline) => {
      reported = captureReported();
      const clock = new ManualClock();
      const breaker = circuitBreaker({ strategy: consecutiveFailures({ threshold: 1 }), openMs: 100, openJitter: 0, clock });
      for (const ev of ['failure', 'success', 'open', 'halfOpen', 'close', 'stateChange', 'reject'] as const) {
        breaker.events.on(ev, () => {
          throw new Error(`listener ${ev}`);
        });
      }
      const policy = inPipeline ? pipeline(breaker, tokenBucket({ capacity: 100, refillPerSecond: 100, clock })) : breaker;
      const boom = new Error('dependency down');
      await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
      expect(breaker.stats().state).toBe('open');
      await expect(policy.execute(() => 1)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
      await clock.advance(100);
      await expect(policy.execute(() => 'ok')).resolves.toBe('ok');
      await flushMicrotasks();
      // Every throwing listener was reported, none was swallowed.
      const messages = reported.errors.map((e) => (e as Error).message);
      for (const ev of ['failure', 'open', 'stateChange', 'reject', 'halfOpen', 'success']) expect(messages).toContain(`listener ${ev}`);
    },
  );
});
