// POST /v1/events -> Kafka -> ClickHouse raw tables, exactly once, with rejects quarantined.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemMetric, ticketSale, userInteraction } from '../fixtures/events.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

describe('ingest on the real stack', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await createTestPipeline('tp_ingest');
  });
  afterAll(() => p?.close());

  it('N valid events of each type become exactly N rows, and posting them again changes nothing', async () => {
    const N = 300;
    const batch = [
      ...Array.from({ length: N }, (_, i) => ticketSale({}, { user_id: `user-${i % 17}`, amount: '10.05' })),
      ...Array.from({ length: N }, (_, i) => userInteraction({}, { user_id: `user-${i % 17}` })),
      ...Array.from({ length: N }, (_, i) => systemMetric({}, { value: i })),
    ];
    const first = await p.post(batch);
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ accepted: 3 * N, rejected: [] });

    for (const topic of ['ticket_sale', 'user_interaction', 'system_metric'] as const)
      await p.waitConsumed(topic);
    // Offsets can be committed a moment before the rows are visible: wait for them, then exact.
    expect(await p.countAtLeast('ticket_sales', N)).toBe(N);
    expect(await p.countAtLeast('user_interactions', N)).toBe(N);
    expect(await p.countAtLeast('system_metrics', N)).toBe(N);
    const [money] = await p.query<{ revenue: string }>(
      `SELECT toString(sum(amount)) AS revenue FROM ${p.database}.ticket_sales`,
    );
    expect(money?.revenue).toBe('3015.0000'); // 300 × 10.05, exact

    // A client retry: the same ids again, twice, in one request and in the next.
    const again = await p.post([...batch, ...batch.slice(0, 50)], 'application/json');
    expect(again.status).toBe(202);
    for (const topic of ['ticket_sale', 'user_interaction', 'system_metric'] as const)
      await p.waitConsumed(topic);
    expect(await p.count('ticket_sales')).toBe(N);
    expect(await p.count('user_interactions')).toBe(N);
    expect(await p.count('system_metrics')).toBe(N);
  });

  it('Kafka redelivering every message again (a consumer restart before commit) counts nothing twice', async () => {
    const before = await p.count('ticket_sales');
    const [revenue] = await p.query<{ r: string }>(
      `SELECT toString(sum(amount)) AS r FROM ${p.database}.ticket_sales`,
    );
    await p.redeliverFromStart('ticket_sale');
    await p.waitConsumed('ticket_sale', 60_000); // every message read again
    expect(await p.count('ticket_sales')).toBe(before);
    const [after] = await p.query<{ r: string }>(
      `SELECT toString(sum(amount)) AS r FROM ${p.database}.ticket_sales`,
    );
    expect(after).toEqual(revenue);
  });

  it('a request Kafka refuses as too large is a 413 (a retry cannot pass), and nothing of it counts', async () => {
    // 2,000 interactions with 2,000 random characters each: about 4 MB that gzip cannot shrink
    // under the broker's 1 MB message.max.bytes, though under INGEST_MAX_BODY_BYTES.
    const before = await p.count('user_interactions');
    const batch = Array.from({ length: 2000 }, () =>
      userInteraction({}, { event_id: 'show-large', page: randomBytes(1500).toString('base64') }),
    );
    const res = await p.post(batch);
    expect(res.status).toBe(413);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('batch_too_large');
    // The same records in requests of 100 go through.
    for (let i = 0; i < batch.length; i += 100)
      expect((await p.post(batch.slice(i, i + 100))).status).toBe(202);
    await p.waitConsumed('user_interaction', 60_000);
    expect(await p.countAtLeast('user_interactions', before + 2000)).toBe(before + 2000);
  });

  it('a batch of 10 with 3 malformed: 202, the 3 listed with reasons, quarantined, the 7 counted', async () => {
    const good = Array.from({ length: 7 }, () => ticketSale({}, { event_id: 'show-mixed' }));
    const batch: unknown[] = [...good];
    batch.splice(2, 0, ticketSale({}, { quantity: 0, event_id: 'show-mixed' }));
    batch.splice(5, 0, { ...ticketSale(), event_type: 'refund' });
    batch.splice(8, 0, ticketSale({ timestamp: 'yesterday' }, { currency: 'EURO', event_id: 'show-mixed' }));

    const res = await p.post(batch);
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      accepted: number;
      rejected: { index: number; errors: { path: string }[] }[];
    };
    expect(body.accepted).toBe(7);
    expect(body.rejected.map((r) => r.index)).toEqual([2, 5, 8]);
    expect(body.rejected.map((r) => r.errors.map((e) => e.path))).toEqual([
      ['data.quantity'],
      ['event_type'],
      ['timestamp', 'data.currency'],
    ]);

    expect(await p.countAtLeast('ticket_sales', 7, "event_id = 'show-mixed'")).toBe(7);
    await p.countAtLeast('rejected_events', 3);
    const rejected = await p.query<{
      record_index: number;
      event_type: string;
      errors: string[];
      raw: string;
    }>(
      `SELECT record_index, event_type, errors, raw FROM ${p.database}.rejected_events ORDER BY record_index`,
    );
    expect(rejected.map((r) => r.record_index)).toEqual([2, 5, 8]);
    expect(rejected[0]?.errors[0]).toMatch(/^data\.quantity: /);
    expect(rejected[1]).toMatchObject({
      event_type: 'refund',
      errors: [expect.stringMatching(/^event_type: must be one of/)],
    });
    expect(rejected[2]?.errors).toHaveLength(2);
    expect(JSON.parse(rejected[2]!.raw)).toEqual(batch[8]);
  });

  it('NDJSON with a truncated last line: the complete lines count, the broken one is quarantined', async () => {
    const lines = Array.from({ length: 4 }, () =>
      JSON.stringify(ticketSale({}, { event_id: 'show-ndjson' })),
    );
    const body = `${lines.join('\n')}\n${lines[0]!.slice(0, 40)}`;
    const res = await p.post(body, 'application/x-ndjson');
    expect(res.status).toBe(202);
    const json = (await res.json()) as {
      accepted: number;
      rejected: { index: number; errors: { message: string }[] }[];
    };
    expect(json.accepted).toBe(4);
    expect(json.rejected).toMatchObject([
      { index: 4, id: null, errors: [{ message: expect.stringMatching(/^invalid JSON/) }] },
    ]);
    expect(await p.countAtLeast('ticket_sales', 4, "event_id = 'show-ndjson'")).toBe(4);
  });

  // A finding of the ingest fuzzing: ClickHouse (18.16 and current) cannot parse a lone UTF-16
  // surrogate's JSON escape ("\ud800"), so one such row stalled its Kafka table for good.
  it('lone surrogates never stall a Kafka table: rejected in a field, replaced in the quarantine row', async () => {
    const lone = '\ud800';
    const since = Date.now();
    const batch = [
      userInteraction({}, { event_id: 'show-surrogate', page: `/a${lone}` }),
      { ...ticketSale(), id: `x${lone}` },
      { ...ticketSale(), event_type: `${'a'.repeat(63)}😀` }, // cut to 64 UTF-16 units: half a pair
      systemMetric({}, { tags: { [`k${lone}`]: 'v' } }),
      userInteraction({}, { event_id: 'show-surrogate', page: '/😀' }),
    ];
    const res = await p.post(batch);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: { index: number }[] };
    expect(body).toMatchObject({ accepted: 1 });
    expect(body.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3]);

    await p.waitConsumed('user_interaction');
    await p.waitConsumed('rejected');
    expect(await p.countAtLeast('user_interactions', 1, "event_id = 'show-surrogate'")).toBe(1);
    await p.countAtLeast('rejected_events', 4, `received_at_ms >= ${since}`);
    const rows = await p.query<{ id: string; event_type: string; raw: string }>(
      `SELECT id, event_type, raw FROM ${p.database}.rejected_events
       WHERE received_at_ms >= ${since} ORDER BY record_index`,
    );
    expect(rows.map((r) => JSON.parse(r.raw))).toEqual(batch.slice(0, 4));
    expect(rows[1]?.id).toBe('x\ufffd');
    expect(rows[2]?.event_type).toBe(`${'a'.repeat(63)}\ufffd`);
  });
});
