import { policyContract } from '../contract/policy.contract.js';
import { timeout } from '../../src/timeout/index.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';

policyContract('timeout', (clock) => timeout({ timeoutMs: 1_000, clock }));
policyContract('timeout (timeoutMs: Infinity, context deadline only)', (clock) => timeout({ timeoutMs: Infinity, clock }));
policyContract('pipeline(tokenBucket, timeout)', (clock) =>
  pipeline(tokenBucket({ capacity: 100, refillPerSecond: 100, clock }), timeout({ timeoutMs: 1_000, clock })),
);
