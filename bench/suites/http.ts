/**
 * HTTP: what the wrappers add to a loopback request. A node:http server in a child process (so its work does not
 * share this process's event loop) answers `200 ok` at once; each row awaits one request and reads its body, in a
 * sequential loop. Three suites, one per client, each against its own bare client as the floor:
 * - `http-fetch`: the global fetch, `protectFetch(fetch)` (every default policy per origin), and ky 1 with its retry;
 * - `http-undici`: `undici.request` through an Agent, the same Agent composed with `sluiceInterceptor()`, and with
 *   undici's own retry interceptor;
 * - `http-axios`: axios's node adapter bare and wrapped in `axiosAdapter()`.
 * Target: the sluice row within 3 % of its bare client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import axios from 'axios';
import ky from 'ky';
import { Agent, interceptors, request } from 'undici';
import { asyncTask, type Suite } from '../harness.js';

// The built package (dist/, from `npm run build`) when there is one: the HTTP wrappers make a few closures per
// request, and tsx, which runs the sources for the other suites, wraps every closure it creates in a naming helper
// (esbuild's keepNames), which adds about 2 µs per request here. Users run the build.
const DIST = existsSync(new URL('../../dist/fetch/index.js', import.meta.url));
const from = (built: string, source: string): Promise<unknown> => import(DIST ? built : source);
const { protectFetch } = (await from('../../dist/fetch/index.js', '../../src/http/fetch.js')) as typeof import('../../src/http/fetch.js');
const { sluiceInterceptor } = (await from('../../dist/undici/index.js', '../../src/http/undici.js')) as typeof import('../../src/http/undici.js');
const { axiosAdapter } = (await from('../../dist/axios/index.js', '../../src/http/axios.js')) as typeof import('../../src/http/axios.js');
const BUILD_NOTE = DIST ? 'sluice loaded from the build (dist/).' : 'dist/ missing: sluice loaded from the sources through tsx (run `npm run build` for the figures users get).';

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }); res.end('ok'); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

let child: ChildProcess | undefined;
/** Starts the server child once; it exits when this process's end of its stdin closes. */
async function serverUrl(): Promise<string> {
  const c = (child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const port = await new Promise<string>((resolve, reject) => {
    c.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    c.once('error', reject);
  });
  // From now on the child must not keep this process alive (a run of other suites never disposes this one).
  c.unref();
  (c.stdout as unknown as { unref?: () => void }).unref?.();
  (c.stdin as unknown as { unref?: () => void }).unref?.();
  return `http://127.0.0.1:${port}/`;
}

const url = await serverUrl();
process.once('exit', () => child?.kill());

/**
 * Request latency on loopback drifts by tens of percent over a run (connection reuse, CPU frequency, the other
 * process), more than the few percent a wrapper adds, so back-to-back rows cannot resolve a 3 % target. This runs the
 * variants interleaved: each round runs a block of sequential requests per variant (in rotated order), and the ratio
 * of each variant to the bare client is taken within the round; the table gives the median over rounds.
 */
async function interleaved(title: string, variants: readonly (readonly [string, () => Promise<unknown>])[], target: string, rounds = 60, block = 40): Promise<string[]> {
  const means = variants.map(() => [] as number[]);
  const ratios = variants.map(() => [] as number[]);
  for (const [, f] of variants) for (let i = 0; i < 200; i++) await f(); // warm every connection pool
  for (let r = 0; r < rounds; r++) {
    const round = new Array<number>(variants.length);
    for (let k = 0; k < variants.length; k++) {
      const v = (k + r) % variants.length;
      const f = variants[v]![1];
      const t0 = performance.now();
      for (let i = 0; i < block; i++) await f();
      round[v] = ((performance.now() - t0) * 1000) / block;
    }
    for (let v = 0; v < variants.length; v++) {
      means[v]!.push(round[v]!);
      ratios[v]!.push(round[v]! / round[0]!);
    }
  }
  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  };
  const lines = [
    '',
    `**${title}**, interleaved: ${rounds} rounds × ${block} sequential requests per variant, ratio to the bare client taken within each round.`,
    '',
    '| variant | µs per request (median of rounds) | × bare (median) | × bare (p25–p75) |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (let v = 0; v < variants.length; v++) {
    lines.push(`| ${variants[v]![0]} | ${q(means[v]!, 0.5).toFixed(1)} | ${q(ratios[v]!, 0.5).toFixed(3)} | ${q(ratios[v]!, 0.25).toFixed(3)}–${q(ratios[v]!, 0.75).toFixed(3)} |`);
  }
  const t = variants.findIndex(([n]) => n === target);
  const ratio = q(ratios[t]!, 0.5);
  lines.push('', `${ratio <= 1.03 ? 'MET' : 'MISSED'}: ${target} ≤ 1.03× the bare client (interleaved median ${ratio.toFixed(3)}×)`);
  return lines;
}

