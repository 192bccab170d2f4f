/**
 * Ticket-sale events for the ingest benchmark, made here rather than taken from the test
 * fixtures (tools do not import the test harness). Valid, deterministic apart from the ids,
 * about 360 bytes of JSON each, ASCII like the fixture they replace (so figures compare with
 * earlier runs; non-ASCII text costs the API about 1 µs per event more in UTF-8 decoding).
 */
import { randomUUID } from 'node:crypto';

const SHOWS = ['show-001', 'show-002', 'show-003', 'show-004', 'show-005'];
const CATEGORIES = [
  { name: 'GA', price: '60.25' },
  { name: 'VIP', price: '199.90' },
  { name: 'Balcony', price: '85.00' },
];
const CHANNELS = ['web', 'web', 'app', 'box_office', 'partner'];
const PLACES = [
  { country: 'DE', city: 'Berlin', currency: 'EUR' },
  { country: 'FR', city: 'Lyon', currency: 'EUR' },
  { country: 'GB', city: 'Manchester', currency: 'GBP' },
  { country: 'SE', city: 'Gothenburg', currency: 'SEK' },
];

/** `n` valid ticket_sale envelopes (version 1), 1,000 distinct buyers, timestamps of now, spread over `shows`. */
export function saleEvents(n: number, shows: readonly string[] = SHOWS): unknown[] {
  const timestamp = new Date().toISOString();
  return Array.from({ length: n }, function sale(_, i) {
    const category = CATEGORIES[i % CATEGORIES.length]!;
    const place = PLACES[i % PLACES.length]!;
    const quantity = 1 + (i % 4);
    return {
      id: randomUUID(),
      event_type: 'ticket_sale',
      timestamp,
      version: 1,
      data: {
        event_id: shows[i % shows.length],
        order_id: `order-${randomUUID()}`,
        user_id: `user-${i % 1000}`,
        category: category.name,
        quantity,
        amount: category.price,
        currency: place.currency,
        channel: CHANNELS[i % CHANNELS.length],
        location: { country: place.country, city: place.city },
      },
    };
  });
}
