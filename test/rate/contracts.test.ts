import { limiterContract } from '../contract/limiter.contract.js';
import { policyContract } from '../contract/policy.contract.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { leakyBucket } from '../../src/rate/leaky-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';

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