// ---- fetch --------------------------------------------------------------------------------------------------------
const api = protectFetch(fetch);
const kyRetry = ky.create({ retry: { limit: 2 } });

const BATCH = 200;
const fetchSuite: Suite = {
  name: 'http-fetch',
  title: 'HTTP: fetch to a loopback server',
  floor: 'fetch(url)',
  allocations: false,
  tasks: [
    asyncTask('fetch(url)', () => fetch(url).then((r) => r.text()), { role: 'floor', batch: BATCH, note: 'Node global fetch, body read as text: the bare request.' }),
    asyncTask('protectFetch(fetch)(url)', () => api(url).then((r) => r.text()), {
      batch: BATCH,
      note: 'every default per-origin policy: retry (token budget), breaker, cooldown gate, pacing bucket, adaptive limiter, 30 s attempt timeout; headers read for Retry-After, RateLimit and load factor.',
    }),
    asyncTask('ky (retry: 2)', () => kyRetry.get(url).text(), { role: 'peer', batch: BATCH, note: 'ky 1 on the global fetch, retry limit 2 (its default timeout of 10 s included).' }),
  ],
  notes: [
    'Figures are per request. The server runs in a child process; the round trip dominates, so the ratios show what each wrapper adds to a real request.',
    BUILD_NOTE,
    'Rows run one after the other and loopback latency drifts between them; the interleaved table below is the one to read for the 3 % target.',
  ],
  extra: () =>
    interleaved(
      'fetch',
      [
        ['fetch(url)', () => fetch(url).then((r) => r.text())],
        // The floor of any per-attempt timeout that can abort a fetch: the request needs a signal of its own.
        ['fetch(url, { signal }) (a fresh AbortController)', () => fetch(url, { signal: new AbortController().signal }).then((r) => r.text())],
        ['protectFetch(fetch)(url)', () => api(url).then((r) => r.text())],
        ['ky (retry: 2)', () => kyRetry.get(url).text()],
      ],
      'protectFetch(fetch)(url)',
    ),
  dispose: () => {
    api.dispose();
  },
};

// ---- undici -------------------------------------------------------------------------------------------------------
const bare = new Agent();
const sluiced = new Agent().compose(sluiceInterceptor());
const retried = new Agent().compose(interceptors.retry({ maxRetries: 2 }));
// The floor of any interceptor: one that passes every request straight on.
const noop = new Agent().compose((dispatch) => (opts, handler) => dispatch(opts, handler));

const undiciSuite: Suite = {
  name: 'http-undici',
  title: 'HTTP: undici.request to a loopback server',
  floor: 'request(url) (Agent)',
  allocations: false,
  tasks: [
    asyncTask('request(url) (Agent)', () => request(url, { dispatcher: bare }).then((r) => r.body.text()), { role: 'floor', batch: BATCH, note: 'undici 7 request through a plain Agent, body read as text.' }),
    asyncTask('Agent.compose(sluiceInterceptor())', () => request(url, { dispatcher: sluiced }).then((r) => r.body.text()), { batch: BATCH, note: 'the same Agent with every default per-origin policy.' }),
    asyncTask('Agent.compose(interceptors.retry())', () => request(url, { dispatcher: retried }).then((r) => r.body.text()), { role: 'peer', batch: BATCH, note: "undici's own retry interceptor, maxRetries 2." }),
  ],
  extra: () =>
    interleaved(
      'undici',
      [
        ['request(url) (Agent)', () => request(url, { dispatcher: bare }).then((r) => r.body.text())],
        ['Agent.compose(no-op interceptor)', () => request(url, { dispatcher: noop }).then((r) => r.body.text())],
        ['Agent.compose(sluiceInterceptor())', () => request(url, { dispatcher: sluiced }).then((r) => r.body.text())],
        ['Agent.compose(interceptors.retry())', () => request(url, { dispatcher: retried }).then((r) => r.body.text())],
      ],
      'Agent.compose(sluiceInterceptor())',
    ),
  dispose: () => {
    void bare.close();
    void noop.close();
    void sluiced.close();
    void retried.close();
  },
};

