/**
 * A throwaway Redis Cluster of three masters for the store's tests: `redis-server` processes in
 * cluster mode on free ports of 127.0.0.1 (client and bus port each), joined by
 * `redis-cli --cluster create`, in a temporary directory that `stop()` removes with them.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { allSteps, spawnLogged, stopChild, waitUntil } from './private-services.js';

const execFileAsync = promisify(execFile);

export interface RedisClusterUnderTest {
  /** host:port of every master, as REDIS_CLUSTER_NODES takes them */
  nodes: string[];
  /** stops every node and removes their files; runs every step even if one fails */
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'celerity-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    try {
      await allSteps(children.map((child) => () => stopChild(child, 'SIGTERM', 10_000)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const nodes: string[] = [];
    for (let i = 0; i < masters; i += 1) {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir);
      const [port, busPort] = [await freePort(), await freePort()];
      const log = join(nodeDir, 'redis.log');
      // the bus port is chosen too: port + 10000 (the default) may be taken or out of range
      const args = ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
      args.push('--cluster-config-file', join(nodeDir, 'nodes.conf'), '--save', '', '--appendonly', 'no', '--dir', nodeDir);
      const child = spawnLogged('redis-server', args, {}, log, 'Redis (redis-server)');
      children.push(child);
      await waitUntil(child, log, 'redis-server (cluster node)', 15_000, () => answers(port, (r) => r.ping().then((p) => p === 'PONG')));
      nodes.push(`127.0.0.1:${port}`);
    }
    await execFileAsync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    // every node must agree before a client's first command (else MOVED/CLUSTERDOWN while gossip settles)
    for (const [i, node] of nodes.entries()) {
      const port = Number(node.split(':')[1]);
      await waitUntil(children[i]!, join(dir, `node-${i}`, 'redis.log'), 'redis cluster', 30_000, () =>
        answers(port, async (r) => /cluster_state:ok/.test(await r.cluster('INFO'))),
      );
    }
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function answers(port: number, check: (redis: Redis) => Promise<boolean>): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // not listening yet: connect() rejects, and we try again
  try {
    await client.connect();
    return await check(client);
  } finally {
    client.disconnect();
  }
}
