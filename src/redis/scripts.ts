/**
 * The Lua scripts the Redis limiters run: each decision is one script, so it is atomic on the server, and reads the
 * server's clock (`TIME`), so the clocks of the processes sharing a limit never enter it.
 *
 * Times are kept relative to {@link SCRIPT_EPOCH_S} (2023-11-14) so that microsecond values stay far below 2^53 and
 * doubles hold them exactly. Fractions are returned as strings: Redis truncates Lua numbers to integers in replies.
 */
import { Script } from './client.js';

/** Seconds subtracted from the server's Unix time in every script. */
export const SCRIPT_EPOCH_S = 1_700_000_000;

/**
 * `redis.replicate_commands()` is needed before a write that follows `TIME` on Redis < 5 (later versions replicate
 * effects by default, and Redis 7.0+ has made the call a no-op); `pcall` keeps the script running where it is gone.
 */
const PRELUDE = `if redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
`;

/**
 * GCRA (the generic cell rate algorithm of ATM networks, ITU-T I.371; the form of go-redis/redis_rate and
 * brandur/redis-cell). GCRA keeps one number, the theoretical arrival time `tat` at which the bucket would be full
 * again: a call of cost `c` is admitted when `tat + T·c − τ ≤ now`, with `T` the emission interval (µs per token)
 * and `τ = T·capacity` the burst tolerance, and admitting moves `tat` to `max(tat, now) + T·c`. That is exactly a
 * token bucket of `capacity` tokens refilled at one per `T`.
 *
 * Here `tat` is stored as the debt `tat − now` (µs, in [0, τ]) together with the server time it was written, as
 * `"debt:time"`. An absolute `tat` near 10^14 µs has a float step of 1/64 µs, which at high rates is several tokens;
 * the debt is small and exact to 1e-16 of `τ`, so the only slack is the tolerance below, 1e-12 of the capacity (the
 * local token bucket's). Elapsed time is a difference of two `TIME` readings, in whole µs.
 *
 * KEYS[1] the subject's state. ARGV: T (µs per token), capacity, cost, most tokens to take (= cost, or a batch).
 * Reply: `{1, now, reset, remaining, taken}` or `{0, now, retry, available}`, in µs and tokens, as strings.
 * The key expires when the bucket is full again (`reset`), so an idle subject leaves nothing behind.
 */
export const GCRA = new Script(`${PRELUDE}local now = (tonumber(clock[1]) - ${SCRIPT_EPOCH_S}) * 1000000 + tonumber(clock[2])
local T = tonumber(ARGV[1])
local tau = T * tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local debt = 0
local state = redis.call('GET', KEYS[1])
if state then
  local i = string.find(state, ':', 1, true)
  if i then
    local d = tonumber(string.sub(state, 1, i - 1))
    local at = tonumber(string.sub(state, i + 1))
    if d and at then
      debt = d - (now - at)
      if debt < 0 then debt = 0 end
      if debt > tau then debt = tau end
    end
  end
end
local over = debt + T * cost - tau
if over > tau * 1e-12 then
  return {0, string.format('%.0f', now), string.format('%.3f', over), string.format('%.6f', (tau - debt) / T)}
end
local take = cost
if want > cost then
  local whole = math.floor((tau - debt) / T)
  if whole > want then whole = want end
  if whole > take then take = whole end
end
debt = debt + T * take
redis.call('SET', KEYS[1], string.format('%.17g:%.0f', debt, now), 'PX', math.floor(debt / 1000) + 1)
return {1, string.format('%.0f', now), string.format('%.3f', debt), string.format('%.6f', (tau - debt) / T), string.format('%.17g', take)}
`);

/**
 * Concurrency leases. KEYS[1] a sorted set of lease ids scored by expiry (ms), KEYS[2] a hash of their costs,
 * KEYS[3] the sum of the live leases' costs. Expired leases are purged first, so a crashed holder's capacity comes
 * back within its lease. Every write pushes the keys' expiry to at least the newest lease's, so the keys vanish when
 * the last lease ends.
 *
 * Acquire: ARGV limit, lease ms, lease id, cost. Reply `{1, now, used}` or `{0, now, used, msUntilEarliestExpiry}`.
 */
const PURGE = `local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local used = tonumber(redis.call('GET', KEYS[3])) or 0
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do
  used = used - (tonumber(redis.call('HGET', KEYS[2], expired[i])) or 0)
  redis.call('HDEL', KEYS[2], expired[i])
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
if used < 1e-9 or redis.call('ZCARD', KEYS[1]) == 0 then used = 0 end
`;

const KEEP = `local function keep(ms)
  for i = 1, 3 do
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
`;

export const LEASE_ACQUIRE = new Script(`${PRELUDE}${PURGE}${KEEP}local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
if used + cost > limit + 1e-9 then
  redis.call('SET', KEYS[3], string.format('%.6f', used), 'KEEPTTL')
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = 0
  if first[2] then wait = tonumber(first[2]) - now end
  return {0, string.format('%.0f', now), string.format('%.6f', used), string.format('%.0f', wait)}
end
used = used + cost
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], string.format('%.6f', cost))
redis.call('SET', KEYS[3], string.format('%.6f', used))
keep(ttl)
return {1, string.format('%.0f', now), string.format('%.6f', used)}
`);

/** Release: ARGV lease id. Reply 1 when this call removed the lease, 0 when it was gone (released or expired). */
export const LEASE_RELEASE = new Script(`${PRELUDE}${PURGE}local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 then
  used = used - (tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0)
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if used < 1e-9 then used = 0 end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
else
  redis.call('SET', KEYS[3], string.format('%.6f', used), 'KEEPTTL')
end
return removed
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
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
else
  redis.call('SET', KEYS[3], string.format('%.6f', used), 'KEEPTTL')
  keep(ttl)
end
return lost
`);
