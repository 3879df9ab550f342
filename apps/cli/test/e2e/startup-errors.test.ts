/** What a newcomer sees when RabbitMQ or Redis is not there, or says no: one line, no stack, exit 1. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { freePort, testAmqpUrl, testRedisUrl } from '@celerity/testkit';

const CLI = new URL('../../dist/main.js', import.meta.url).pathname;
const ROOT = new URL('../../../../', import.meta.url).pathname;

/** Runs `celerity start` at the default log level until it exits; its output, split in lines. */
async function startFails(env: Record<string, string>): Promise<string[]> {
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(await freePort()), RABBITMQ_URL: testAmqpUrl(), REDIS_URL: testRedisUrl(), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, text).toBe(1);
  return text.trim().split('\n');
}

const withUserInfo = (url: string, userInfo: string, path = '') => {
  const u = new URL(url);
  const [user, password] = userInfo.split(':');
  u.username = user ?? '';
  u.password = password ?? '';
  if (path) u.pathname = path;
  return u.toString();
};

describe('start-up errors (spawned celerity start)', () => {
  it('wrong RabbitMQ password: "refused … wrong user/password or vhost", not "not reachable"', async () => {
    const lines = await startFails({ RABBITMQ_URL: withUserInfo(testAmqpUrl(), 'guest:not-the-password') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^celerity: RabbitMQ at amqp:\/\/[^@]+ refused the connection: wrong user\/password or vhost in RABBITMQ_URL/);
    expect(lines[0]).toContain('ACCESS-REFUSED');
    expect(lines[0]).not.toContain('not-the-password');
  });

  it('a vhost that does not exist: the same refusal', async () => {
    const lines = await startFails({ RABBITMQ_URL: withUserInfo(testAmqpUrl(), `${new URL(testAmqpUrl()).username}:${new URL(testAmqpUrl()).password}`, '/no-such-vhost') });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^celerity: RabbitMQ at amqp:\/\/\S+\/no-such-vhost refused the connection: wrong user\/password or vhost/);
  });

  it('Redis not reachable: one line with how to start it, no JSON log line with a stack before it', async () => {
    const lines = await startFails({ REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^celerity: Redis is not reachable at redis:\/\/127\.0\.0\.1:\d+\/0: start it with `redis-server/);
  });

  it('a Redis database the server does not have: refused at start-up, not silently database 0', async () => {
    const url = new URL(testRedisUrl());
    url.pathname = '/999';
    const lines = await startFails({ REDIS_URL: url.toString() });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^celerity: Redis at redis:\/\/\S+\/999 refused the connection: wrong password, user or database number in REDIS_URL .*DB index is out of range/);
  });
});
