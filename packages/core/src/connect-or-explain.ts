import { AppError } from './errors.js';

/** Nothing answered at the address (not running, wrong host or port, a firewall). */
export class DependencyUnreachableError extends AppError {
  readonly code = 'DEPENDENCY_UNREACHABLE';
}

/** The service answered and refused us: credentials, vhost, database. Starting it again will not help. */
export class DependencyRefusedError extends AppError {
  readonly code = 'DEPENDENCY_REFUSED';
}

const UNREACHABLE_HINTS: Record<string, string> = {
  RabbitMQ: 'start it with `rabbitmq-server -detached` (or `make up` with Docker), or set RABBITMQ_URL',
  Redis: 'start it with `redis-server --daemonize yes` (or `make up` with Docker), or set REDIS_URL',
};

const REFUSED_HINTS: Record<string, string> = {
  RabbitMQ: 'wrong user/password or vhost in RABBITMQ_URL (amqp://user:password@host:port/vhost)',
  Redis: 'wrong password, user or database number in REDIS_URL (redis://user:password@host:port/db)',
};

/**
 * A socket-level failure carries a system error code (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ...);
 * anything else on a first connection means the server answered and said no.
 */
function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** Turns a failed first connection into one line a newcomer can act on. */
export async function connectOrExplain<T>(service: string, url: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const safeUrl = url.replace(/\/\/[^@/]*@/, '//');
    if (isNetworkError(err)) throw new DependencyUnreachableError(`${service} is not reachable at ${safeUrl}: ${UNREACHABLE_HINTS[service] ?? ''}`, { cause: err });
    const said = err instanceof Error ? err.message : String(err);
    throw new DependencyRefusedError(`${service} at ${safeUrl} refused the connection: ${REFUSED_HINTS[service] ?? 'check the URL'} (the server said: ${said})`, { cause: err });
  }
}
