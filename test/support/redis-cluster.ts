/**
 * A real Redis Cluster for the tests: three `redis-server` masters in cluster mode on free loopback ports, joined
 * with `redis-cli --cluster create` (both from the redis-server package), their cluster state in a temporary folder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server.js';

const run = promisify(execFile);

export class RedisCluster {
  private constructor(
    readonly nodes: readonly RedisServer[],
    private readonly dir: string,
  ) {}

  static async start(size = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-cluster-'));
    const nodes = await Promise.all(
      Array.from({ length: size }, (_, i) => RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--dir', dir])),
    );
    const cluster = new RedisCluster(nodes, dir);
    try {
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
      // Until every node agrees that all 16 384 slots are served.
      for (const n of nodes) {
        for (let i = 0; ; i++) {
          const { stdout } = await run('redis-cli', ['-p', String(n.port), 'CLUSTER', 'INFO']);
          if (/cluster_state:ok/.test(stdout)) break;
          if (i > 200) throw new Error(`cluster node ${n.port} not ready: ${stdout}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
