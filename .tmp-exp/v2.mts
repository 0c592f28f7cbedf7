import { Redis } from 'ioredis';
import { RedisServer } from '/work/main/test/support/redis-server.ts';
import { GCRA } from '/work/main/src/redis/scripts.ts';
const srv = await RedisServer.start();
const r = new Redis(srv.port, '127.0.0.1');
const base = GCRA.source;
const variants: Record<string, string> = {
  current: base,
  noNow: base.replace('return {1, now, math.ceil(debt)', 'return {1, math.ceil(debt)'),
  match: base.replace(/  local i = string.find[\s\S]*?\n  end\nend\n/, () => `  local d, at = string.match(state, '^(%d+):(%d+)$')
  if d then
    debt = tonumber(d) / 1000 - (now - tonumber(at))
    if debt < 0 then debt = 0 end
    if debt > tau then debt = tau end
  end
end
`),
  both: '',
  rlf: `local r = redis.call('SET', KEYS[1], 0, 'EX', 1, 'NX'); local c = redis.call('INCRBY', KEYS[1], 1); local t = redis.call('PTTL', KEYS[1]); return {c, t}`,
};
variants.both = variants.match.replace('return {1, now, math.ceil(debt)', 'return {1, math.ceil(debt)');
const shas: Record<string, string> = {};
for (const [k, v] of Object.entries(variants)) shas[k] = String(await r.call('SCRIPT', 'LOAD', v));
const N = 3000; const lat: Record<string, number[]> = {};
for (let round = 0; round < 14; round++) for (const k of Object.keys(variants)) {
  for (let i = 0; i < N; i++) { const t = performance.now(); await r.call('EVALSHA', shas[k], '1', 'k:' + k, '0.001', '1000000000', '1', '1'); if (round > 1) (lat[k] ??= []).push(performance.now() - t); }
}
for (const k of Object.keys(variants)) { const a = lat[k].sort((x, y) => x - y); console.log(k.padEnd(10), 'p50', (a[a.length >> 1] * 1000).toFixed(1), 'mean', (a.reduce((x,y)=>x+y)/a.length*1000).toFixed(1)); }
console.log(await r.call('EVALSHA', shas.match, '1', 'k:test', '0.001', '1000000000', '1', '1'), await r.call('EVALSHA', shas.match, '1', 'k:test', '0.001', '1000000000', '1', '1'), await r.call('GET', 'k:test'));
r.disconnect(); await srv.stop();
