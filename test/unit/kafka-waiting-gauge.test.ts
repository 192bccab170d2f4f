// ticketpulse_kafka_oldest_waiting_seconds: how long the oldest message a Kafka table has not
// committed has been waiting, from the log end offsets seen at earlier scrapes. 0 when caught
// up (however long traffic pauses) and near 0 for a busy table that keeps up; grows while
// messages wait. The consumer lag is scripted (what Kafka would answer).
import type { ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumerLag } from '../../src/kafka/consumer-lag.js';
import type { TopicName } from '../../src/kafka/topology.js';
import { addPipelineGauges } from '../../src/metrics/metrics.js';

describe('ticketpulse_kafka_oldest_waiting_seconds', () => {
  afterEach(() => vi.useRealTimers());

  it('is 0 for a busy table that keeps up and while idle, and grows while messages wait', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let part = { partition: 0, committed: 0, behind: 0 };
    const lag = {
      consumerGroup: (topic: TopicName) => `db_${topic}`,
      messagesBehind: async () => part.behind,
      progress: async (topic: TopicName) =>
        topic === 'ticket_sale'
          ? { committed: part.committed, behind: part.behind, partitions: [part] }
          : undefined,
    } satisfies ConsumerLag;
    const registry = new Registry();
    addPipelineGauges({ registry, lag, clickhouse: {} as unknown as ClickHouseClient, database: 'db' });
    const waiting = async (at: number, committed: number, behind: number) => {
      vi.setSystemTime(at);
      part = { partition: 0, committed, behind };
      const text = await registry.metrics();
      return Number(
        /^ticketpulse_kafka_oldest_waiting_seconds\{table="ticket_sales"\} (\S+)$/m.exec(text)?.[1],
      );
    };

    // Busy and keeping up: every scrape sees messages in flight, each committed by the next one.
    expect(await waiting(1_000_000, 100, 20)).toBe(0);
    expect(await waiting(1_005_000, 125, 15)).toBe(0);
    expect(await waiting(1_010_000, 150, 30)).toBe(0);
    // Caught up, then a long pause: nothing waits.
    expect(await waiting(1_015_000, 180, 0)).toBe(0);
    expect(await waiting(1_315_000, 180, 0)).toBe(0);
    // Traffic again, and the table stops consuming: the first message seen waiting sets the age.
    expect(await waiting(1_320_000, 180, 5)).toBe(0);
    expect(await waiting(1_325_000, 180, 40)).toBe(5);
    expect(await waiting(1_330_000, 182, 80)).toBe(10); // moving a little: the oldest still waits
    // It catches up with the first batch, not the later ones: the age is theirs.
    expect(await waiting(1_335_000, 185, 80)).toBe(10);
    expect(await waiting(1_340_000, 265, 0)).toBe(0);
  });
});
