// The real service for one test file (test/harness: its own ClickHouse database with every
// migration, its own topics and Postgres database), plus what the tests wait for and poke at.
import { pino } from 'pino';
import { createConsumerLag } from '../../src/kafka/consumer-lag.js';
import { topicNames, type TopicName } from '../../src/kafka/topology.js';
import { createFraudRuleRunner } from '../../src/fraud/rule-runner.js';
import { uuid } from '../../src/sql/literals.js';
import { republishRanges, topicRanges } from '../../src/operations/poison-skip.js';
import type { ServiceHooks } from '../../src/roles/role.js';
import { startServiceHarness } from '../harness/service-harness.js';
import { eventually, uniqueName } from './helpers.js';

export const API_KEY = 'test-key-123456';

/**
 * Starts the service with the platform ingest key API_KEY and `env` over the harness's
 * defaults (roles `api,bridge`; add `push` for `/v1/live`). The fraud rules run only when a
 * test says so (`runFraudRules()`), so the `rules` role is not among the defaults.
 */
export async function createTestPipeline(
  prefix: string,
  options: { env?: Record<string, string>; hooks?: ServiceHooks } = {},
) {
  const base = await startServiceHarness({
    name: uniqueName(prefix),
    ingestKey: API_KEY,
    env: options.env,
    hooks: options.hooks,
  });
  const { database, topicPrefix, clickhouse, admin, config, query } = base;
  const lag = createConsumerLag({ admin, topicPrefix, database });
  const fraudRules = createFraudRuleRunner({
    clickhouse,
    database,
    logger: pino({ level: 'silent' }),
    intervalMs: config.FRAUD_RULES_INTERVAL_MS,
    lagMs: config.FRAUD_RULES_LAG_MS,
  });

  return {
    ...base,
    /** A fraud rule runner on this database: it runs on `runOnce` only, until `fraudRules.start()`. */
    fraudRules,
    /** The Postgres side: the test's own pool and kysely on the service's database, and its bridge's dimension sync. */
    entities: { ...base.postgres, bridge: base.bridge!.dimensions },

    /** The ClickHouse consumer group that reads `topic`. */
    consumerGroup: lag.consumerGroup.bind(lag),
    /** Messages of `topic` ClickHouse has not committed yet (Infinity while the broker cannot say). */
    messagesBehind: lag.messagesBehind.bind(lag),

    /** The service's base URL, e.g. for WebSockets. */
    async listen(): Promise<string> {
      return base.baseUrl;
    },

    async close(): Promise<void> {
      await fraudRules.close();
      await base.close();
    },

    async count(table: string, where = '1'): Promise<number> {
      const [row] = await query<{ n: string }>(
        `SELECT count() AS n FROM ${database}.${table} WHERE ${where}`,
      );
      return Number(row?.n ?? 0);
    },

    /**
     * Waits until `table` holds at least `expected` rows matching `where`, then returns the count.
     * (The Kafka engine may commit its offsets a moment before the rows become visible.)
     */
    async countAtLeast(table: string, expected: number, where = '1', timeoutMs = 30_000): Promise<number> {
      return eventually(
        () => this.count(table, where),
        (n) => n >= expected,
        timeoutMs,
      );
    },

    /**
     * Waits until every one of these sale ids is in ClickHouse: in `ticket_sales` and in
     * `ticket_sales_ids`, the table the fraud rules take their window from (a sibling view
     * writes it, and it can become visible a moment later). The rules read the window's own
     * sales from it too, so they do not wait for `sales_by_user`.
     */
    async waitForSales(ids: string[], timeoutMs = 30_000): Promise<void> {
      const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
      const where = `id IN (${unique.map((id) => uuid(id).text).join(', ')})`;
      for (const table of ['ticket_sales', 'ticket_sales_ids']) {
        const seen = await this.countAtLeast(table, unique.length, where, timeoutMs);
        if (seen < unique.length) throw new Error(`only ${seen} of ${unique.length} sales in ${table}`);
      }
    },

    /**
     * Waits until ClickHouse's consumer group has committed every message of the topic:
     * after that, whatever will ever arrive from it has arrived.
     */
    async waitConsumed(topic: TopicName, timeoutMs = 30_000): Promise<void> {
      const remaining = await eventually(
        () => lag.messagesBehind(topic),
        (n) => n === 0,
        timeoutMs,
        200,
      );
      if (remaining !== 0)
        throw new Error(`${lag.consumerGroup(topic)} still has ${remaining} messages to consume on ${topic}`);
    },

    /**
     * Runs the fraud rules over everything ingested so far: waits until the clock has left the
     * last ingest second, so the run's window closes after every row now in ClickHouse.
     */
    async runFraudRules(): Promise<void> {
      const [row] = await query<{ last: number }>(
        `SELECT toUInt32(max(ingested_at)) AS last FROM ${database}.ticket_sales_ids`,
      );
      const last = Number(row?.last ?? 0);
      await eventually(
        async () => Math.floor(Date.now() / 1000),
        (now) => now > last,
        5000,
        50,
      );
      await fraudRules.runOnce(new Date());
    },

    /**
     * Makes ClickHouse read every message of a topic again, as after a crash before its
     * offsets were committed: publishes each partition's messages again, the same bytes to the
     * same partition. No Kafka table is detached: an 18.16 table attached again aborted the
     * server when a teardown dropped it (librdkafka's `!rkcg->rkcg_subscription`, CI
     * 2026-12-04, twice, in this file's two users), taking the other files' statements with it.
     */
    async redeliverFromStart(topic: TopicName): Promise<void> {
      const name = topicNames(topicPrefix)[topic];
      const ranges = await topicRanges(admin, name);
      await republishRanges(base.kafka, name, ranges);
    },
  };
}

export type TestPipeline = Awaited<ReturnType<typeof createTestPipeline>>;
