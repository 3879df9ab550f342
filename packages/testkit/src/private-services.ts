/**
 * Private RabbitMQ and Redis for the tests that disturb them (the `faults` vitest project: they stop
 * RabbitMQ's app, pause Redis, lower the broker's timeouts). Never the services a user already runs:
 *
 * - with a Docker engine: throwaway containers (testcontainers);
 * - without one (this machine, CI): a `redis-server` on a free port, and a RabbitMQ node under its own
 *   node name, ports, Erlang cookie, mnesia and log directories, management plugin off; both in a
 *   temporary directory that is removed afterwards.
 *
 * CELERITY_TEST_SERVICES=local|docker forces one way. Started once per run by the faults project's
 * globalSetup (private-services-setup.ts), which hands the URLs to the test files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

const execFileAsync = promisify(execFile);

/** How a test process reaches the private services and disturbs them; plain data (it crosses processes). */
export interface PrivateServicesInfo {
  how: 'local' | 'docker';
  amqpUrl: string;
  redisUrl: string;
  /** rabbitmqctl against the private node: a local CLI with the node's name and cookie, or `docker exec` */
  rabbitmqctl: { kind: 'local'; command: string; nodeName: string; home: string } | { kind: 'docker'; containerId: string };
}

export interface PrivateServices {
  info: PrivateServicesInfo;
  /** stops both and removes their files (or containers); runs every step even if one fails */
  stop(): Promise<void>;
}

export async function startPrivateServices(): Promise<PrivateServices> {
  const forced = process.env.CELERITY_TEST_SERVICES;
  if (forced !== undefined && forced !== 'local' && forced !== 'docker') throw new Error(`CELERITY_TEST_SERVICES must be local or docker, not "${forced}"`);
  if (forced === 'docker' || (forced === undefined && (await dockerEngineAnswers()))) return startContainers();
  return startLocal();
}

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Docker (testcontainers)

async function startContainers(): Promise<PrivateServices> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [rabbit, redis] = await Promise.all([
    new GenericContainer('rabbitmq:3.13-alpine').withExposedPorts(5672).withWaitStrategy(Wait.forLogMessage(/Server startup complete/)).withStartupTimeout(120_000).start(),
    new GenericContainer('redis:7-alpine')
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .start(),
  ]);
  return {
    info: {
      how: 'docker',
      amqpUrl: `amqp://guest:guest@${rabbit.getHost()}:${rabbit.getMappedPort(5672)}`,
      redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}/0`,
      rabbitmqctl: { kind: 'docker', containerId: rabbit.getId() },
    },
    stop: () => allSteps([() => rabbit.stop().then(() => undefined), () => redis.stop().then(() => undefined)]),
  };
}

// ---------------------------------------------------------------------------------------------------
// Local processes

async function startLocal(): Promise<PrivateServices> {
  const dir = mkdtempSync(join(tmpdir(), 'celerity-private-'));
  const [redis, rabbit] = await Promise.allSettled([startLocalRedis(join(dir, 'redis')), startLocalRabbit(join(dir, 'rabbitmq'))]);
  const stop = async () => {
    try {
      await allSteps([redis, rabbit].flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop] : [])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  if (redis.status === 'rejected' || rabbit.status === 'rejected') {
    await stop();
    throw redis.status === 'rejected' ? redis.reason : (rabbit as PromiseRejectedResult).reason;
  }
  return { info: { how: 'local', amqpUrl: rabbit.value.url, redisUrl: redis.value.url, rabbitmqctl: rabbit.value.ctl }, stop };
}

interface LocalService {
  url: string;
  stop(): Promise<void>;
}

/** A redis-server of a test's own (free port, temporary directory), for a test that disturbs it; stop() removes it. */
export async function startPrivateRedis(): Promise<LocalService> {
  const dir = mkdtempSync(join(tmpdir(), 'celerity-redis-'));
  try {
    const redis = await startLocalRedis(dir);
    return { url: redis.url, stop: () => redis.stop().finally(() => rmSync(dir, { recursive: true, force: true })) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startLocalRedis(dir: string): Promise<LocalService> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const log = join(dir, 'redis.log');
  const child = spawnLogged('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {}, log, 'Redis (redis-server)');
  const url = `redis://127.0.0.1:${port}/0`;
  await waitUntil(child, log, 'redis-server', 15_000, async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined); // not listening yet: connect() rejects, and we try again
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  });
  return { url, stop: () => stopChild(child, 'SIGTERM', 10_000) };
}

/** Debian/Ubuntu's rabbitmq-server under /usr/sbin switches to the rabbitmq user (dropping our HOME); the scripts behind it do not. */
function rabbitBinDir(): string {
  const fromEnv = process.env.RABBITMQ_SBIN;
  if (fromEnv) return fromEnv;
  return existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin' : '';
}

async function startLocalRabbit(dir: string): Promise<LocalService & { ctl: Extract<PrivateServicesInfo['rabbitmqctl'], { kind: 'local' }> }> {
  mkdirSync(dir, { recursive: true });
  const [port, distPort] = [await freePort(), await freePort()];
  const nodeName = `celerity-test-${process.pid}-${port}@localhost`;
  const bin = rabbitBinDir();
  const command = (name: string) => (bin ? join(bin, name) : name);
  // only our own files: the machine's rabbitmq-env.conf would otherwise set NODENAME and ERL_FLAGS
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n'); // no management plugin: no port of its own to collide
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const env = {
    HOME: dir, // the node's and rabbitmqctl's Erlang cookie live here, apart from any other node's
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  const log = join(dir, 'server.log');
  const child = spawnLogged(command('rabbitmq-server'), [], env, log, 'RabbitMQ (rabbitmq-server)');
  const ctl = { kind: 'local' as const, command: command('rabbitmqctl'), nodeName, home: dir };
  await waitUntil(child, log, 'rabbitmq-server', 90_000, () => tcpAnswers(port));
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    ctl,
    async stop() {
      await runRabbitmqctl(ctl, ['stop'], 60_000).catch(() => undefined);
      await stopChild(child, 'SIGTERM', 20_000);
    },
  };
}

/** Runs rabbitmqctl against a private node; resolves with its stdout. */
export async function runRabbitmqctl(ctl: PrivateServicesInfo['rabbitmqctl'], args: string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv, env] =
    ctl.kind === 'local'
      ? [ctl.command, ['-n', ctl.nodeName, ...args], { ...process.env, HOME: ctl.home }]
      : ['docker', ['exec', ctl.containerId, 'rabbitmqctl', ...args], process.env];
  const { stdout } = await execFileAsync(file, argv, { env, timeout: timeoutMs, encoding: 'utf8' });
  return stdout;
}

// ---------------------------------------------------------------------------------------------------

export function spawnLogged(command: string, args: string[], env: Record<string, string>, logFile: string, what: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') writeFileSync(logFile, `${command} not found: install ${what}, or run the tests where a Docker engine answers\n`, { flag: 'a' });
  });
  return child;
}

export async function waitUntil(child: ChildProcess, logFile: string, what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`private ${what} did not start:\n${tail(logFile)}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`private ${what} did not answer within ${timeoutMs / 1000} s:\n${tail(logFile)}`);
    }
    await sleep(200);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no output)';
  }
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const stopped = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function allSteps(steps: (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'stopping the private services');
}
