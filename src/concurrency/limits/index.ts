/**
 * Concurrency-limit algorithms: pure functions of the samples they are fed (no timer, no clock of their own), for
 * the adaptive limiter to enforce and for the simulator to compare.
 */
export { clampLimit, usable, type LimitAlgorithm, type LimitBounds, type LimitSample } from './algorithm.js';
export { fixedLimit, type FixedLimitOptions } from './fixed.js';
export { aimdLimit, type AimdLimitOptions } from './aimd.js';
export { vegasLimit, log10Root, type VegasLimitOptions } from './vegas.js';
export { gradient2Limit, type Gradient2LimitOptions } from './gradient2.js';
export { windowedLimit, type WindowedLimitOptions } from './windowed.js';
export { envoyGradientLimit, type EnvoyGradientLimitOptions } from './envoy-gradient.js';
export { sluiceLimit, type SluiceLimitOptions } from './sluice.js';
