/**
 * "Where the time goes", counted: Redis INFO commandstats (per command name, server-wide), RabbitMQ's
 * per-connection socket counters (rabbitmqctl list_connections recv_cnt/send_cnt), and the kernel's
 * per-socket counters (ss -ti data_segs_out/in) for each connection of the processes we started.
 * Connections are matched by local port, so other clients of the same broker and Redis do not count.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';

const run = promisify(execFile);

export interface SocketCounters {
  /** TCP segments carrying data, client → server: one per write the kernel did not coalesce */
  dataSegsOut: number;
  dataSegsIn: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface RabbitConnection {
  /** the connection_name client property: celerity-api, celerity-worker:<host>:<pid> */
  name: string;
  /** packets the broker received from / sent to this connection (rabbitmqctl recv_cnt / send_cnt) */
  recvCnt: number;
  sendCnt: number;
  recvOct: number;
  sendOct: number;
}

export interface Snapshot {
  at: number;
  redisCommands: Record<string, number>;
  redisConnectionsReceived: number;
  /** by peer (client) port */
  rabbit: Map<number, RabbitConnection>;
  /** by pid, then the socket's local port */
  sockets: Map<number, { redis: Map<number, SocketCounters>; amqp: Map<number, SocketCounters> }>;
}

export interface Endpoints {
  redisPort: number;
  amqpPort: number;
}

export function endpointsFromEnv(redisUrl: string, amqpUrl: string): Endpoints {
  return { redisPort: Number(new URL(redisUrl).port || 6379), amqpPort: Number(new URL(amqpUrl).port || 5672) };
}

export async function redisCommandStats(redis: Redis): Promise<Record<string, number>> {
  const text = await redis.info('commandstats');
  const stats: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[match[1]!] = Number(match[2]);
  return stats;
}

async function redisConnectionsReceived(redis: Redis): Promise<number> {
  const text = await redis.info('stats');
  return Number(/^total_connections_received:(\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

export interface RedisClientInfo {
  id: number;
  port: number;
  name: string;
  idleSeconds: number;
  ageSeconds: number;
}

export async function redisClients(redis: Redis): Promise<RedisClientInfo[]> {
  const text = (await redis.client('LIST')) as string;
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      return { id: Number(f.id), port: Number(f.addr?.split(':').at(-1)), name: f.name ?? '', idleSeconds: Number(f.idle), ageSeconds: Number(f.age) };
    });
}

async function rabbitConnections(): Promise<Map<number, RabbitConnection>> {
  const columns = ['peer_port', 'recv_cnt', 'send_cnt', 'recv_oct', 'send_oct', 'client_properties'];
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', ...columns], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  const connections = new Map<number, RabbitConnection>();
  for (const line of stdout.split('\n')) {
    const [port, recvCnt, sendCnt, recvOct, sendOct] = line.split('\t', 5).map(Number);
    const name = /\{"connection_name","([^"]*)"\}/.exec(line)?.[1] ?? '';
    if (port && Number.isFinite(recvCnt)) connections.set(port, { name, recvCnt: recvCnt!, sendCnt: sendCnt!, recvOct: recvOct!, sendOct: sendOct! });
  }
  return connections;
}

/** Established TCP connections to `remotePort`, by owning pid and local port, with the kernel's counters. */
async function tcpSockets(remotePort: number, pids: ReadonlySet<number>): Promise<Map<number, Map<number, SocketCounters>>> {
  const { stdout } = await run('ss', ['-tinpH', 'state', 'established', `( dport = :${remotePort} )`], { timeout: 10_000 });
  const byPid = new Map<number, Map<number, SocketCounters>>();
  // each socket: a line with addresses and users:((…pid=N…)), then an indented line of tcp_info
  const blocks = stdout.split(/\n(?=\S)/);
  for (const block of blocks) {
    const pid = Number(/pid=(\d+)/.exec(block)?.[1]);
    const localPort = Number(/:(\d+)\s+\S+:\d+\s+users:/.exec(block)?.[1]);
    if (!pids.has(pid) || !localPort) continue;
    const num = (name: string): number => Number(new RegExp(`\\b${name}:(\\d+)`).exec(block)?.[1] ?? 0);
    const counters = { dataSegsOut: num('data_segs_out'), dataSegsIn: num('data_segs_in'), bytesSent: num('bytes_sent'), bytesReceived: num('bytes_received') };
    if (!byPid.has(pid)) byPid.set(pid, new Map());
    byPid.get(pid)!.set(localPort, counters);
  }
  return byPid;
}

export async function takeSnapshot(redis: Redis, endpoints: Endpoints, pids: readonly number[]): Promise<Snapshot> {
  const pidSet = new Set(pids);
  const [rabbit, redisSockets, amqpSockets] = await Promise.all([rabbitConnections(), tcpSockets(endpoints.redisPort, pidSet), tcpSockets(endpoints.amqpPort, pidSet)]);
  const sockets: Snapshot['sockets'] = new Map();
  for (const pid of pids) sockets.set(pid, { redis: redisSockets.get(pid) ?? new Map(), amqp: amqpSockets.get(pid) ?? new Map() });
  // Redis last: taken right before a window opens; after one closes our processes are idle, so the order does not matter
  const redisConnections = await redisConnectionsReceived(redis);
  const redisCommands = await redisCommandStats(redis);
  return { at: Date.now(), redisCommands, redisConnectionsReceived: redisConnections, rabbit, sockets };
}

/** Redis commands the bench itself sends inside a window; subtracted from the server-wide counts. */
export type OwnCommands = Record<string, number>;

