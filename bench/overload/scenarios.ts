/**
 * Scenarios S1–S14 on the canonical model, an M/M/40 queue: c = 40 workers, exponential service with mean 40 ms
 * (C = 1000 rps), client deadline D = 1 s, no server-side cancellation. Ideals are queueing-theory limits (Erlang C
 * for the M/M/40 latency, the M/M/40/L queue for a perfect limiter, Little's law); targets T1–T12 are sluice's own
 * goals for its defaults. The experiment designs and their sources are listed in the header run.ts writes.
 */
import { S1 } from './scenarios/s1.js';
import { S2 } from './scenarios/s2.js';
import { capacityScenario } from './scenarios/s3-s4.js';
import { S5 } from './scenarios/s5.js';
import { S6 } from './scenarios/s6.js';
import { S7 } from './scenarios/s7.js';
import { S8 } from './scenarios/s8.js';
import { S9 } from './scenarios/s9.js';
import { S10 } from './scenarios/s10.js';
import { S11 } from './scenarios/s11.js';
import { S12 } from './scenarios/s12.js';
import { S13 } from './scenarios/s13.js';
import { S14 } from './scenarios/s14.js';
import type { Scenario } from './scenarios/common.js';

export { C, type ChartData, type RunContext, type Scenario, type ScenarioOutput, type Table } from './scenarios/common.js';

/** Every scenario, in report order. Adding one: a file in scenarios/ and its line here. */
export const SCENARIOS: Scenario[] = [S1, S2, capacityScenario('S3', 'Capacity loss by worker loss'), capacityScenario('S4', 'Capacity loss by slowdown (the ambiguity test)'), S5, S6, S7, S8, S9, S10, S11, S12, S13, S14];
