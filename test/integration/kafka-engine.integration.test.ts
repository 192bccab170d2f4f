// The core idea, proven on the real stack: Kafka topic -> ClickHouse Kafka engine table ->
// materialized view -> MergeTree, with exactly as many rows as messages produced.
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { config, eventually, uniqueName } from './helpers.js';

describe('Kafka engine round trip', () => {
  const clickhouse = createClickHouse(config);
  const kafka = createKafka(config);
  const name = uniqueName('tp_kafka_rt');
  const database = name;
  const topic = `test.${name}`;
  const brokers = config.CLICKHOUSE_KAFKA_BROKERS ?? config.KAFKA_BROKERS;

  afterAll(async () => {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('N JSON messages produced with kafkajs become exactly N rows', async () => {
    const N = 2500;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    // Decimals travel as JSON numbers: 18.16's JSONEachRow cannot read a quoted Decimal, and
    // reads an unquoted one from its text, exactly (no float on the way).
    const messages = Array.from({ length: N }, (_, i) => ({
      key: `show-${i % 7}`,
      value: JSON.stringify({ id: i, show: `show-${i % 7}`, amount: 12.34 }),
    }));
    const sendRange = async (from: number, to: number) => {
      for (let i = from; i < to; i += 500) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, Math.min(i + 500, to)) });
      }
    };
    // Half before the tables exist (the consumer group must start at the beginning), half after.
    await sendRange(0, N / 2);
    await clickhouse.command({ query: `CREATE DATABASE ${database}` });
    await clickhouse.command({
      query: `CREATE TABLE ${database}.queue (id UInt32, show String, amount Decimal(18, 2))
        ENGINE = Kafka SETTINGS kafka_broker_list = '${brokers}', kafka_topic_list = '${topic}',
          kafka_group_name = '${name}', kafka_format = 'JSONEachRow'`,
    });
    await clickhouse.command({
      query: `CREATE TABLE ${database}.rows (id UInt32, show String, amount Decimal(18, 2))
        ENGINE = MergeTree ORDER BY id`,
    });
    await clickhouse.command({
      query: `CREATE MATERIALIZED VIEW ${database}.rows_mv TO ${database}.rows AS SELECT * FROM ${database}.queue`,
    });

    await sendRange(N / 2, N);
    await producer.disconnect();

    const count = async () => {
      const result = await clickhouse.query({
        query: `SELECT count() AS n, uniqExact(id) AS ids, toString(sum(amount)) AS total FROM ${database}.rows`,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string; ids: string; total: string }>();
      return row!;
    };
    const seen = await eventually(count, (r) => Number(r.n) >= N, 45_000);
    expect(seen).toEqual({ n: String(N), ids: String(N), total: (N * 12.34).toFixed(2) });
  });
});