export interface ProcessTraffic {
  name: string;
  pid: number;
  /** packets the broker received from / sent to this process's AMQP connection, per task */
  amqpRecvPerTask: number;
  amqpSendPerTask: number;
  amqpBytesPerTask: number;
  /** client-side data segments written to / read from Redis, per task (all the process's Redis connections) */
  redisWritesPerTask: number;
  redisReadsPerTask: number;
  redisBytesPerTask: number;
  raw: { amqp: RabbitConnection | undefined; amqpSocket: SocketCounters; redisSockets: SocketCounters };
}

export interface WindowCounters {
  tasks: number;
  seconds: number;
  /** server-wide INFO commandstats deltas per task, the bench's own commands subtracted; commands run inside Lua scripts are counted too */
  redisCommandsPerTask: Record<string, number>;
  redisCommandsPerTaskTotal: number;
  processes: ProcessTraffic[];
  /** false when other Redis clients were active in the window, so the command counts include their traffic */
  redisExclusive: boolean;
  redisOthers: string[];
}

const BENCH_ONLY = new Set(['info', 'client|list', 'client|id']);

export function diffWindow(
  before: Snapshot,
  after: Snapshot,
  processes: readonly { name: string; pid: number }[],
  tasks: number,
  own: OwnCommands,
  others: { clientsActive: string[] },
): WindowCounters {
  const perTask = (v: number): number => v / tasks;
  const commands: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after.redisCommands)) {
    if (BENCH_ONLY.has(name)) continue;
    const delta = calls - (before.redisCommands[name] ?? 0) - (own[name] ?? 0);
    if (delta <= 0) continue;
    commands[name] = perTask(delta);
    total += delta;
  }
  const traffic = processes.map((p): ProcessTraffic => {
    const sum = (snapshot: Snapshot, kind: 'redis' | 'amqp'): SocketCounters => {
      const total: SocketCounters = { dataSegsOut: 0, dataSegsIn: 0, bytesSent: 0, bytesReceived: 0 };
      for (const c of snapshot.sockets.get(p.pid)?.[kind].values() ?? []) {
        total.dataSegsOut += c.dataSegsOut;
        total.dataSegsIn += c.dataSegsIn;
        total.bytesSent += c.bytesSent;
        total.bytesReceived += c.bytesReceived;
      }
      return total;
    };
    const minus = (a: SocketCounters, b: SocketCounters): SocketCounters => ({
      dataSegsOut: a.dataSegsOut - b.dataSegsOut,
      dataSegsIn: a.dataSegsIn - b.dataSegsIn,
      bytesSent: a.bytesSent - b.bytesSent,
      bytesReceived: a.bytesReceived - b.bytesReceived,
    });
    const redisSockets = minus(sum(after, 'redis'), sum(before, 'redis'));
    const amqpSocket = minus(sum(after, 'amqp'), sum(before, 'amqp'));
    const amqpPorts = [...(after.sockets.get(p.pid)?.amqp.keys() ?? [])];
    let amqp: RabbitConnection | undefined;
    for (const port of amqpPorts) {
      const a = after.rabbit.get(port);
      const b = before.rabbit.get(port);
      if (!a || !b) continue;
      amqp = {
        name: a.name,
        recvCnt: (amqp?.recvCnt ?? 0) + a.recvCnt - b.recvCnt,
        sendCnt: (amqp?.sendCnt ?? 0) + a.sendCnt - b.sendCnt,
        recvOct: (amqp?.recvOct ?? 0) + a.recvOct - b.recvOct,
        sendOct: (amqp?.sendOct ?? 0) + a.sendOct - b.sendOct,
      };
    }
    return {
      name: p.name,
      pid: p.pid,
      amqpRecvPerTask: amqp ? perTask(amqp.recvCnt) : Number.NaN,
      amqpSendPerTask: amqp ? perTask(amqp.sendCnt) : Number.NaN,
      amqpBytesPerTask: amqp ? perTask(amqp.recvOct + amqp.sendOct) : Number.NaN,
      redisWritesPerTask: perTask(redisSockets.dataSegsOut),
      redisReadsPerTask: perTask(redisSockets.dataSegsIn),
      redisBytesPerTask: perTask(redisSockets.bytesSent + redisSockets.bytesReceived),
      raw: { amqp, amqpSocket, redisSockets },
    };
  });

  const connectionsByOthers = after.redisConnectionsReceived - before.redisConnectionsReceived;
  const redisOthers = [...others.clientsActive];
  if (connectionsByOthers > 0) redisOthers.push(`${connectionsByOthers} new connection(s)`);
  return {
    tasks,
    seconds: (after.at - before.at) / 1000,
    redisCommandsPerTask: commands,
    redisCommandsPerTaskTotal: perTask(total),
    processes: traffic,
    redisExclusive: redisOthers.length === 0,
    redisOthers,
  };
}

/**
 * Other Redis clients that ran a command within the last `seconds` (CLIENT LIST idle), i.e. during
 * the window: their commands are in the server-wide counts too.
 */
export async function otherRedisActivity(redis: Redis, ourPorts: ReadonlySet<number>, benchClientId: number, seconds: number): Promise<string[]> {
  const clients = await redisClients(redis);
  return clients
    .filter((c) => c.id !== benchClientId && !ourPorts.has(c.port) && c.idleSeconds < seconds)
    .map((c) => `${c.name || 'unnamed'}#${c.id} (idle ${c.idleSeconds} s)`);
}
