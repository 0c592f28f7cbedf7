/**
 * Where the time of a loopback request goes, through a bare undici Agent and through one composed with
 * `sluiceInterceptor()`: runs 30 000 sequential requests for each under the V8 CPU profiler (in a child process of
 * its own, against a server child) and prints the self time per request by owner (sluice's built code, undici,
 * Node internals, GC, idle) and sluice's top functions. Needs the build (`npm run build`).
 *
 *   npm run bench:http-profile
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = 30_000;
const dir = mkdtempSync(join(tmpdir(), 'sluice-http-profile-'));

const CLIENT = `
import { spawn } from 'node:child_process';
import { Agent, request } from 'undici';
import { sluiceInterceptor } from ${JSON.stringify(join(ROOT, 'dist/undici/index.js'))};
const c = spawn(process.execPath, ['-e', "const s=require('http').createServer((q,r)=>{r.writeHead(200,{'content-length':'2'});r.end('ok')});s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) => c.stdout.once('data', (d) => r(String(d).trim())));
const url = 'http://127.0.0.1:' + port + '/';
const agent = process.argv[2] === 'bare' ? new Agent() : new Agent().compose(sluiceInterceptor());
for (let i = 0; i < ${N}; i++) await request(url, { dispatcher: agent }).then((r) => r.body.text());
c.kill();
await agent.close();
`;
const script = join(ROOT, 'bench', '.http-profile-client.mjs'); // inside the repository, so that undici resolves
writeFileSync(script, CLIENT);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function owner(url: string, fn: string): string {
  if (url.includes('/dist/')) return 'sluice (dist)';
  if (url.includes('node_modules/undici')) return 'undici';
  if (url.startsWith('node:')) return 'node internals';
  return fn === '' ? '(anonymous)' : fn;
}

try {
  for (const mode of ['bare', 'sluice']) {
    const out = join(dir, mode);
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${out}`, script, mode], { stdio: 'inherit' });
    const file = readdirSync(out)[0]!;
    const p = JSON.parse(readFileSync(join(out, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
    const dt = new Map<number, number>();
    p.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
    const byOwner = new Map<string, number>();
    const sluiceFns = new Map<string, number>();
    const nodeFns = new Map<string, number>();
    for (const n of p.nodes) {
      const t = dt.get(n.id) ?? 0;
      const o = owner(n.callFrame.url, n.callFrame.functionName);
      byOwner.set(o, (byOwner.get(o) ?? 0) + t);
      if (o === 'node internals') {
        const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url}:${n.callFrame.lineNumber}`;
        nodeFns.set(k, (nodeFns.get(k) ?? 0) + t);
      }
      if (o === 'sluice (dist)') {
        const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
        sluiceFns.set(k, (sluiceFns.get(k) ?? 0) + t);
      }
    }
    const total = [...byOwner.values()].reduce((a, b) => a + b, 0);
    console.log(`\n${mode}: ${(total / N).toFixed(1)} µs per request sampled, by owner (self time, µs per request)`);
    for (const [k, v] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(v / N).toFixed(2).padStart(7)}  ${k}`);
    console.log('  node internals, top functions:');
    for (const [k, v] of [...nodeFns].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${(v / N).toFixed(2).padStart(7)}  ${k}`);
    if (sluiceFns.size > 0) {
      console.log('  sluice, top functions:');
      for (const [k, v] of [...sluiceFns].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${(v / N).toFixed(2).padStart(7)}  ${k}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(script, { force: true });
}
