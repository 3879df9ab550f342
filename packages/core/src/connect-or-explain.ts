import { AppError } from './errors.js';

export class DependencyUnreachableError extends AppError {
  readonly code = 'DEPENDENCY_UNREACHABLE';
}

const HINTS: Record<string, string> = {
  RabbitMQ: 'start it with `rabbitmq-server -detached` (or `make up` with Docker), or set RABBITMQ_URL',
  Redis: 'start it with `redis-server --daemonize yes` (or `make up` with Docker), or set REDIS_URL',
};

/** Turns a failed first connection into one line a newcomer can act on. */
export async function connectOrExplain<T>(service: string, url: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const safeUrl = url.replace(/\/\/[^@/]*@/, '//');
    throw new DependencyUnreachableError(`${service} is not reachable at ${safeUrl}: ${HINTS[service] ?? ''}`, { cause: err });
  }
}
