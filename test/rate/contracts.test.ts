import { limiterContract } from '../contract/limiter.contract.js';
import { policyContract } from '../contract/policy.contract.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { leakyBucket } from '../../src/rate/leaky-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';
import { cooldown } from '../../src/rate/cooldown.js';
import { keyed } from '../../src/keyed/keyed.js';

limiterContract('tokenBucket', (clock) => {
  const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, maxQueue: 20, clock });
  return {
    limiter,
    clock,
    async saturate() {
      const r = limiter.tryAcquire();
      if (!r.ok) throw new Error('expected a token');
      return () => clock.advance(1000);
    },
  };
});

limiterContract('leakyBucket', (clock) => {
  const limiter = leakyBucket({ ratePerSecond: 1, maxQueue: 20, clock });
  return {
    limiter,
    clock,
    async saturate() {
      const r = limiter.tryAcquire();
      if (!r.ok) throw new Error('expected a slot');
      return () => clock.advance(1000);
    },
  };
});

policyContract('tokenBucket', (clock) => tokenBucket({ capacity: 100, refillPerSecond: 100, clock }));
policyContract('leakyBucket', (clock) => leakyBucket({ ratePerSecond: 1000, burst: 100, clock }));
policyContract('pipeline(tokenBucket, leakyBucket)', (clock) =>
  pipeline(tokenBucket({ capacity: 100, refillPerSecond: 100, clock }), leakyBucket({ ratePerSecond: 1000, burst: 100, clock })),
);

limiterContract('cooldown', (clock) => {
  const limiter = cooldown({ maxWaitMs: Infinity, clock });
  return {
    limiter,
    clock,
    async saturate() {
      limiter.closeUntil(clock.now() + 1000);
      return () => clock.advance(1000);
    },
  };
});
policyContract('cooldown', (clock) => cooldown({ clock }));
policyContract('keyed(tokenBucket)', (clock) => keyed((_key, info) => tokenBucket({ ...info, capacity: 100, refillPerSecond: 100 }), { clock, keyOf: () => 'k' }));
