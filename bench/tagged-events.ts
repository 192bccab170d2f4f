/**
 * Valid events of each kind, and one malformed record, carrying a tag (the show, or the metric
 * name) so a benchmark can tell when a given request's events are counted. Made here rather
 * than taken from the test fixtures: tools do not import the test harness.
 */
import { randomUUID } from 'node:crypto';

export type Kind = 'sale' | 'interaction' | 'metric' | 'rejected';
export const KINDS: readonly Kind[] = ['sale', 'interaction', 'metric', 'rejected'];

/**
 * `n` records of `kind` tagged `tag`. Sales go to `n` different users; with `largeFirst` the
 * first sale's total is above the large_amount rule's default limit (10,000), so it raises an
 * alert. A rejected record is a sale with quantity 0.
 */
export function taggedEvents(kind: Kind, tag: string, n: number, largeFirst = false): unknown[] {
  const timestamp = new Date().toISOString();
  return Array.from({ length: n }, function tagged(_, i) {
    const envelope = { id: randomUUID(), timestamp, version: 1 };
    switch (kind) {
      case 'sale':
      case 'rejected':
        return {
          ...envelope,
          event_type: 'ticket_sale',
          data: {
            event_id: tag,
            order_id: `order-${randomUUID()}`,
            user_id: `user-${tag}-${i}`,
            category: 'GA',
            quantity: kind === 'rejected' ? 0 : 2,
            amount: largeFirst && i === 0 ? '12500.00' : '120.50',
            currency: 'EUR',
            channel: 'web',
            location: { country: 'DE', city: 'Berlin' },
          },
        };
      case 'interaction':
        return {
          ...envelope,
          event_type: 'user_interaction',
          data: {
            event_id: tag,
            user_id: `user-${i}`,
            session_id: `s-${tag}`,
            action: 'page_view',
            page: '/',
          },
        };
      case 'metric':
        return {
          ...envelope,
          event_type: 'system_metric',
          data: { name: tag, value: i, unit: 'ms', tags: { host: 'bench' } },
        };
    }
  });
}
