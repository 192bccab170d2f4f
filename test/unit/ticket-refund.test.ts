// ticket_refund, version 1: validated, flattened and routed like a sale, scoped to the key's
// organizer like a sale, and described in the OpenAPI document.
import { describe, expect, it } from 'vitest';
import { documentIngestRoute } from '../../src/api/v1/ingest-document.js';
import { createOpenApiApp, serveOpenApiDocument } from '../../src/api/v1/openapi-app.js';
import { createIngestRoute } from '../../src/api/ingest-route.js';
import type { KeyStore } from '../../src/auth/key-store.js';
import type { Principal } from '../../src/auth/principal.js';
import type { ShowOwners } from '../../src/auth/show-owners.js';
import type { EventSink, QuarantinedRecord } from '../../src/events/event-sink.js';
import { COLUMNS } from '../../src/events/registry.js';
import { REFUND_REASONS } from '../../src/events/schemas-v1.js';
import { partitionOf } from '../../src/events/topic-messages.js';
import { isAccepted, validateEvent, type AcceptedEvent } from '../../src/events/validate-event.js';
import { batchByTopic } from '../../src/kafka/kafka-event-sink.js';
import { PARTITIONS, shardOf, shardTopicNames, STREAM_OF, queueTableOf } from '../../src/kafka/topology.js';
import { DEDUP_STREAMS } from '../../src/dedup/set-ring.js';
import { ticketRefund, ticketSale } from '../fixtures/events.js';

const NOW = Date.now();

function accept(record: unknown): AcceptedEvent {
  const result = validateEvent(record, NOW);
  if (!isAccepted(result)) throw new Error(`rejected: ${JSON.stringify(result.errors)}`);
  return result;
}

