import { policyContract } from '../contract/policy.contract.js';
import { fallback } from '../../src/fallback/index.js';
import { timeout } from '../../src/timeout/index.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';

// The contract expects errors of fn to pass through, so the fallback here selects none of them; a fallback that
// replaces them is covered in fallback.test.ts.
policyContract('fallback', (clock) => fallback({ value: 'fallback', when: () => false, clock }));
policyContract('fallback (handler, whenResult)', (clock) =>
  fallback({ handler: () => 'fallback', when: (e) => e === 'never', whenResult: (r) => r === 'never', clock }),
);
policyContract('pipeline(fallback, tokenBucket, timeout)', (clock) =>
  pipeline(
    fallback({ value: 'fallback', when: (e) => (e as { code?: string }).code === 'RATE_LIMITED', clock }),
    tokenBucket({ capacity: 100, refillPerSecond: 100, clock }),
    timeout({ timeoutMs: 1_000, clock }),
  ),
);
