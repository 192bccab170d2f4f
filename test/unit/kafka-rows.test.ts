// The rows the API writes to Kafka: the registry writes their JSON text field by field, and
// it must be exactly what JSON.stringify gives for the same row, whatever the strings hold.
import { describe, expect, it } from 'vitest';
import { quarantineRow } from '../../src/events/event-sink.js';
import { isAccepted, validateEvent, type AcceptedEvent } from '../../src/events/validate-event.js';
import { HOSTILE_STRINGS } from '../fixtures/hostile-strings.js';
import { systemMetric, ticketRefund, ticketSale, userInteraction } from '../fixtures/events.js';

const NOW = Date.now();
/**
 * Beyond the SQL-hostile strings: what JSON escapes, and text it must leave alone. (Lone
 * surrogates are rejected before a row is written: test/unit/validate-event.test.ts.)
 */
const TEXTS = [
  ...HOSTILE_STRINGS.filter((s) => s.trim() !== ''),
  'pair 😀 ok',
  '\u2028\u2029 separators',
  '\u007f del',
  'ctrl \u0001\u001f',
];

function accept(record: unknown): AcceptedEvent {
  const result = validateEvent(record, NOW);
  if (!isAccepted(result)) throw new Error(`rejected: ${JSON.stringify(result.errors)}`);
  return result;
}

function base(event: { id: string; timestamp: string | number }) {
  const timestamp = typeof event.timestamp === 'number' ? event.timestamp : Date.parse(event.timestamp);
  return { id: event.id, version: 1, timestamp_ms: timestamp, received_at_ms: NOW };
}

describe('Kafka rows', () => {
  it.each(TEXTS)('ticket_sale with %j in every text field', (text) => {
    const event = ticketSale(
      { timestamp: '2026-05-01T11:59:00.123+02:00' },
      {
        event_id: `e${text}`,
        order_id: `o${text}`,
        user_id: `u${text}`,
        category: `c${text}`,
        amount: 12.5,
        location: { country: 'DE', city: text },
      },
    );
    const accepted = accept(event);
    const row = {
      ...base(event),
      event_id: `e${text}`,
      order_id: `o${text}`,
      user_id: `u${text}`,
      category: `c${text}`,
      quantity: 2,
      amount: '12.5',
      currency: 'EUR',
      channel: 'web',
      country: 'DE',
      city: text,
    };
    expect(accepted.value).toBe(JSON.stringify(row));
    expect(accepted.row).toEqual(row);
    expect(accepted.key).toBe(`u${text}`);
  });

  it.each(TEXTS)('ticket_refund with %j in every text field', (text) => {
    const event = ticketRefund(
      { timestamp: '2026-05-01T11:59:00.123+02:00' },
      { event_id: `e${text}`, order_id: `o${text}`, user_id: `u${text}`, category: `c${text}`, amount: 0.5 },
    );
    const accepted = accept(event);
    const row = {
      ...base(event),
      event_id: `e${text}`,
      order_id: `o${text}`,
      user_id: `u${text}`,
      category: `c${text}`,
      quantity: 1,
      amount: '0.5',
      currency: 'EUR',
      channel: 'web',
      reason: 'customer_request',
    };
    expect(accepted.value).toBe(JSON.stringify(row));
    expect(accepted.row).toEqual(row);
    expect(accepted.key).toBe(`u${text}`);
  });

  it.each(TEXTS)('user_interaction and system_metric with %j in every text field', (text) => {
    const interaction = userInteraction(
      {},
      { event_id: `e${text}`, user_id: `u${text}`, session_id: `s${text}`, page: text, referrer: text },
    );
    expect(accept(interaction).value).toBe(
      JSON.stringify({
        ...base(interaction),
        event_id: `e${text}`,
        user_id: `u${text}`,
        session_id: `s${text}`,
        action: 'page_view',
        page: text,
        referrer: text,
      }),
    );
    const metric = systemMetric(
      {},
      { name: `n${text}`, value: -0.1, unit: text, tags: { [text]: text, b: '' } },
    );
    expect(accept(metric).value).toBe(
      JSON.stringify({
        ...base(metric),
        name: `n${text}`,
        value: -0.1,
        unit: text,
        tag_keys: Object.keys({ [text]: text, b: '' }),
        tag_values: Object.values({ [text]: text, b: '' }),
      }),
    );
  });

  it('writes absent optional fields as empty strings and an upper-case id in lower case', () => {
    const sale = ticketSale({}, { location: { country: 'FR' } });
    const id = (sale.id as string).toUpperCase();
    expect(accept({ ...sale, id }).row).toMatchObject({ id: id.toLowerCase(), city: '' });
    const interaction = userInteraction({}, { page: undefined });
    expect(accept(interaction).row).toMatchObject({ page: '', referrer: '' });
    const metric = systemMetric({}, { unit: undefined, tags: undefined, value: 1e21 });
    expect(accept(metric).row).toMatchObject({ unit: '', tag_keys: [], tag_values: [], value: 1e21 });
  });

  // A finding of the ingest fuzzing: the quarantine row carries the record's id, event type and
  // error paths as sent; a lone surrogate in one was written as "\ud800", which ClickHouse
  // cannot parse, and the quarantine table stalled on it for good.
  it('writes quarantine rows with no lone surrogate, and the raw record exactly', () => {
    const raw = JSON.stringify({ id: 'x\ud800', event_type: `${'a'.repeat(63)}😀` });
    const row = quarantineRow({
      index: 0,
      id: 'x\ud800',
      eventType: `${'a'.repeat(63)}😀`.slice(0, 64),
      raw,
      errors: [{ path: 'data.tags.k\udc00', message: 'Invalid key in record' }],
      receivedAtMs: NOW,
      source: 'unit',
    });
    const read = JSON.parse(JSON.stringify(row)) as Record<string, unknown>;
    const strings = Object.values(read)
      .flat()
      .filter((v): v is string => typeof v === 'string');
    expect(strings.filter((v) => !v.isWellFormed())).toEqual([]);
    expect(read).toMatchObject({
      id: 'x\ufffd',
      event_type: `${'a'.repeat(63)}\ufffd`,
      errors: ['data.tags.k\ufffd: Invalid key in record'],
      raw,
    });
    expect(JSON.parse(read.raw as string)).toEqual({ id: 'x\ud800', event_type: `${'a'.repeat(63)}😀` });
  });
});