describe('ticket_refund version 1', () => {
  it('accepts a refund and writes its row cells in COLUMNS order', () => {
    const id = 'A1B2C3D4-0000-4000-8000-00000000000F';
    const refund = ticketRefund(
      { id, timestamp: '2025-06-01T13:59:00.250+02:00' },
      {
        event_id: 'show-9',
        order_id: 'o-42',
        user_id: 'u-7',
        category: 'VIP',
        quantity: 2,
        amount: '199.9000',
        currency: 'GBP',
        channel: 'box_office',
        reason: 'chargeback',
      },
    );
    const accepted = accept(refund);
    expect(accepted.eventType).toBe('ticket_refund');
    expect(COLUMNS.ticket_refund).toEqual([
      'id',
      'version',
      'timestamp_ms',
      'received_at_ms',
      'event_id',
      'order_id',
      'user_id',
      'category',
      'quantity',
      'amount',
      'currency',
      'channel',
      'reason',
    ]);
    expect(accepted.cells).toEqual([
      '"a1b2c3d4-0000-4000-8000-00000000000f"',
      '1',
      String(Date.parse('2025-06-01T11:59:00.250Z')),
      String(NOW),
      '"show-9"',
      '"o-42"',
      '"u-7"',
      '"VIP"',
      '2',
      '"199.9000"',
      '"GBP"',
      '"box_office"',
      '"chargeback"',
    ]);
    expect(accepted.row).toEqual({
      id: id.toLowerCase(),
      version: 1,
      timestamp_ms: Date.parse('2025-06-01T11:59:00.250Z'),
      received_at_ms: NOW,
      event_id: 'show-9',
      order_id: 'o-42',
      user_id: 'u-7',
      category: 'VIP',
      quantity: 2,
      amount: '199.9000',
      currency: 'GBP',
      channel: 'box_office',
      reason: 'chargeback',
    });
    expect(accepted.value).toBe(JSON.stringify(accepted.row));
    // Keyed by buyer like a sale; scoped by its show like a sale.
    expect(accepted.key).toBe('u-7');
    expect(accepted.showId).toBe('show-9');
  });

  it.each(REFUND_REASONS)('accepts reason %s', (reason) => {
    expect(accept(ticketRefund({}, { reason })).row).toMatchObject({ reason });
  });

  it('takes money like a sale: 0, decimal text as written, a JSON number to 4 decimals', () => {
    expect(accept(ticketRefund({}, { amount: '0' })).row).toMatchObject({ amount: '0' });
    expect(accept(ticketRefund({}, { amount: ' 12.50 ' })).row).toMatchObject({ amount: '12.50' });
    expect(accept(ticketRefund({}, { amount: 0.1 + 0.2 })).row).toMatchObject({ amount: '0.3' });
    expect(accept(ticketRefund({}, { quantity: 100 })).row).toMatchObject({ quantity: 100 });
  });

  const withoutOrderId = ticketRefund();
  delete (withoutOrderId.data as Record<string, unknown>).order_id;

  it.each([
    ['data.order_id', 'missing', withoutOrderId, 'is required'],
    ['data.order_id', 'blank', ticketRefund({}, { order_id: '  ' }), 'order_id must not be empty'],
    ['data.quantity', '0', ticketRefund({}, { quantity: 0 }), 'Too small: expected number to be >=1'],
    ['data.quantity', '101', ticketRefund({}, { quantity: 101 }), 'Too big: expected number to be <=100'],
    ['data.quantity', '1.5', ticketRefund({}, { quantity: 1.5 }), 'must be an integer'],
    [
      'data.amount',
      '"-5.00"',
      ticketRefund({}, { amount: '-5.00' }),
      'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
    ],
    [
      'data.amount',
      '-5',
      ticketRefund({}, { amount: -5 }),
      'must be a non-negative number up to 100000000 (send larger amounts as decimal text)',
    ],
    [
      'data.amount',
      '"1.23456" (5 decimals)',
      ticketRefund({}, { amount: '1.23456' }),
      'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
    ],
    [
      'data.reason',
      '"changed_mind"',
      ticketRefund({}, { reason: 'changed_mind' }),
      'Invalid option: expected one of "customer_request"|"chargeback"|"organizer"|"fraud"|"other"',
    ],
    ['data.reason', 'missing', ticketRefund({}, { reason: undefined }), 'is required'],
    [
      'data.currency',
      '"EURO"',
      ticketRefund({}, { currency: 'EURO' }),
      'must be an ISO 4217 currency code, e.g. EUR',
    ],
    [
      'data.channel',
      '"phone"',
      ticketRefund({}, { channel: 'phone' }),
      'Invalid option: expected one of "web"|"app"|"box_office"|"partner"',
    ],
  ])('rejects %s %s, naming the field', (path, _what, record, message) => {
    expect(validateEvent(record, NOW)).toEqual({
      kind: 'rejected',
      id: record.id,
      errors: [{ path, message }],
    });
  });

  it('lists every bad field of one refund, and knows only version 1', () => {
    const result = validateEvent(ticketRefund({}, { quantity: 0, amount: -1, reason: 'x' }), NOW);
    expect(result.kind === 'rejected' && result.errors.map((e) => e.path)).toEqual([
      'data.quantity',
      'data.amount',
      'data.reason',
    ]);
    expect(validateEvent(ticketRefund({ version: 2 }), NOW)).toMatchObject({
      kind: 'rejected',
      errors: [{ path: 'version', message: 'ticket_refund has no version 2; supported: 1' }],
    });
  });

  it("goes to events.ticket_refund, on the buyer's partition and shard, as a sale does", () => {
    expect(PARTITIONS.ticket_refund).toBe(6);
    expect(STREAM_OF.ticket_refund).toBe('ticket_refunds');
    expect(queueTableOf('ticket_refund')).toBe('ticket_refunds_queue');
    expect(DEDUP_STREAMS).toContain('ticket_refunds');
    for (const shards of [0, 2]) {
      const topics = shardTopicNames('t.', shards);
      for (const user of ['u-1', 'u-2', 'buyer-ü', 'x'.repeat(40)]) {
        const sale = accept(ticketSale({}, { user_id: user }));
        const refund = accept(ticketRefund({}, { user_id: user }));
        const [saleBatch] = batchByTopic(topics, [sale], []);
        const [refundBatch] = batchByTopic(topics, [refund], []);
        const shard = shardOf(user, topics.ticket_refund.length);
        expect(refundBatch!.topic).toBe(topics.ticket_refund[shard]);
        expect(saleBatch!.topic).toBe(topics.ticket_sale[shard]);
        expect(refundBatch!.topic).toBe(
          shards === 0 ? 't.events.ticket_refund' : `t.events.ticket_refund.s${shard + 1}`,
        );
        expect(refundBatch!.messages.map((m) => m.partition)).toEqual([partitionOf(user, 6)]);
        expect(refundBatch!.messages.map((m) => m.partition)).toEqual(
          saleBatch!.messages.map((m) => m.partition),
        );
        const message = JSON.parse(String(refundBatch!.messages[0]!.value)) as Record<string, unknown[]>;
        expect(Object.keys(message)).toEqual(COLUMNS.ticket_refund);
      }
    }
  });
});

