import { Redis } from 'ioredis';
import { RedisServer } from '/work/main/test/support/redis-server.ts';
import { GCRA } from '/work/main/src/redis/scripts.ts';
const srv = await RedisServer.start();
const r = new Redis(srv.port, '127.0.0.1');
const base = GCRA.source;
const variants: Record<string, string> = {
  current: base,
  fmtDnoRep: base.replace("string.format('%.17g:%.0f', debt, now)", "string.format('%d:%d', math.ceil(debt * 1000), now)").replace(/^if redis.replicate_commands.*\n/, ''),
  tatFloat: `local clock = redis.call('TIME')
local now = (tonumber(clock[1]) - 1700000000) * 1000000 + tonumber(clock[2])
local T = tonumber(ARGV[1]); local tau = T * tonumber(ARGV[2]); local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new = tat + T * cost
local allow = new - tau
if allow > now then return {0, now, math.ceil(allow - now)} end
redis.call('SET', KEYS[1], new, 'PX', math.floor((new - now) / 1000) + 1)
return {1, now, math.ceil(new - now), math.floor((now - allow) / T), 0}`,
  fmtGnoRep: base.replace("string.format('%.17g:%.0f', debt, now)", "string.format('%.17g:%d', debt, now)").replace(/^if redis.replicate_commands.*\n/, ''),
  fmtG: base.replace("string.format('%.17g:%.0f', debt, now)", "string.format('%.17g:%d', debt, now)"),
  rlf: `local r = redis.call('SET', KEYS[1], 0, 'EX', 1, 'NX'); local c = redis.call('INCRBY', KEYS[1], 1); local t = redis.call('PTTL', KEYS[1]); return {c, t}`,
  trivial: 'return 1',
};
const cpu = async () => { const info = String(await r.call('INFO', 'cpu')); const f = (n: string) => Number(new RegExp(`^${n}:([0-9.]+)`, 'm').exec(info)![1]); return f('used_cpu_user') + f('used_cpu_sys'); };
const shas: Record<string, string> = {};
for (const [k, v] of Object.entries(variants)) shas[k] = String(await r.call('SCRIPT', 'LOAD', v));
const N = 2000;
const lat: Record<string, number[]> = {};
const cpuT: Record<string, number> = {};
for (let round = 0; round < 12; round++) for (const k of Object.keys(variants)) {
  const c0 = await cpu();
  for (let i = 0; i < N; i++) { const t = performance.now(); await r.call('EVALSHA', shas[k], '1', 'k:' + k, '1000', '1000000000', '1', '1'); (lat[k] ??= []).push(performance.now() - t); }
  const c1 = await cpu();
  if (round > 1) cpuT[k] = (cpuT[k] ?? 0) + (c1 - c0);
}
for (const k of Object.keys(variants)) { const a = lat[k].slice(2*N).sort((x, y) => x - y); console.log(k.padEnd(12), 'p50', (a[a.length >> 1] * 1000).toFixed(1), 'µs  server cpu', (cpuT[k] / (10 * N) * 1e6).toFixed(2), 'µs/call (incl. INFO)'); }
r.disconnect(); await srv.stop();
