// An isolated ingest pipeline on the real stack for one test file: its own ClickHouse
// database (all real migrations applied), its own topics (prefix), its own producer and app.
import type { Hono } from 'hono';
import { pino } from 'pino';
import { createApp } from '../../src/api/app.js';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createKafkaEventSink } from '../../src/events/kafka-event-sink.js';
import { ensureTopics, topicNames, type TopicName } from '../../src/events/topics.js';
import { createFraudRuleRunner } from '../../src/fraud/rule-runner.js';
import { uuid } from '../../src/sql/literals.js';
import { createClickHouseMigrator } from '../../src/migrate/clickhouse-migrator.js';
import { config, eventually, uniqueName } from './helpers.js';

export const API_KEY = 'test-key-123456';
const MIGRATIONS = new URL('../../migrations/clickhouse/', import.meta.url).pathname;

/** Kafka consumer group of each topic's ClickHouse Kafka table (see the migrations). */
const GROUP_SUFFIX: Record<TopicName, string> = {
  ticket_sale: 'ticket_sales',
  user_interaction: 'user_interactions',
  system_metric: 'system_metrics',
  rejected: 'rejected_events',
};

export async function createTestPipeline(
  prefix: string,
  options: { kafkaTimeoutMs?: number; kafkaMaxBlockSize?: number; dedupSlotSeconds?: number } = {},
) {
  const database = uniqueName(prefix);
  const topicPrefix = `${database}.`;
  const kafka = createKafka(config, { retries: 2 });
  const clickhouse = createClickHouse(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicPrefix);
  const results = await createClickHouseMigrator({
    client: clickhouse,
    dir: MIGRATIONS,
    database,
    cluster: '',
    kafkaBrokers: config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS,
    topicPrefix,
    kafkaMaxBlockSize: options.kafkaMaxBlockSize,
    dedupSlotSeconds: options.dedupSlotSeconds,
  }).migrate();
  const failed = results.find((r) => r.status === 'failed');
  if (failed) throw new Error(`migration ${failed.file} failed: ${JSON.stringify(failed.error)}`);

  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const app: Hono = createApp({
    logger: pino({ level: 'silent' }),
    probes: [],
    healthTimeoutMs: 1000,
    ingest: {
      sink: createKafkaEventSink({ producer, topicPrefix, timeoutMs: options.kafkaTimeoutMs ?? 5000 }),
      apiKeys: new Map([[API_KEY, 'test']]),
      maxBodyBytes: 5 * 1024 * 1024,
      maxRecords: 10_000,
      retryAfterSeconds: 5,
    },
  });

  const fraudRules = createFraudRuleRunner({
    clickhouse,
    database,
    logger: pino({ level: 'silent' }),
    intervalMs: 1000,
    lagMs: 0,
  });

  async function query<T>(text: string): Promise<T[]> {
    const result = await clickhouse.query({ query: text, format: 'JSONEachRow' });
    return result.json<T>();
  }

  return {
    database,
    topicPrefix,
    app,
    clickhouse,
    query,

    /** POSTs a body to /v1/events in-process. */
    post(body: unknown, contentType = 'application/json') {
      return app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
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
     * `ticket_sales_ids`, the table the fraud rules read (a sibling view writes it, and it can
     * become visible a moment later).
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
      const name = topicNames(topicPrefix)[topic];
      const groupId = `${database}_${GROUP_SUFFIX[topic]}`;
      const lag = async () => {
        // Right after a broker restart the group coordinator moves; ask again until it answers.
        const ends = await admin.fetchTopicOffsets(name).catch(() => undefined);
        const [committed] =
          (await admin.fetchOffsets({ groupId, topics: [name] }).catch(() => undefined)) ?? [];
        if (ends === undefined) return Infinity;
        return ends.reduce((sum, end) => {
          const done = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          return sum + Math.max(0, Number(end.high) - Math.max(0, Number(done)));
        }, 0);
      };
      const remaining = await eventually(lag, (n) => n === 0, timeoutMs, 200);
      if (remaining !== 0)
        throw new Error(`${groupId} still has ${remaining} messages to consume on ${name}`);
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
        groupId: `${database}_${GROUP_SUFFIX[topic]}`,
        topic: topicNames(topicPrefix)[topic],
        earliest: true,
      });
      await clickhouse.command({ query: `ATTACH TABLE ${database}.${queueTable}` });
    },

    async close(): Promise<void> {
      await producer.disconnect();
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await clickhouse.close();
      await admin.deleteTopics({ topics: Object.values(topicNames(topicPrefix)) }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export type TestPipeline = Awaited<ReturnType<typeof createTestPipeline>>;
