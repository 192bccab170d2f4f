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
});
