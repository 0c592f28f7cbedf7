/**
 * The Lua scripts the Redis limiters run: each decision is one script, so it is atomic on the server, and reads the
 * server's clock (`TIME`), so the clocks of the processes sharing a limit never enter it.
 *
 * Times are kept relative to {@link SCRIPT_EPOCH_S} (2023-11-14) so that microsecond values stay far below 2^53 and
 * doubles hold them exactly. Redis truncates Lua numbers to integers in replies, so the scripts round explicitly (and
 * return a fraction as a string where one is needed).
 */
import { Script } from './client.js';

/** Seconds subtracted from the server's Unix time in every script. */
export const SCRIPT_EPOCH_S = 1_700_000_000;

/**
 * Every script starts by reading the server's clock. A write after `TIME` needs effects replication, the default
 * since Redis 5 (and in every Valkey); calling `redis.replicate_commands()` for older servers cost about 2 µs per call
 * on Redis 7, where it does nothing, so the scripts require Redis 5 or later.
 */
const PRELUDE = `local clock = redis.call('TIME')
`;

/**
 * GCRA (the generic cell rate algorithm of ATM networks, ITU-T I.371; the form of go-redis/redis_rate and
 * brandur/redis-cell). GCRA keeps one number, the theoretical arrival time `tat` at which the bucket would be full
 * again: a call of cost `c` is admitted when `tat + T·c − τ ≤ now`, with `T` the emission interval (µs per token)
 * and `τ = T·capacity` the burst tolerance, and admitting moves `tat` to `max(tat, now) + T·c`. That is exactly a
 * token bucket of `capacity` tokens refilled at one per `T`.
 *
 * Here `tat` is stored as the debt `tat − now` together with the server time it was written, as `"debt:time"`, in
 * whole nanoseconds (rounded up) and microseconds. An absolute `tat` near 10^14 µs has a float step of 1/64 µs, which
 * at high rates is several tokens; the debt is small, so rounding it up to a nanosecond under-admits by at most
 * 1 ns of refill per admission and never over-admits, and the only over-admission is the tolerance below, 1e-12 of
 * the capacity (the local token bucket's). Integers rather than `%.17g` floats, because formatting a float costs
 * Redis about 2 µs per call. Elapsed time is a difference of two `TIME` readings, in whole µs.
 *
 * KEYS[1] the subject's state. ARGV: T (µs per token), capacity, cost, and optionally the most tokens to take (a
 * batch, above the cost) and a flag asking for the server's time in the reply (tests use it to check the window
 * bound on the server's own clock). The reply is one integer, the cheapest there is to write and to parse: `reset`
 * > 0 when admitted (µs until the bucket is full again, rounded up: the tokens left follow from it), `−retry` < 0
 * when refused (µs until the call would fit, rounded up, so never early). When batching it is `{reset, extra}`
 * (extra: whole tokens taken beyond the cost); with the flag, `{value, extra, now}` (now: µs since the epoch above).
 * The key expires when the bucket is full again, so an idle subject leaves nothing behind.
 */
export const GCRA = new Script(`${PRELUDE}local now = (tonumber(clock[1]) - ${SCRIPT_EPOCH_S}) * 1000000 + tonumber(clock[2])
local T = tonumber(ARGV[1])
local tau = T * tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local debt = 0
local state = redis.call('GET', KEYS[1])
if state then
  local d, at = string.match(state, '^(%d+):(%d+)$')
  if d then
    debt = tonumber(d) / 1000 - (now - tonumber(at))
    if debt < 0 then debt = 0 end
    if debt > tau then debt = tau end
  end
end
local over = debt + T * cost - tau
if over > tau * 1e-12 then
  if ARGV[5] then return {-math.ceil(over), 0, now} end
  return -math.ceil(over)
end
local extra = 0
local want = tonumber(ARGV[4] or 0)
if want > cost then
  local whole = math.floor((tau - debt) / T)
  if whole > want then whole = want end
  if whole > cost then extra = math.floor(whole - cost) end
end
debt = debt + T * (cost + extra)
redis.call('SET', KEYS[1], string.format('%d:%d', math.ceil(debt * 1000), now), 'PX', math.floor(debt / 1000) + 1)
if ARGV[5] then return {math.ceil(debt), extra, now} end
if want > cost then return {math.ceil(debt), extra} end
return math.ceil(debt)
`);

/**
 * Concurrency leases. KEYS[1] a sorted set of lease ids scored by expiry (ms), KEYS[2] a hash of their costs,
 * KEYS[3] the sum of the live leases' costs (kept with `INCRBYFLOAT`, which leaves the key's expiry alone). Acquire
 * and renew purge expired leases first, so a crashed holder's capacity comes back within its lease. The three keys
 * share one expiry: when it is less than a lease away, it is pushed to two leases, so the keys live at most two
 * lease times past the last acquire or renewal (and go at once with the last release). Numbers are handed to
 * `redis.call` as numbers: Redis writes them exactly, and faster than `string.format`. The common acquire is seven
 * commands, a release five.
 */
const PURGE = `local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  local freed = 0
  for i = 1, #expired do
    freed = freed + (tonumber(redis.call('HGET', KEYS[2], expired[i])) or 0)
    redis.call('HDEL', KEYS[2], expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) else redis.call('INCRBYFLOAT', KEYS[3], -freed) end
end
`;

const KEEP = `local function keep(ttl)
  if redis.call('PTTL', KEYS[1]) < ttl then
    for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 2 * ttl) end
  end
end
`;

/** Acquire: ARGV limit, lease ms, lease id, cost. Reply `{1, now, used}` or `{0, now, used}` (ms; `used` rounded up). */
export const LEASE_ACQUIRE = new Script(`${PRELUDE}${PURGE}${KEEP}local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
local used = tonumber(redis.call('GET', KEYS[3])) or 0
if used + cost > limit + 1e-9 then
  return {0, now, math.ceil(used - 1e-9)}
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], cost)
used = tonumber(redis.call('INCRBYFLOAT', KEYS[3], cost))
keep(ttl)
return {1, now, math.ceil(used - 1e-9)}
`);

/**
 * Release: ARGV lease id. Reply 1 when this call removed the lease, 0 when it was gone (released or expired). No
 * clock needed: whether the lease has expired does not matter, it is removed either way.
 */
export const LEASE_RELEASE = new Script(`if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local cost = tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) else redis.call('INCRBYFLOAT', KEYS[3], -cost) end
return 1
`);

/**
 * Renew: ARGV lease ms, then the lease ids. Each live lease's expiry moves to now + lease ms. Reply: the ids that
 * were gone (expired and purged, or released elsewhere).
 */
export const LEASE_RENEW = new Script(`${PRELUDE}${PURGE}${KEEP}local ttl = tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[i]) == 0 and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    lost[#lost + 1] = ARGV[i]
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then keep(ttl) end
return lost
`);
