/**
 * `sluice/axios`: the same behaviour as `sluice/fetch`, as an axios adapter. axios is an optional peer dependency.
 * @module
 */
export { axiosAdapter, protectAxios, type SluiceAxiosAdapter } from './axios.js';
export * from './index.js';
