import { defineConfig } from 'vitest/config';

// Unit tests are pure; integration and e2e tests talk to the real RabbitMQ and Redis (never skipped).
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
          globalSetup: ['packages/testkit/dist/global-setup.js'],
          // these stop RabbitMQ and pause Redis for the whole machine: package.json runs this project
          // on its own, after the others, one file at a time (--no-file-parallelism)
        },
      },
    ],
  },
});
