/**
 * `sluice/fetch`: a drop-in fetch whose requests go through per-origin policies steered by the server's own
 * pushback. See `protectFetch`.
 * @module
 */
export { protectFetch, type ProtectedFetch, type FetchLike, type SluiceInit } from './fetch.js';
export * from './index.js';
