// validateEvent takes a fast path for plainly valid records; it must decide and write exactly
// what the schemas alone do, for valid records and for every near miss.
import { describe, expect, it } from 'vitest';
import {
  validateEvent,
  validateWithSchemas,
  type ValidationResult,
} from '../../src/events/validate-event.js';
import { HOSTILE_STRINGS } from '../fixtures/hostile-strings.js';
import { systemMetric, ticketSale, userInteraction } from '../fixtures/events.js';

const NOW = Date.now();

/** Values that are nearly right, wrong in type, or at an edge of some field's rule. */
const ODD_VALUES: unknown[] = [
  ...HOSTILE_STRINGS,
  ' padded ',
  'tab\t',
  '\u00a0nbsp',
  'x\u3000',
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(256),
  'x'.repeat(257),
  'x'.repeat(2049),
  'lone \ud800',
  0,
  -1,
  1,
  1.5,
  100,
  101,
  2 ** 53,
  1e21,
  -0,
  0.1,
  12.34567,
  NaN,
  null,
  true,
  [],
  {},
  ['web'],
  '12.5',
  ' 12.5 ',
  '12.34567',
  '1e3',
  '0012',
  '9999999999999.0',
  'DE',
  'de',
  'ZZ',
  'XK',
  'EUR',
  'eur',
  'EURO',
  'web',
  'click',
  'dance',
  '2026-05-01T12:00:00Z',
  '2026-05-01T12:00:00',
  '2026-02-30T10:00:00Z',
  '9999-12-31T23:59:59Z',
  '+010000-01-01T00:00:00Z',
  NOW + 10 * 60_000,
  NOW - 1000,
  1e20,
  '00000000-0000-0000-0000-000000000000',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  'a0eebc99-9c0b-0ef8-bb6d-6bb9bd380a11',
  undefined,
];

function variants(event: Record<string, unknown>): unknown[] {
  const data = event.data as Record<string, unknown>;
  const out: unknown[] = [event];
  for (const value of ODD_VALUES) {
    for (const key of ['id', 'event_type', 'timestamp', 'version', 'data'])
      out.push({ ...event, [key]: value });
    for (const key of [...Object.keys(data), 'extra'])
      out.push({ ...event, data: { ...data, [key]: value } });
    if (data.location) {
      out.push({ ...event, data: { ...data, location: { country: 'DE', city: value } } });
      out.push({ ...event, data: { ...data, location: { country: value } } });
    }
  }
  const { data: _, ...withoutData } = event;
  out.push(
    withoutData,
    { ...event, version: 2 },
    { ...event, event_type: 'constructor' }.event_type && withoutData,
  );
  return out;
}

/** What a caller can observe of a result, own getters included. */
function observable(result: ValidationResult) {
  return result.kind === 'accepted'
    ? { kind: result.kind, id: result.id, eventType: result.eventType, key: result.key, value: result.value }
    : result;
}

describe('validateEvent fast path', () => {
  const cases = [
    ['ticket_sale', ticketSale()],
    ['ticket_sale without city', ticketSale({}, { location: { country: 'FR' } })],
    ['ticket_sale with epoch ms', ticketSale({ timestamp: NOW - 1000 }, { amount: 12.5 })],
    ['user_interaction', userInteraction()],
    ['user_interaction with referrer', userInteraction({}, { referrer: 'https://x.example' })],
    ['system_metric', systemMetric()],
  ] as const;

  it.each(cases)('agrees with the schemas on every variant of %s', (_name, event) => {
    let accepted = 0;
    for (const record of variants(event as Record<string, unknown>)) {
      const fast = validateEvent(record, NOW);
      expect(observable(fast), JSON.stringify(record)?.slice(0, 300)).toEqual(
        observable(validateWithSchemas(record, NOW)),
      );
      if (fast.kind === 'accepted') accepted++;
    }
    expect(accepted).toBeGreaterThan(10); // the variants do reach the accepting side
  });
});