describe('POST /v1/events with refunds and an organizer key', () => {
  const organizer: Principal = { kind: 'organizer', keyId: 'k-1', organizerId: 'org-a', scopes: ['ingest'] };
  const platform: Principal = { kind: 'platform', name: 'unit', scopes: ['ingest'] };
  const keys: KeyStore = {
    async find(key) {
      return key === 'org-key' ? organizer : key === 'platform-key' ? platform : undefined;
    },
    forget() {},
    close() {},
  };
  const showOwners: ShowOwners = {
    async ownersOf(ids) {
      const owners: Record<string, string> = { 'show-a': 'org-a', 'show-b': 'org-b' };
      return new Map([...ids].map((id) => [id, owners[id] ?? null]));
    },
    close() {},
  };

  function setup() {
    const published: { accepted: AcceptedEvent[]; quarantined: QuarantinedRecord[] }[] = [];
    const sink: EventSink = {
      async publish(accepted, quarantined) {
        published.push({ accepted, quarantined });
      },
    };
    const app = createIngestRoute({
      sink,
      keys,
      showOwners,
      maxBodyBytes: 1 << 20,
      maxRecords: 100,
      retryAfterSeconds: 1,
      now: () => NOW,
    });
    const post = (key: string, body: unknown) =>
      app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    return { post, published };
  }

  it("accepts refunds of the key's own shows only; the others are quarantined with the key as source", async () => {
    const { post, published } = setup();
    const records = [
      ticketRefund({}, { event_id: 'show-a' }),
      ticketRefund({}, { event_id: 'show-b' }),
      ticketRefund({}, { event_id: 'show-zz' }),
    ];
    const res = await post('org-key', records);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 1,
      rejected: [
        {
          index: 1,
          id: records[1]!.id,
          errors: [{ path: 'data.event_id', message: "show 'show-b' belongs to another organizer" }],
        },
        {
          index: 2,
          id: records[2]!.id,
          errors: [
            {
              path: 'data.event_id',
              message: "unknown show 'show-zz': register it with POST /v1/shows first",
            },
          ],
        },
      ],
    });
    expect(published).toHaveLength(1);
    expect(published[0]!.accepted.map((e) => [e.eventType, e.showId])).toEqual([['ticket_refund', 'show-a']]);
    expect(published[0]!.quarantined.map((q) => [q.eventType, q.source])).toEqual([
      ['ticket_refund', 'key:k-1'],
      ['ticket_refund', 'key:k-1'],
    ]);
  });

  it('lets a platform key send refunds for any show', async () => {
    const { post } = setup();
    const res = await post('platform-key', [
      ticketRefund({}, { event_id: 'show-b' }),
      ticketRefund({}, { event_id: 'show-zz' }),
    ]);
    expect(await res.json()).toEqual({ accepted: 2, rejected: [] });
  });
});

describe('the OpenAPI document', () => {
  it('has a ticket_refund variant of Event with its data schema', async () => {
    const app = createOpenApiApp();
    documentIngestRoute(app, { maxRecords: 10 });
    serveOpenApiDocument(app);
    const doc = (await (await app.request('/v1/openapi.json')).json()) as {
      components: { schemas: { Event: { anyOf: Variant[] } } };
    };
    interface Variant {
      properties: {
        event_type: { enum: string[] };
        version: { enum: number[] };
        data: {
          properties: Record<string, { enum?: string[]; minimum?: number; maximum?: number }>;
          required: string[];
        };
      };
    }
    const variants = doc.components.schemas.Event.anyOf;
    expect(variants.map((v) => v.properties.event_type.enum)).toContainEqual(['ticket_refund']);
    const refund = variants.find((v) => v.properties.event_type.enum[0] === 'ticket_refund')!;
    expect(refund.properties.version.enum).toEqual([1]);
    const data = refund.properties.data;
    expect(data.required).toEqual(COLUMNS.ticket_refund.slice(4));
    expect(data.properties.reason!.enum).toEqual([...REFUND_REASONS]);
    expect(data.properties.channel!.enum).toEqual(['web', 'app', 'box_office', 'partner']);
    expect(data.properties.quantity).toMatchObject({ minimum: 1, maximum: 100 });
    expect(data.properties.currency!.enum).toContain('EUR');
  });
});
