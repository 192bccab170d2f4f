// validateEvent on records no producer should send but anyone can.
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../src/events/validate-event.js';
import { ticketSale } from '../fixtures/events.js';

describe('validateEvent', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'rejects event_type %j as an unknown type instead of throwing',
    (eventType) => {
      const result = validateEvent({ ...ticketSale(), event_type: eventType }, Date.now());
      expect(result).toMatchObject({
        kind: 'rejected',
        errors: [{ path: 'event_type', message: expect.stringMatching(/^must be one of/) }],
      });
    },
  );

  it.each(['2026-02-30T12:00:00Z', '2027-02-29T12:00:00Z', '2026-04-31T00:00:00+02:00'])(
    'rejects the timestamp %s, a day the month does not have (Date.parse rolls it over)',
    (timestamp) => {
      const result = validateEvent(ticketSale({ timestamp }), Date.parse('2028-01-01T00:00:00Z'));
      expect(result).toMatchObject({
        kind: 'rejected',
        errors: [{ path: 'timestamp', message: 'is not a valid date' }],
      });
    },
  );

  it('accepts 29 February in a leap year', () => {
    const result = validateEvent(ticketSale({ timestamp: '2024-02-29T12:00:00Z' }), Date.now());
    expect(result.kind).toBe('accepted');
  });

  it.each(['UK', 'EU', 'SU', 'XK', 'ZZ'])(
    'rejects %s, which is not an assigned ISO 3166-1 alpha-2 code',
    (country) => {
      const result = validateEvent(ticketSale({}, { location: { country } }), Date.now());
      expect(result).toMatchObject({ kind: 'rejected', errors: [{ path: 'data.location.country' }] });
    },
  );

  it.each(['GB', 'DE', 'US', 'AQ'])('accepts %s', (country) => {
    expect(validateEvent(ticketSale({}, { location: { country } }), Date.now()).kind).toBe('accepted');
  });
});
