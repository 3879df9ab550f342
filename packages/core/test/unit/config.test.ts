import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  // DESIGN.md's table, except the worker's in-flight settings: they default for async I/O-bound jobs
  // (the common case), see docs/benchmarks.md "short tasks / long tasks"
  it('matches the DESIGN.md table for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      HOST: '127.0.0.1',
      PORT: 3000,
      JOBS_ROOT: 'examples/jobs',
      RESULT_EXPIRES: 86_400,
      TASK_SOFT_TIME_LIMIT: 540,
      TASK_TIME_LIMIT: 600,
      TASK_MAX_RETRIES: 3,
      TASK_RETRY_DELAY: 60,
      TASK_RETRY_DELAY_MAX: 600,
      WORKER_CONCURRENCY: 64,
      WORKER_THREADS: 1,
      WORKER_PREFETCH: 2,
      LOG_LEVEL: 'info',
    });
    expect(config.API_KEYS).toBeUndefined();
    expect(config.WORKER_QUEUES).toBeUndefined();
    expect(config.WORKER_MAX_TASKS_PER_CHILD).toBeUndefined();
    expect(config.NAMESPACE).toBeUndefined();
    expect(config.CELERITY_CONFIG).toBeUndefined();
    expect(config.jobsRoot).toBe(resolve('examples/jobs'));
    expect(config.file).toEqual({ queues: [], routes: [], schedules: [] });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats an empty string as "use the default"', () => {
    const config = loadConfig({ PORT: '', RESULT_EXPIRES: '', HOST: '', API_KEYS: '', WORKER_MAX_TASKS_PER_CHILD: '' });
    expect(config.PORT).toBe(3000);
    expect(config.RESULT_EXPIRES).toBe(86_400);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.API_KEYS).toBeUndefined();
    expect(config.WORKER_MAX_TASKS_PER_CHILD).toBeUndefined();
  });

  it('coerces numbers and splits lists', () => {
    const config = loadConfig({ PORT: '8080', WORKER_QUEUES: 'default, high_priority,,', TASK_MAX_RETRIES: '0' });
    expect(config.PORT).toBe(8080);
    expect(config.WORKER_QUEUES).toEqual(['default', 'high_priority']);
    expect(config.TASK_MAX_RETRIES).toBe(0);
  });
});

