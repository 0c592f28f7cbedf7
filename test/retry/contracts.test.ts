import { policyContract } from '../contract/policy.contract.js';
import { retry } from '../../src/retry/retry.js';
import { constantBackoff } from '../../src/retry/backoff.js';
import { tokenBudget } from '../../src/retry/budget.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { timeout } from '../../src/timeout/index.js';
import { pipeline } from '../../src/core/pipeline.js';

// The contract never advances the clock, so retries use a zero backoff (no timer) or are declined. Its "passes the
// error of fn through unchanged" holds for a retry that retried only with throwLastError (by default it explains
// itself with a RetryExhaustedError, tested in retry.test.ts) or when nothing is retried.
policyContract('retry (zero backoff, throwLastError)', (clock) => retry({ clock, backoff: constantBackoff(), throwLastError: true }));
policyContract('retry (default backoff, nothing retryable)', (clock) => retry({ clock, shouldRetry: () => false }));
policyContract('retry (token budget, throwLastError)', (clock) => retry({ clock, backoff: constantBackoff(), budget: tokenBudget(), throwLastError: true }));
policyContract("retry (nested: 'multiply', no budget, throwLastError)", (clock) =>
  retry({ clock, backoff: constantBackoff(), nested: 'multiply', budget: false, throwLastError: true }),
);
policyContract('pipeline(retry, retry, tokenBucket, timeout)', (clock) =>
  pipeline(
    retry({ clock, backoff: constantBackoff(), throwLastError: true }),
    retry({ clock, backoff: constantBackoff() }),
    tokenBucket({ capacity: 100, refillPerSecond: 100, clock }),
    timeout({ timeoutMs: 1_000, clock }),
  ),
);
