// The HTTP contract of POST /v1/events, in-process, with a recording sink standing in for
// Kafka (the Kafka path itself is covered by the integration tests).
import { describe, expect, it } from 'vitest';
import { SinkRejectedError, SinkUnavailableError, type EventSink } from '../../src/events/event-sink.js';
import { ingestApp } from '../fixtures/ingest-app.js';
import { systemMetric, ticketSale, userInteraction } from '../fixtures/events.js';

const KEY = 'unit-test-key';

function setup(
  options: {
    failing?: boolean;
    refusing?: 'too_large' | 'permanent';
    maxBodyBytes?: number;
    maxRecords?: number;
  } = {},
) {
  const published: { accepted: number; rejected: number }[] = [];
  const sink: EventSink = {
    async publish(accepted, rejected) {
      if (options.failing) throw new SinkUnavailableError('broker down');
      if (options.refusing) throw new SinkRejectedError(options.refusing, 'refused');
      published.push({ accepted: accepted.length, rejected: rejected.length });
    },
  };
  const { post } = ingestApp(sink, KEY, {
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    maxRecords: options.maxRecords ?? 100,
    retryAfterSeconds: 7,
  });
  return { post, published };
}

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('POST /v1/events', () => {
  it('accepts one object, an array, and NDJSON', async () => {
    const { post, published } = setup();
    expect((await post(JSON.stringify(ticketSale()))).status).toBe(202);
    const array = await post(JSON.stringify([ticketSale(), userInteraction(), systemMetric()]));
    expect(await array.json()).toEqual({ accepted: 3, rejected: [] });
    const ndjson = await post(`${JSON.stringify(ticketSale())}\r\n\n${JSON.stringify(systemMetric())}\n`, {
      'content-type': 'application/x-ndjson',
    });
    expect(await ndjson.json()).toEqual({ accepted: 2, rejected: [] });
    expect(published).toEqual([
      { accepted: 1, rejected: 0 },
      { accepted: 3, rejected: 0 },
      { accepted: 2, rejected: 0 },
    ]);
  });

  it('answers 400 with every record listed when none is valid', async () => {
    const { post, published } = setup();
    const res = await post(JSON.stringify([{ ...ticketSale(), version: 9 }, 42]));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      accepted: 0,
      rejected: [
        {
          index: 0,
          id: expect.any(String),
          errors: [{ path: 'version', message: 'ticket_sale has no version 9; supported: 1' }],
        },
        { index: 1, id: null, errors: [{ path: '', message: 'each event must be a JSON object' }] },
      ],
    });
    expect(published).toEqual([{ accepted: 0, rejected: 2 }]); // quarantined all the same
  });

  it('rejects wrong types and future timestamps with the field path', async () => {
    const { post } = setup();
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const res = await post(
      JSON.stringify([
        ticketSale({}, { quantity: '2', amount: -1 }),
        ticketSale({ timestamp: future }),
        userInteraction({}, { action: 'dance' }),
        systemMetric({}, { value: 'high', tags: { a: 1 } }),
      ]),
    );
    const body = (await res.json()) as { rejected: { errors: { path: string }[] }[] };
    expect(body.rejected.map((r) => r.errors.map((e) => e.path))).toEqual([
      ['data.quantity', 'data.amount'],
      ['timestamp'],
      ['data.action'],
      ['data.value', 'data.tags.a'],
    ]);
  });

  it.each([
    ['not JSON', '{"id": ', 'application/json', 400, 'invalid_json'],
    ['a JSON scalar', '"hello"', 'application/json', 400, 'invalid_body'],
    ['an empty array', '[]', 'application/json', 400, 'empty_body'],
    ['an empty NDJSON body', '\n\n', 'application/x-ndjson', 400, 'empty_body'],
    ['another content type', '<xml/>', 'text/xml', 415, 'unsupported_media_type'],
  ])('answers %s with its status and code', async (_what, body, contentType, status, code) => {
    const { post, published } = setup();
    const res = await post(body, { 'content-type': contentType });
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe(code);
    expect(published).toEqual([]);
  });

  it('answers 413 over the body size or record limit', async () => {
    const small = setup({ maxBodyBytes: 1000 });
    const big = await small.post(JSON.stringify(Array.from({ length: 10 }, () => ticketSale())));
    expect(big.status).toBe(413);
    expect(await errorOf(big)).toMatchObject({
      code: 'body_too_large',
      message: 'the body exceeds 1000 bytes',
    });

    const few = setup({ maxRecords: 3 });
    const many = await few.post(JSON.stringify(Array.from({ length: 4 }, () => ticketSale())));
    expect(many.status).toBe(413);
    expect(await errorOf(many)).toMatchObject({ code: 'too_many_records' });
  });

  it('answers 401 without a valid key', async () => {
    const { post } = setup();
    const missing = await post(JSON.stringify(ticketSale()), { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await errorOf(missing)).message).toMatch(/missing API key/);
    const wrong = await post(JSON.stringify(ticketSale()), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
  });

  it('answers 503 with Retry-After and claims nothing when Kafka does not acknowledge', async () => {
    const { post } = setup({ failing: true });
    const res = await post(JSON.stringify([ticketSale(), { bad: true }]));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty('accepted');
    expect(body.error).toMatchObject({ code: 'kafka_unavailable' });
  });

  it('answers 413 without Retry-After when Kafka refuses the batch as too large, 502 for another refusal', async () => {
    const tooLarge = await setup({ refusing: 'too_large' }).post(JSON.stringify([ticketSale()]));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('retry-after')).toBeNull();
    expect((await errorOf(tooLarge)).code).toBe('batch_too_large');
    const refused = await setup({ refusing: 'permanent' }).post(JSON.stringify([ticketSale()]));
    expect(refused.status).toBe(502);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect((await errorOf(refused)).code).toBe('kafka_rejected');
  });

  it('never answers 500 to client input', async () => {
    const { post } = setup();
    const bodies = [
      '',
      'null',
      '[null, [], {}, "x", 1e999]',
      '{"__proto__": {"polluted": true}, "id": 1}',
      JSON.stringify({ ...ticketSale(), data: { ...ticketSale().data, location: 'DE' } }),
      JSON.stringify({ ...ticketSale(), timestamp: 1e20 }),
      JSON.stringify({ ...ticketSale(), timestamp: '2026-02-30T10:00:00Z' }),
      JSON.stringify({ ...systemMetric(), data: { name: 'x', value: 1, tags: null } }),
      '\u0000\uFFFF',
      '[' + '['.repeat(5000) + ']'.repeat(5000) + ']',
    ];
    for (const contentType of ['application/json', 'application/x-ndjson']) {
      for (const body of bodies) {
        const res = await post(body, { 'content-type': contentType });
        expect([202, 400], `${contentType}: ${body.slice(0, 40)}`).toContain(res.status);
      }
    }
  });
});