describe('loadConfig refusals', () => {
  it('names every bad variable in one ConfigError', () => {
    const err = configError({ PORT: 'abc', RESULT_EXPIRES: '-1', REDIS_URL: 'http://x' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('PORT');
    expect(err.message).toContain('RESULT_EXPIRES');
    expect(err.message).toContain('REDIS_URL');
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', '3000.5'],
    ['RESULT_EXPIRES', '0'],
    ['TASK_TIME_LIMIT', 'soon'],
    ['RABBITMQ_URL', 'localhost:5672'],
    ['LOG_LEVEL', 'verbose'],
    ['NAMESPACE', 'Has Spaces'],
  ])('refuses %s=%j', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  it('reads REDIS_CLUSTER_NODES as host:port seeds, unset by default, and refuses anything else', () => {
    expect(loadConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:6379, redis-2.internal:7000' }).REDIS_CLUSTER_NODES).toEqual(['10.0.0.1:6379', 'redis-2.internal:7000']);
    expect(configError({ REDIS_CLUSTER_NODES: '10.0.0.1' }).message).toContain('REDIS_CLUSTER_NODES');
    expect(configError({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379' }).message).toContain('REDIS_CLUSTER_NODES');
  });

  it('requires API_KEYS when HOST is not loopback', () => {
    const err = configError({ HOST: '0.0.0.0' });
    expect(err.message).toContain('API_KEYS');
    expect(configError({ HOST: '0.0.0.0', API_KEYS: ' , ' }).message).toContain('API_KEYS');
  });

  it('names a missing API_KEYS together with other bad variables', () => {
    const message = configError({ HOST: '0.0.0.0', PORT: 'abc' }).message;
    expect(message).toContain('PORT');
    expect(message).toContain('API_KEYS');
  });

  it('does not take a host name that merely starts with "127." for loopback', () => {
    expect(configError({ HOST: '127.evil.example' }).message).toContain('API_KEYS');
  });

  it('accepts a public HOST with API_KEYS and trims the keys', () => {
    const config = loadConfig({ HOST: '0.0.0.0', API_KEYS: 'a, b' });
    expect(config.API_KEYS).toEqual(['a', 'b']);
  });

  it('accepts loopback hosts without API_KEYS', () => {
    expect(loadConfig({ HOST: 'localhost' }).HOST).toBe('localhost');
    expect(loadConfig({ HOST: '::1' }).HOST).toBe('::1');
    expect(loadConfig({ HOST: '127.0.0.2' }).HOST).toBe('127.0.0.2');
  });

  it('refuses TASK_SOFT_TIME_LIMIT above TASK_TIME_LIMIT', () => {
    const err = configError({ TASK_SOFT_TIME_LIMIT: '601' });
    expect(err.message).toContain('TASK_SOFT_TIME_LIMIT');
    expect(err.message).toContain('must not exceed TASK_TIME_LIMIT');
    expect(loadConfig({ TASK_SOFT_TIME_LIMIT: '600' }).TASK_SOFT_TIME_LIMIT).toBe(600);
  });

  it('refuses TASK_RETRY_DELAY above TASK_RETRY_DELAY_MAX', () => {
    expect(configError({ TASK_RETRY_DELAY: '10', TASK_RETRY_DELAY_MAX: '5' }).message).toContain('TASK_RETRY_DELAY');
  });
});

describe('CELERITY_CONFIG file', () => {
  const dirs: string[] = [];
  const writeConfig = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'celerity-config-'));
    dirs.push(dir);
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads queues and routes from a JSON file', () => {
    const path = writeConfig(
      'celerity.json',
      JSON.stringify({
        queues: [{ name: 'gpu', max_priority: 3, default_priority: 2 }],
        routes: [{ match: 'ml.*', queue: 'gpu', priority: 3 }],
      }),
    );
    expect(loadConfig({ CELERITY_CONFIG: path }).file).toEqual({
      queues: [{ name: 'gpu', max_priority: 3, default_priority: 2 }],
      routes: [{ match: 'ml.*', queue: 'gpu', priority: 3 }],
      schedules: [],
    });
  });

  it('reads queues and routes from a YAML file', () => {
    const path = writeConfig(
      'celerity.yaml',
      ['queues:', '  - name: emails', '    max_priority: 5', '    default_priority: 1', 'routes:', '  - match: "mail.**"', '    queue: emails', ''].join('\n'),
    );
    expect(loadConfig({ CELERITY_CONFIG: path }).file).toEqual({
      queues: [{ name: 'emails', max_priority: 5, default_priority: 1 }],
      routes: [{ match: 'mail.**', queue: 'emails' }],
      schedules: [],
    });
  });

  it('treats an empty YAML file as no extra queues or routes', () => {
    const path = writeConfig('empty.yml', '');
    expect(loadConfig({ CELERITY_CONFIG: path }).file).toEqual({ queues: [], routes: [], schedules: [] });
  });

  it('refuses an unknown key and names the file', () => {
    const path = writeConfig('typo.json', JSON.stringify({ queues: [], rutes: [] }));
    const err = configError({ CELERITY_CONFIG: path });
    expect(err.message).toContain(path);
    expect(err.message).toContain('rutes');
  });

  it('refuses a bad queue and names the file', () => {
    const path = writeConfig('bad.yaml', 'queues:\n  - name: Bad-Name\n    max_priority: 20\n    default_priority: 1\n');
    const err = configError({ CELERITY_CONFIG: path });
    expect(err.message).toContain(path);
    expect(err.message).toContain('queues');
  });

  it('refuses a queue whose default priority exceeds its maximum', () => {
    const path = writeConfig('prio.json', JSON.stringify({ queues: [{ name: 'q', max_priority: 2, default_priority: 5 }] }));
    expect(configError({ CELERITY_CONFIG: path }).message).toContain('default_priority must not exceed max_priority');
  });

  it('reads schedules (beat) and refuses a bad or duplicate one, naming the field', () => {
    const path = writeConfig(
      'beat.yaml',
      ['schedules:', '  - name: nightly-report', '    task: demo.echo', '    input: { day: yesterday }', '    cron: "0 2 * * *"', '    timezone: Europe/Berlin', '  - name: heartbeat', '    task: demo.noop', '    every: 30', '    misfire: skip', ''].join('\n'),
    );
    expect(loadConfig({ CELERITY_CONFIG: path }).file.schedules).toEqual([
      { name: 'nightly-report', task: 'demo.echo', input: { day: 'yesterday' }, cron: '0 2 * * *', timezone: 'Europe/Berlin' },
      { name: 'heartbeat', task: 'demo.noop', every: 30, misfire: 'skip' },
    ]);
    const bad = writeConfig('bad-beat.json', JSON.stringify({ schedules: [{ name: 'a', task: 'demo.echo', cron: '0 25 * * *' }] }));
    expect(configError({ CELERITY_CONFIG: bad }).message).toMatch(/schedules\[0\]\.cron|schedules\.0\.cron/);
    const twice = writeConfig('twice.json', JSON.stringify({ schedules: [{ name: 'a', task: 'demo.echo', every: 5 }, { name: 'a', task: 'demo.echo', every: 6 }] }));
    expect(configError({ CELERITY_CONFIG: twice }).message).toContain('duplicate schedule name "a"');
  });

  it('refuses a missing or unparsable file and names it', () => {
    const missing = join(tmpdir(), 'celerity-no-such-dir', 'nope.json');
    expect(configError({ CELERITY_CONFIG: missing }).message).toContain(missing);
    const broken = writeConfig('broken.json', '{ not json');
    expect(configError({ CELERITY_CONFIG: broken }).message).toContain(broken);
  });
});

describe('security limits', () => {
  it('callbacks: ports 80 and 443, a 5 s DNS deadline, 16 names at once by default; bad values are refused', () => {
    expect(loadConfig({})).toMatchObject({ WEBHOOK_ALLOWED_PORTS: [80, 443], WEBHOOK_DNS_TIMEOUT: 5, WEBHOOK_DNS_CONCURRENCY: 16 });
    expect(loadConfig({ WEBHOOK_ALLOWED_PORTS: '443, 8443' }).WEBHOOK_ALLOWED_PORTS).toEqual([443, 8443]);
    expect(configError({ WEBHOOK_ALLOWED_PORTS: '443,http' }).message).toMatch(/WEBHOOK_ALLOWED_PORTS/);
    expect(configError({ WEBHOOK_ALLOWED_PORTS: '70000' }).message).toMatch(/WEBHOOK_ALLOWED_PORTS/);
    expect(configError({ WEBHOOK_DNS_CONCURRENCY: '0' }).message).toMatch(/WEBHOOK_DNS_CONCURRENCY/);
  });

  it('HTTP server: 30 s per request, 120 s idle, 72 s keep-alive, 4096 connections by default', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_REQUEST_TIMEOUT: 30, HTTP_CONNECTION_TIMEOUT: 120, HTTP_KEEP_ALIVE_TIMEOUT: 72, HTTP_MAX_CONNECTIONS: 4096 });
    expect(configError({ HTTP_CONNECTION_TIMEOUT: '10' }).message).toMatch(/heartbeat[\s\S]*HTTP_CONNECTION_TIMEOUT/);
    expect(configError({ HTTP_REQUEST_TIMEOUT: '0' }).message).toMatch(/HTTP_REQUEST_TIMEOUT/);
    expect(configError({ HTTP_MAX_CONNECTIONS: 'lots' }).message).toMatch(/HTTP_MAX_CONNECTIONS/);
  });

  it('event streams: 32 streams and 1000 followed tasks per caller by default', () => {
    expect(loadConfig({})).toMatchObject({ EVENTS_MAX_STREAMS: 32, EVENTS_MAX_SUBSCRIPTIONS: 1000 });
    expect(configError({ EVENTS_MAX_STREAMS: '0' }).message).toMatch(/EVENTS_MAX_STREAMS/);
  });

  it('API_KEYS_FILE: keys one a line or comma-separated, comments ignored; not with API_KEYS; satisfies a public HOST', () => {
    const dir = mkdtempSync(join(tmpdir(), 'celerity-keys-'));
    try {
      const file = join(dir, 'keys');
      writeFileSync(file, '# rotated 2026-11\nkey-one\nkey-two, key-three # old\n\n');
      expect(loadConfig({ API_KEYS_FILE: file, HOST: '0.0.0.0' }).API_KEYS).toEqual(['key-one', 'key-two', 'key-three']);
      expect(configError({ API_KEYS_FILE: file, API_KEYS: 'x' }).message).toMatch(/not both/);
      writeFileSync(file, '# nothing\n');
      expect(configError({ API_KEYS_FILE: file }).message).toMatch(/holds no key/);
      expect(configError({ API_KEYS_FILE: join(dir, 'missing') }).message).toMatch(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rate limits: unset = decided by HOST; 600 writes and 6000 reads a minute by default', () => {
    expect(loadConfig({})).toMatchObject({ RATE_LIMIT_WINDOW: 60, RATE_LIMIT_WRITES: 600, RATE_LIMIT_READS: 6000 });
    expect(loadConfig({}).RATE_LIMIT_ENABLED).toBeUndefined();
    expect(loadConfig({ RATE_LIMIT_ENABLED: 'false' }).RATE_LIMIT_ENABLED).toBe(false);
    expect(configError({ RATE_LIMIT_ENABLED: 'maybe' }).message).toMatch(/RATE_LIMIT_ENABLED/);
  });
});
