// With the broker stopped the API answers 503 + Retry-After quickly and claims nothing;
// after it returns, every record ever answered 2xx is in ClickHouse. Stops the local
// stack's Kafka, so it needs the stack that `npm run stack -- up` started (as CI does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaService } from '../../scripts/stack/kafka.js';
import { stackDirs } from '../../scripts/stack/service.js';
import { ticketSale } from '../fixtures/events.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const localKafka = process.env.KAFKA_BROKERS === undefined;
const kafka = kafkaService(stackDirs());

describe.skipIf(!localKafka)('ingest while Kafka is down (local stack only)', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline('tp_outage', { env: { INGEST_KAFKA_TIMEOUT_MS: '3000' } });
  });
  afterAll(async () => {
    if (kafka.pid() === undefined) await kafka.start(() => undefined);
    await p?.close();
  });

  it('answers 503 with Retry-After, then loses nothing it acknowledged', async () => {
    const before = Array.from({ length: 20 }, () => ticketSale({}, { event_id: 'show-outage' }));
    expect((await p.post(before)).status).toBe(202);

    expect(await kafka.stop()).toBe(true);
    const during = Array.from({ length: 20 }, () => ticketSale({}, { event_id: 'show-outage' }));
    const started = Date.now();
    const refused = await p.post(during);
    const elapsed = Date.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { code: 'kafka_unavailable' } });
    expect(elapsed).toBeLessThan(10_000); // "within a few seconds"; the deadline is 3 s

    await kafka.start(() => undefined);
    // The producer retries as a client would after Retry-After.
    const retried = await p.post(during);
    expect(retried.status).toBe(202);

    expect(await p.countAtLeast('ticket_sales', 40, "event_id = 'show-outage'", 60_000)).toBe(40);
    await p.waitConsumed('ticket_sale', 60_000); // and nothing more arrives
    expect(await p.count('ticket_sales', "event_id = 'show-outage'")).toBe(40);
  });
});
