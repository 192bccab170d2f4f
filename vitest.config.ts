// Three projects, one runner: `unit` needs no service; `integration` and `integration-serial`
// talk to the real stack (npm run stack -- up, or KAFKA_BROKERS / CLICKHOUSE_URL / DATABASE_URL).
// `npm test` runs all three.
//
// Why the split: every integration file has a ClickHouse database, topic prefix and Postgres
// database of its own (test/harness), so those files run side by side, MAX_WORKERS at a time
// with the unit files. Files that change what the others share (they stop a service of the
// stack), start a browser or the cluster topology (Chromium, or eight more servers, take the
// cores the others wait on), or can take the stack's ClickHouse down (they DETACH and ATTACH a
// Kafka table) run afterwards, one at a time, alone: they are SERIAL below, and a file joins
// that list for one of those reasons only.
import { defineConfig } from 'vitest/config';

/**
 * Files that stop a service of the stack, start a browser or the cluster, or re-attach a Kafka
 * table: run alone, after the rest.
 */
const SERIAL = [
  // Stops the stack's Kafka broker: every other file's producer and Kafka tables would stall.
  'test/integration/ingest-kafka-outage.integration.test.ts',
  // Chromium: a browser beside two workers starves the stack the others wait on.
  'test/integration/dashboard.integration.test.ts',
  // Starts the cluster topology (three brokers, four ClickHouse servers, ZooKeeper) and kills a
  // broker: eight more servers beside the workers would starve the stack the others wait on.
  'test/integration/cluster-topology.integration.test.ts',
  // Seven service processes on the cluster topology, and kills two of them.
  'test/integration/cluster-processes.integration.test.ts',
  // The dedup horizon job on the cluster topology (starts it when it is down).
  'test/integration/dedup-horizon-cluster.integration.test.ts',
  // DETACHes and ATTACHes ticket_sales_queue to make a loss on purpose. 18.16 closing a Kafka
  // table attached again (at the teardown's DROP) aborted the server in CI runs (librdkafka's
  // `!rkcg->rkcg_subscription`); the harness starts it again, but the files beside it failed.
  'test/integration/kafka-replay.integration.test.ts',
];

/**
 * Files at once. The integration files mostly wait on the stack (Kafka's flush, the Kafka
 * engine's block interval), so more workers than the 2 cores pay off, up to the point where the
 * stack's own CPU becomes the limit.
 */
const MAX_WORKERS = Number(process.env.TEST_MAX_WORKERS ?? 4);

const integration = {
  globalSetup: ['test/integration/global-setup.ts'],
  testTimeout: 60_000,
  // A teardown (test/harness removeClickHouseAndTopics) may wait 30 s for consumer groups, drop
  // the Kafka tables and their views, then wait up to 25 s for the database to go: one dashboard
  // teardown beside another CI run outlasted 60 s.
  hookTimeout: 150_000,
};

export default defineConfig({
  test: {
    maxWorkers: MAX_WORKERS,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          // test/faults and test/faults-cluster are suites of their own (vitest.faults.config.ts,
          // vitest.faults-cluster.config.ts): they stop and kill the stacks' services.
          exclude: ['test/**/*.integration.test.ts', 'test/faults/**', 'test/faults-cluster/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          exclude: SERIAL,
          ...integration,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration-serial',
          include: SERIAL,
          ...integration,
          // One file at a time, in one process, after every file of group 0 has finished.
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
