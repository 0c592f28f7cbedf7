import { policyContract } from '../contract/policy.contract.js';
import { circuitBreaker } from '../../src/breaker/circuit-breaker.js';
import { consecutiveFailures } from '../../src/breaker/strategies/consecutive-failures.js';
import { timeWindow } from '../../src/breaker/strategies/time-window.js';
import { slowCallRate } from '../../src/breaker/strategies/slow-call-rate.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';
import { pipeline } from '../../src/core/pipeline.js';

policyContract('circuitBreaker', (clock) => circuitBreaker({ clock }));
policyContract('circuitBreaker(consecutiveFailures)', (clock) => circuitBreaker({ clock, strategy: consecutiveFailures({ threshold: 3 }) }));
policyContract('circuitBreaker(timeWindow, slow calls)', (clock) =>
  circuitBreaker({ clock, strategy: timeWindow({ windowMs: 1000, slowCallDurationMs: 100 }) }),
);
policyContract('circuitBreaker(slowCallRate)', (clock) => circuitBreaker({ clock, strategy: slowCallRate({ slowCallDurationMs: 100 }) }));
policyContract('circuitBreaker in dry-run', (clock) => circuitBreaker({ clock, dryRun: true }));
policyContract('pipeline(circuitBreaker, tokenBucket)', (clock) =>
  pipeline(circuitBreaker({ clock }), tokenBucket({ capacity: 100, refillPerSecond: 100, clock })),
);
