import { defineConfig } from 'vitest/config';

// Unit tests are pure; integration and e2e tests talk to the real RabbitMQ and Redis (never skipped);
// fault tests to private ones of their own.
export default defineConfig({
  test: {
    globals: false,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // two cores shared with RabbitMQ and Redis: a little parallelism, not a stampede
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['{apps,packages}/*/test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/test/{integration,e2e}/**/*.test.ts'],
          globalSetup: ['packages/testkit/dist/global-setup.js'],
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['{apps,packages}/*/test/faults/**/*.test.ts'],
          // these stop RabbitMQ's app, pause Redis and lower the broker's timeouts: always on a private
          // RabbitMQ and Redis that this globalSetup starts and removes (never RABBITMQ_URL/REDIS_URL),
          // one file at a time (package.json: --no-file-parallelism), as the files share them
          globalSetup: ['packages/testkit/dist/private-services-setup.js'],
          setupFiles: ['packages/testkit/dist/use-private-services.js'],
        },
      },
    ],
  },
});
