import { limiterContract, oneSlotHarness, type LimiterFactory } from '../contract/limiter.contract.js';
import { policyContract } from '../contract/policy.contract.js';
import { bulkhead } from '../../src/concurrency/bulkhead.js';
import { fairQueue, priorityQueue, type QueueName } from '../../src/concurrency/queues/index.js';
import { pipeline } from '../../src/core/pipeline.js';
import { tokenBucket } from '../../src/rate/token-bucket.js';

/** A one-slot bulkhead with room to queue; `saturate` holds the slot and hands back its release. */
const oneSlot =
  (maxWaitMs?: number, queue: QueueName = 'fifo'): LimiterFactory =>
  (clock) =>
    oneSlotHarness(bulkhead({ limit: 1, maxQueue: 20, queue, clock, ...(maxWaitMs === undefined ? {} : { maxWaitMs }) }), clock);

limiterContract('bulkhead', oneSlot());
limiterContract('bulkhead with maxWaitMs', oneSlot(30_000));
policyContract('bulkhead', (clock) => bulkhead({ limit: 10, clock }));
policyContract('bulkhead with a queue', (clock) => bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 1000, clock }));

// Every queue discipline passes both contracts, queueing and not.
for (const queue of ['lifo', 'priority', 'codel', 'fair'] as const) {
  limiterContract(`bulkhead (queue: '${queue}')`, oneSlot(undefined, queue));
  limiterContract(`bulkhead (queue: '${queue}') with maxWaitMs`, oneSlot(30_000, queue));
  policyContract(`bulkhead (queue: '${queue}')`, (clock) => bulkhead({ limit: 10, queue, clock }));
  policyContract(`bulkhead (queue: '${queue}') with a queue`, (clock) => bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 1000, queue, clock }));
}
policyContract("bulkhead (queue: priorityQueue({ lane: fairQueue, agingMs }))", (clock) =>
  bulkhead({ limit: 1, maxQueue: 10, maxWaitMs: 1000, queue: priorityQueue({ lane: () => fairQueue(), agingMs: 500 }), clock }),
);
policyContract('pipeline(tokenBucket, bulkhead)', (clock) =>
  pipeline(tokenBucket({ capacity: 100, refillPerSecond: 100, clock }), bulkhead({ limit: 10, maxQueue: 10, clock })),
);
