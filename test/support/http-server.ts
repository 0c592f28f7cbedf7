/**
 * A real node:http server on 127.0.0.1 for the HTTP integration tests: each test scripts its answers, and the server
 * records every request (method, path, headers, body) and tracks its sockets, so tests can check what reached it and
 * that nothing is left open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** performance.now() when the request's body had arrived. */
  readonly at: number;
}

export type Script = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest, index: number) => unknown;

export class TestServer {
  readonly requests: SeenRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private script: Script = (_req, res) => {
    res.end('ok');
  };
  private constructor(private readonly server: Server) {}

  static async start(): Promise<TestServer> {
    const server = createServer();
    const s = new TestServer(server);
    server.on('connection', (socket) => {
      s.sockets.add(socket);
      socket.on('close', () => s.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const seen: SeenRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
        const index = s.requests.push(seen) - 1;
        Promise.resolve(s.script(req, res, seen, index)).catch((e: unknown) => {
          res.destroy(e as Error);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  /** Sets how the server answers from now on (and forgets the requests seen so far). */
  answer(script: Script): void {
    this.script = script;
    this.requests.length = 0;
  }

  /** Sockets open now. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /**
   * Waits (real time, polling every 2 ms) until `cond` holds; fails after `ms`. With `pending`, the request under
   * test, it fails at once if that settles first, and says how (so a test does not wait for what can no longer come).
   */
  async until(cond: () => boolean, ms = 5000, pending?: Promise<unknown>): Promise<void> {
    const end = performance.now() + ms;
    let settled: { value: unknown } | undefined;
    pending?.then(
      (value) => (settled = { value }),
      (value: unknown) => (settled = { value }),
    );
    while (!cond()) {
      if (settled !== undefined) throw new Error(`TestServer.until: the request settled first with ${describe(settled.value)}; requests seen: ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
      if (performance.now() > end) throw new Error(`TestServer.until: condition not met in ${ms} ms; requests seen: ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function describe(x: unknown): string {
  if (x instanceof Error) return `${x.name}: ${x.message}${x.cause === undefined ? '' : ` (cause: ${String((x.cause as Error)?.message ?? x.cause)})`}`;
  return String(x);
}

/** Answers with `status`, `headers` and `body`. */
export function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}
