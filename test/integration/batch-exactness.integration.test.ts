// Batch messages (one Kafka message per request and partition, exploded by ARRAY JOIN) stay
// exact: each acknowledged id counts once however it is retried, and one buyer's events stay on
// one partition in the order they were acknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuid } from '../../src/sql/literals.js';
import { ticketSale } from '../fixtures/events.js';
import { createKafka } from '../../src/clients/kafka.js';
import { topicNames } from '../../src/kafka/topology.js';
import { config, eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

describe('batch messages on the real stack', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline('tp_batch');
  });
  afterAll(() => p?.close());

  async function totals(show: string): Promise<{ n: number; tickets: number }> {
    const [row] = await p.query<{ n: string; tickets: string }>(
      `SELECT sum(orders) AS n, sum(tickets) AS tickets FROM ${p.database}.sales_per_minute WHERE event_id = '${show}'`,
    );
    return { n: Number(row?.n ?? 0), tickets: Number(row?.tickets ?? 0) };
  }

  /**
   * The show's totals once all `orders` acknowledged have arrived and the topic is consumed (so
   * a duplicate would have arrived too). The Kafka engine can commit a block's offsets a moment
   * before its rows are visible, so the rows are waited for first.
   */
  async function settled(show: string, orders: number): Promise<{ n: number; tickets: number }> {
    await eventually(
      () => totals(show),
      (t) => t.n >= orders,
      30_000,
    );
    await p.waitConsumed('ticket_sale');
    return totals(show);
  }

  it('a whole request retried is counted once', async () => {
    const batch = Array.from({ length: 500 }, (_, i) =>
      ticketSale({}, { event_id: 'show-retry-whole', user_id: `u-${i % 23}`, quantity: 1 }),
    );
    expect((await p.post(batch)).status).toBe(202);
    await p.countAtLeast('ticket_sales', 500, `event_id = 'show-retry-whole'`);
    expect((await p.post(batch)).status).toBe(202);
    expect((await p.post(batch)).status).toBe(202);
    expect(await settled('show-retry-whole', 500)).toEqual({ n: 500, tickets: 500 });
  });

  it('a record retried inside a different request, with other neighbours, is counted once', async () => {
    const first = Array.from({ length: 300 }, (_, i) =>
      ticketSale({}, { event_id: 'show-retry-mixed', user_id: `u-${i % 31}`, quantity: 2 }),
    );
    expect((await p.post(first)).status).toBe(202);
    // Every 3rd record of the first request again, each between new records, in other batches
    // and so in other Kafka messages, some on the same partition as before, some in the same pass.
    const fresh = Array.from({ length: 200 }, (_, i) =>
      ticketSale({}, { event_id: 'show-retry-mixed', user_id: `v-${i % 13}`, quantity: 2 }),
    );
    const retried = first.filter((_, i) => i % 3 === 0);
    const mixed = fresh.flatMap((f, i) => (retried[i] ? [f, retried[i]!] : [f]));
    for (let i = 0; i < mixed.length; i += 70)
      expect((await p.post(mixed.slice(i, i + 70))).status).toBe(202);
    expect(await settled('show-retry-mixed', 500)).toEqual({ n: 500, tickets: 1000 });
  });

  it('the same id twice inside one request is counted once', async () => {
    const batch = Array.from({ length: 200 }, (_, i) =>
      ticketSale({}, { event_id: 'show-twice', user_id: `w-${i % 7}`, quantity: 3 }),
    );
    // Each record twice, once next to itself and once at the far end of the request.
    const doubled = [...batch.flatMap((r) => [r, r]), ...batch];
    const res = await p.post(doubled);
    expect(res.status).toBe(202);
    expect(await settled('show-twice', 200)).toEqual({ n: 200, tickets: 600 });
    const ids = batch.map((r) => uuid(r.id).text).join(', ');
    expect(await p.count('ticket_sales', `id IN (${ids})`)).toBe(200);
  });

  it("one buyer's events stay on one partition, in the order they were acknowledged", async () => {
    const buyers = ['buyer-a', 'buyer-b', 'buyer-c', 'buyer-d', 'buyer-e'];
    const sent: Record<string, string[]> = Object.fromEntries(buyers.map((b) => [b, []]));
    for (let r = 0; r < 4; r++) {
      const batch = Array.from({ length: 40 }, (_, i) => {
        const buyer = buyers[(i * 7 + r) % buyers.length]!;
        const sale = ticketSale({}, { event_id: 'show-order', user_id: buyer });
        sent[buyer]!.push(sale.id);
        return sale;
      });
      expect((await p.post(batch)).status).toBe(202);
    }
    const seen: Record<string, { partition: number; id: string }[]> = Object.fromEntries(
      buyers.map((b) => [b, []]),
    );
    const kafka = createKafka(config);
    const consumer = kafka.consumer({ groupId: `${p.database}_order_check` });
    await consumer.connect();
    await consumer.subscribe({ topic: topicNames(p.topicPrefix).ticket_sale, fromBeginning: true });
    const total = 4 * 40;
    let read = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${read} of ${total} events`)), 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const batch = JSON.parse(message.value!.toString()) as { id?: string[]; user_id?: string[] };
          (batch.id ?? []).forEach((id, i) => {
            const buyer = batch.user_id![i]!;
            if (seen[buyer] === undefined) return;
            seen[buyer].push({ partition, id });
            read += 1;
          });
          if (read >= total) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    for (const buyer of buyers) {
      expect(new Set(seen[buyer]!.map((s) => s.partition)).size, buyer).toBe(1);
      expect(seen[buyer]!.map((s) => s.id)).toEqual(sent[buyer]!.map((id) => id.toLowerCase()));
    }
  });
});
