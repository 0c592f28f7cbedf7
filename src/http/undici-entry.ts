/**
 * `sluice/undici`: the same behaviour as `sluice/fetch`, as an undici interceptor for `Dispatcher.compose`. undici is
 * an optional peer dependency.
 * @module
 */
export { sluiceInterceptor, type SluiceInterceptor } from './undici.js';
export * from './index.js';
