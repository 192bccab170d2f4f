// Timestamps that parse but that ClickHouse cannot store. Found by the ingest fuzz test: a
// time before 1970 (a text one; a negative number was already refused) became a negative
// timestamp_ms, which the Kafka tables' UInt64 column refuses to parse ("Unsigned type must
// not contain '-' symbol"), so one accepted record stalled its table for good.
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../src/events/validate-event.js';
import { systemMetric, ticketSale, userInteraction } from '../fixtures/events.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');

describe('event timestamps before 1970', () => {
  it.each([
    '1970-01-01T00:00:00+14:00', // the Unix epoch's own date, east of UTC
    '1969-12-31T23:59:59.999Z',
    '1900-01-01T00:00:00Z',
    '1969-07-20T20:17:40Z',
  ])('rejects %s', (timestamp) => {
    for (const make of [ticketSale, userInteraction, systemMetric]) {
      expect(validateEvent(make({ timestamp }), NOW)).toMatchObject({
        kind: 'rejected',
        errors: [{ path: 'timestamp', message: 'is before 1970-01-01T00:00:00Z' }],
      });
    }
  });

  it('rejects a negative epoch number', () => {
    expect(validateEvent(ticketSale({ timestamp: -1 }), NOW)).toMatchObject({
      kind: 'rejected',
      errors: [{ path: 'timestamp' }],
    });
  });

  it.each(['1970-01-01T00:00:00Z', '1970-01-01T00:00:00-01:00', 0])('accepts %j', (timestamp) => {
    const result = validateEvent(ticketSale({ timestamp }), NOW);
    expect(result.kind).toBe('accepted');
    expect((result as { row: Record<string, unknown> }).row.timestamp_ms).toBeGreaterThanOrEqual(0);
  });
});
