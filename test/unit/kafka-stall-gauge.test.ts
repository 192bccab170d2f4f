// ticketpulse_kafka_table_stalled_seconds: grows while a table has messages behind and its
// committed offsets stand still; 0 when it is caught up or moving. The consumer lag is scripted
// (what Kafka would answer); the fault suite shows the gauge on the real stack.
import type { ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumerLag } from '../../src/events/consumer-lag.js';
import type { TopicName } from '../../src/events/topics.js';
import { addPipelineGauges } from '../../src/metrics/metrics.js';

describe('ticketpulse_kafka_table_stalled_seconds', () => {
  afterEach(() => vi.useRealTimers());

  it('counts the time a table is behind without committing, per table', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const state: Partial<Record<TopicName, { committed: number; behind: number }>> = {
      ticket_sale: { committed: 10, behind: 0 },
      user_interaction: { committed: 5, behind: 3 },
    };
    const lag = {
      consumerGroup: (topic: TopicName) => `db_${topic}`,
      messagesBehind: async (topic: TopicName) => state[topic]?.behind ?? Infinity,
      progress: async (topic: TopicName) => state[topic],
    } satisfies ConsumerLag;
    const clickhouse = {
      query: async () => {
        throw new Error('not needed here');
      },
    } as unknown as ClickHouseClient;
    const registry = new Registry();
    addPipelineGauges({ registry, lag, clickhouse, database: 'db' });
    const stalled = async () => {
      const text = await registry.metrics();
      return Object.fromEntries(
        [...text.matchAll(/^ticketpulse_kafka_table_stalled_seconds\{table="(\w+)"\} (\S+)$/gm)].map((m) => [
          m[1],
          Number(m[2]),
        ]),
      );
    };

    expect(await stalled()).toEqual({ ticket_sales: 0, user_interactions: 0 });
    vi.setSystemTime(1_040_000);
    state.ticket_sale = { committed: 10, behind: 7 }; // a poison record: behind, not moving
    state.user_interaction = { committed: 8, behind: 1 }; // slow but moving
    expect(await stalled()).toEqual({ ticket_sales: 0, user_interactions: 0 });
    vi.setSystemTime(1_075_000);
    state.ticket_sale = { committed: 10, behind: 9 };
    expect(await stalled()).toEqual({ ticket_sales: 35, user_interactions: 35 });
    vi.setSystemTime(1_080_000);
    state.ticket_sale = { committed: 19, behind: 0 }; // skipped past it
    state.user_interaction = { committed: 9, behind: 0 };
    expect(await stalled()).toEqual({ ticket_sales: 0, user_interactions: 0 });
  });
});
