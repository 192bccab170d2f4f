// Plain round trips through each client against the real services.
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { createKafka } from '../../src/clients/kafka.js';
import { createPostgresPool } from '../../src/clients/postgres.js';
import { config, uniqueName } from './helpers.js';

describe('client round trips', () => {
  const kafka = createKafka(config);
  const clickhouse = createClickHouse(config);
  const pool = createPostgresPool(config, 1);
  const topic = `test.${uniqueName('tp_rt')}`;

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await clickhouse.close();
    await pool.end();
  });

  it('kafkajs: a produced message is consumed back with its key and value', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value: 'hello' }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('tp_rt_group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({ key: String(message.key), value: String(message.value) });
        },
      });
    });
    await consumer.disconnect();
    expect(received).toEqual({ key: 'k1', value: 'hello' });
  });

  it('@clickhouse/client: inserted rows come back', async () => {
    const database = uniqueName('tp_rt');
    await clickhouse.command({ query: `CREATE DATABASE ${database}` });
    try {
      await clickhouse.command({
        query: `CREATE TABLE ${database}.t (k String, v UInt64) ENGINE = MergeTree ORDER BY k`,
      });
      await clickhouse.insert({
        table: `${database}.t`,
        values: [
          { k: 'a', v: 1 },
          { k: 'b', v: 2 },
        ],
        format: 'JSONEachRow',
      });
      const result = await clickhouse.query({
        query: `SELECT k, v FROM ${database}.t ORDER BY k`,
        format: 'JSONEachRow',
      });
      expect(await result.json()).toEqual([
        { k: 'a', v: '1' },
        { k: 'b', v: '2' },
      ]);
    } finally {
      await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    }
  });

  it('pg: a parameterised query round-trips typed values', async () => {
    const { rows } = await pool.query('SELECT $1::int + 1 AS n, $2::text AS s', [41, "o'clock"]);
    expect(rows).toEqual([{ n: 42, s: "o'clock" }]);
  });
});
