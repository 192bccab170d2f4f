// ticketpulse_kafka_table_stalled_seconds: grows while a table has messages behind and its
// committed offsets stand still; 0 when it is caught up or moving. The consumer lag is scripted
// (what Kafka would answer); the fault suite shows the gauge on the real stack.
import type { ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConsumerLag } from '../../src/kafka/consumer-lag.js';
import type { TopicName } from '../../src/kafka/topology.js';
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
      // One partition each; a table's stall is its most stalled partition.
      progress: async (topic: TopicName) => {
        const p = state[topic];
        return p && { ...p, partitions: [{ partition: 0, ...p }] };
      },
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

  it('counts a stalled partition while blocks from the other partitions still commit', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(2_000_000);
    let partitions = [
      { partition: 0, committed: 100, behind: 0 },
      { partition: 1, committed: 50, behind: 0 },
    ];
    const lag = {
      consumerGroup: (topic: TopicName) => `db_${topic}`,
      messagesBehind: async () => 0,
      progress: async (topic: TopicName) =>
        topic === 'ticket_sale'
          ? {
              committed: partitions.reduce((n, p) => n + p.committed, 0),
              behind: partitions.reduce((n, p) => n + p.behind, 0),
              partitions,
            }
          : undefined,
    } satisfies ConsumerLag;
    const registry = new Registry();
    addPipelineGauges({ registry, lag, clickhouse: {} as unknown as ClickHouseClient, database: 'db' });
    const stalled = async () =>
      Number(
        /^ticketpulse_kafka_table_stalled_seconds\{table="ticket_sales"\} (\S+)$/m.exec(
          await registry.metrics(),
        )?.[1],
      );

    expect(await stalled()).toBe(0);
    // A poison record holds partition 1; partition 0 keeps committing (the table as a whole moves).
    for (const [at, committed0] of [
      [2_010_000, 120],
      [2_030_000, 140],
      [2_050_000, 160],
    ] as const) {
      vi.setSystemTime(at);
      partitions = [
        { partition: 0, committed: committed0, behind: 2 },
        { partition: 1, committed: 50, behind: 5 },
      ];
      await stalled();
    }
    expect(await stalled()).toBe(40);
  });
});
