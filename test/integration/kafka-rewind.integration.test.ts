// `npm run kafka -- rewind` on the real stack. ClickHouse 18.16 commits a pass's Kafka offsets
// before its squashed insert is written, so a server killed in between has consumed records
// it never counted (the fault suite saw 46 of 820 sales go missing after a kill -9). The test
// makes that state on purpose: the table detached, sales on the topic, the group's offsets
// moved past them, the table attached; nothing of them counts. Rewinding reads them again,
// and dedup keeps what was counted before from counting twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPoisonSkip } from '../../src/operations/poison-skip.js';
import { topicNames } from '../../src/kafka/topology.js';
import { ticketSale } from '../fixtures/events.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

describe('rewinding a Kafka table after an unclean ClickHouse stop', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline('tp_rewind');
  }, 120_000);
  afterAll(() => p?.close());

  it('counts the sales whose offsets were committed but never written, once, and the others still once', async () => {
    const counted = Array.from({ length: 20 }, () => ticketSale({}, { event_id: 'show-rewind' }));
    expect((await p.post(counted)).status).toBe(202);
    await p.waitForSales(counted.map((s) => s.id));
    await p.waitConsumed('ticket_sale');

    // The loss window, made on purpose: consumed (offsets at the log end), never written.
    const from = Date.now();
    await p.clickhouse.command({ query: `DETACH TABLE ${p.database}.ticket_sales_queue` });
    const lost = Array.from({ length: 30 }, () => ticketSale({}, { event_id: 'show-rewind' }));
    expect((await p.post(lost.slice(0, 15))).status).toBe(202);
    expect((await p.post(lost.slice(15))).status).toBe(202);
    const topic = topicNames(p.topicPrefix).ticket_sale;
    const ends = await p.admin.fetchTopicOffsets(topic);
    await p.admin.setOffsets({
      groupId: p.consumerGroup('ticket_sale'),
      topic,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
    await p.clickhouse.command({ query: `ATTACH TABLE ${p.database}.ticket_sales_queue` });
    await p.waitConsumed('ticket_sale');
    expect(await p.count('ticket_sales', "event_id = 'show-rewind'")).toBe(20);

    const tools = createPoisonSkip({
      kafka: p.kafka,
      clickhouse: p.clickhouse,
      database: p.database,
      topicPrefix: p.topicPrefix,
    });
    // A minute before the loss: the 20 counted sales are read again too, and dedup drops them.
    const report = await tools.rewind('ticket_sales', from - 60_000);
    expect(report.moved.length).toBeGreaterThan(0);
    await p.waitForSales(lost.map((s) => s.id));
    await p.waitConsumed('ticket_sale');
    expect(await p.count('ticket_sales', "event_id = 'show-rewind'")).toBe(50);
    const [totals] = await p.query<{ tickets: string; orders: string }>(
      `SELECT toString(sum(tickets)) AS tickets, toString(sum(orders)) AS orders
       FROM ${p.database}.sales_per_minute WHERE event_id = 'show-rewind'`,
    );
    const tickets = [...counted, ...lost].reduce((sum, s) => sum + s.data.quantity, 0);
    expect(totals).toEqual({ tickets: String(tickets), orders: '50' });
  }, 120_000);

  it('refuses a table that does not deduplicate, and an unknown one', async () => {
    const tools = createPoisonSkip({
      kafka: p.kafka,
      clickhouse: p.clickhouse,
      database: p.database,
      topicPrefix: p.topicPrefix,
    });
    await expect(tools.rewind('nope', Date.now())).rejects.toThrow(/unknown Kafka table 'nope'/);
    await expect(tools.rewind('rejected_events', Date.now())).rejects.toThrow(/does not deduplicate/);
  });
});
