/**
 * `sluice/http`: what the HTTP integrations (`sluice/fetch`, `sluice/undici`, `sluice/axios`) share, for use on its
 * own: the header parsers (Retry-After, the IETF RateLimit fields and their older dialects, load factor), the
 * classification rules, the errors, and the helper that answers your own callers with 503 + Retry-After.
 * @module
 */
export {
  parseRetryAfter,
  parseHttpDate,
  parseQuota,
  parseResetValue,
  parseRetryAfterHeaders,
  parseLoadFactor,
  readServerSignals,
  MAX_HINT_MS,
  MAX_QUOTA,
  MAX_LOAD_FACTOR,
  type Quota,
  type ServerSignals,
  type HeaderGetter,
  type WallTime,
} from './headers.js';
export { parseList, parseDictionary, isInnerList, SfToken, type SfItem, type SfInnerList, type BareItem } from './structured-fields.js';
export { classifyStatus, isNetworkError, isRetryableError, replayable, RETRYABLE_STATUSES, IDEMPOTENT_METHODS } from './classify.js';
export { HttpStatusError, NotRetriedError, isHttpStatusError, isNotRetriedError, type ResponseClass } from './errors.js';
export { rejectionResponse, sendRejection, type RejectionResponse, type RejectionResponseOptions } from './serve.js';
export { Upstream, type HttpOptions, type HttpRetryOptions, type LoadFactorOptions, type HttpCallOptions, type HttpRequestFacts } from './guard.js';
