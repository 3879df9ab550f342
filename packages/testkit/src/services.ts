/** Where the integration tests find RabbitMQ and Redis: RABBITMQ_URL / REDIS_URL, else the local defaults. */
export const testAmqpUrl = (): string => process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const testRedisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