// ---- axios --------------------------------------------------------------------------------------------------------
const plainAxios = axios.create();
const adapter = axiosAdapter(axios.getAdapter('http'));
const sluicedAxios = axios.create({ adapter });

const axiosSuite: Suite = {
  name: 'http-axios',
  title: 'HTTP: axios to a loopback server',
  floor: 'axios.get(url)',
  allocations: false,
  tasks: [
    asyncTask('axios.get(url)', () => plainAxios.get(url), { role: 'floor', batch: BATCH, note: "axios 1 with its node http adapter." }),
    asyncTask('axios + axiosAdapter()', () => sluicedAxios.get(url), { batch: BATCH, note: 'the same adapter wrapped with every default per-origin policy.' }),
  ],
  extra: () =>
    interleaved(
      'axios',
      [
        ['axios.get(url)', () => plainAxios.get(url)],
        ['axios + axiosAdapter()', () => sluicedAxios.get(url)],
      ],
      'axios + axiosAdapter()',
    ),
  dispose: () => {
    adapter.dispose();
  },
};

// ---- the wrappers alone ---------------------------------------------------------------------------------------------
/** A response that is there at once: the fetch double's, so that only the wrapper's own work is timed. */
const fakeResponse = { status: 200, statusText: 'OK', headers: { get: (): null => null, forEach: (): void => {} }, body: null };
const instantFetch = (_input: unknown, _init?: unknown): Promise<typeof fakeResponse> => Promise.resolve(fakeResponse);
const wrappedInstant = protectFetch(instantFetch);
const noAttemptTimeout = protectFetch(instantFetch, { attemptTimeoutMs: Infinity });
const allOff = protectFetch(instantFetch, { retry: false, breaker: false, cooldown: false, pacing: false, concurrency: false, loadFactor: false, attemptTimeoutMs: Infinity });
const fakeAxiosResponse = { status: 200, statusText: 'OK', headers: {}, data: 'ok', config: {} };
const instantAdapter = (): Promise<typeof fakeAxiosResponse> => Promise.resolve(fakeAxiosResponse);
const wrappedAdapter = axiosAdapter(instantAdapter as never);
const axiosConfig = { url: 'http://127.0.0.1:1/', method: 'get', headers: {} } as never;

const overheadSuite: Suite = {
  name: 'http-overhead',
  title: "HTTP: the wrappers' own work, without a network",
  floor: 'instant fetch double',
  tasks: [
    asyncTask('instant fetch double', () => instantFetch('http://127.0.0.1:1/'), { role: 'floor', note: 'a fetch-compatible function that resolves a ready response at once.' }),
    asyncTask('protectFetch(instant double)', () => wrappedInstant('http://127.0.0.1:1/'), { note: 'every default per-origin policy, URL parsing, per-request state, response headers read.' }),
    asyncTask('protectFetch(instant double), attemptTimeoutMs: Infinity', () => noAttemptTimeout('http://127.0.0.1:1/'), { note: 'every default policy but the attempt timeout (so no AbortController per attempt).' }),
    asyncTask('protectFetch(instant double), every policy off', () => allOff('http://127.0.0.1:1/'), { note: 'the engine alone: key, request state, response judged, no policy.' }),
    asyncTask('axiosAdapter(instant adapter)', () => wrappedAdapter(axiosConfig), { note: 'the same for an axios adapter that resolves at once.' }),
  ],
  notes: ['What the wrapper itself costs per request, in CPU time: divide by a request’s latency (the tables above) for its share.', BUILD_NOTE],
  dispose: () => {
    wrappedInstant.dispose();
    noAttemptTimeout.dispose();
    allOff.dispose();
    wrappedAdapter.dispose();
  },
};

export { fetchSuite, undiciSuite, axiosSuite, overheadSuite };
