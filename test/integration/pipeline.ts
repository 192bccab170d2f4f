// An isolated ingest pipeline on the real stack for one test file (src/pipeline: its own
// ClickHouse database with every migration, its own topics, producer and app), plus what the
// tests wait for and poke at.
import { topicNames, type TopicName } from '../../src/events/topics.js';
import { uuid } from '../../src/sql/literals.js';
import {
  createIsolatedPipeline,
  type IsolatedPipelineOptions,
} from '../../src/pipeline/isolated-pipeline.js';
import { config, eventually, uniqueName } from './helpers.js';

export const API_KEY = 'test-key-123456';

export async function createTestPipeline(
  prefix: string,
  options: {
    kafkaTimeoutMs?: number;
    kafkaMaxBlockSize?: number;
    dedupSlotSeconds?: number;
    postgres?: { url: string; adminKey: string };
    live?: IsolatedPipelineOptions['live'];
    liveTokens?: IsolatedPipelineOptions['liveTokens'];
    heartbeatMs?: number;
  } = {},
) {
  const base = await createIsolatedPipeline({
    config,
    name: uniqueName(prefix),
    apiKey: API_KEY,
    ...options,
  });
  const { database, topicPrefix, clickhouse, admin, query, fraudRules } = base;

  return {
    ...base,

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
        () => base.messagesBehind(topic),
        (n) => n === 0,
        timeoutMs,
        200,
      );
      if (remaining !== 0)
        throw new Error(
          `${base.consumerGroup(topic)} still has ${remaining} messages to consume on ${topic}`,
        );
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
     * Makes ClickHouse read a topic again from the start, as after a crash before its offsets
     * were committed: detach the Kafka table (its consumer leaves the group), rewind the group,
     * attach it again.
     */
    async redeliverFromStart(topic: TopicName, queueTable: string): Promise<void> {
      await clickhouse.command({ query: `DETACH TABLE ${database}.${queueTable}` });
      await admin.resetOffsets({
        groupId: base.consumerGroup(topic),
        topic: topicNames(topicPrefix)[topic],
        earliest: true,
      });
      await clickhouse.command({ query: `ATTACH TABLE ${database}.${queueTable}` });
    },
  };
}

export type TestPipeline = Awaited<ReturnType<typeof createTestPipeline>>;
