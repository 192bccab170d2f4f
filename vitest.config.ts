// Two suites, one runner: `unit` needs no service, `integration` talks to the real stack
// (npm run stack -- up, or KAFKA_BROKERS / CLICKHOUSE_URL / DATABASE_URL). `npm test` runs both.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The stack shares one 2-core machine: test files run one at a time so timings stay sane.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          // test/faults is its own suite (vitest.faults.config.ts): it stops the stack's services.
          exclude: ['test/**/*.integration.test.ts', 'test/faults/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
