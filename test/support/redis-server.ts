/**
 * A real `redis-server` for the Redis tests, started from the binary on PATH on a free loopback port, with no
 * persistence. It can be stopped and started again on the same port (Redis down mid-run), paused (`DEBUG SLEEP`
 * holds every reply), and is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `PING` on `port` answers `+PONG`; rejects after `timeoutMs`. */
async function waitForPong(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      let buf = '';
      sock.once('error', () => resolve(false));
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) {
          sock.destroy();
          resolve(buf.startsWith('+PONG'));
        }
      });
      sock.once('connect', () => sock.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class RedisServer {
  private proc: ChildProcess | undefined;
  /** The loopback port, chosen by {@link boot} (0 before). */
  port = 0;
  /** `extraArgs`: more redis-server options (a cluster node's, for example). */
  private constructor(private readonly extraArgs: readonly string[] = []) {}

  /** A server started now on a free port. */
  static async start(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const s = new RedisServer(extraArgs);
    await s.boot();
    return s;
  }

  /** A server to {@link boot} later (from a test file's `beforeAll`). */
  static unstarted(extraArgs: readonly string[] = []): RedisServer {
    return new RedisServer(extraArgs);
  }

  /** Starts the server on a free port. */
  async boot(): Promise<void> {
    this.port = await freePort();
    await this.launch();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local', ...this.extraArgs];
    const proc = spawn('redis-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d) => (stderr += String(d)));
    const spawnError = new Promise<never>((_, reject) => proc.once('error', (e) => reject(new Error(`could not start redis-server (is it on PATH? .ci/run installs it): ${e.message}`))));
    live.add(proc);
    this.proc = proc;
    proc.once('exit', () => live.delete(proc));
    try {
      await Promise.race([waitForPong(this.port), spawnError]);
    } catch (e) {
      proc.kill('SIGKILL');
      throw new Error(`${(e as Error).message}${stderr ? `\n${stderr}` : ''}`);
    }
  }

  /** Stops the server (SIGKILL: as abrupt as a crash) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p === undefined) return;
    this.proc = undefined;
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL');
      await exited;
    }
  }

  /** Starts it again on the same port (empty: nothing was persisted). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }
}
