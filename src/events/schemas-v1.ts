/**
 * Version 1 of each event type's `data`. A later version is a new schema registered beside
 * these (src/events/registry.ts); version 1 producers keep working unchanged.
 */
import { z } from 'zod';
import { isCountryCode, isCurrencyCode } from './codes.js';

/**
 * Text that every JSON reader takes: no lone UTF-16 surrogate. JSON.parse makes one out of
 * `"\ud800"` and JSON.stringify writes it back as that escape, which ClickHouse refuses
 * ("missing second part of surrogate pair", 18.16 and 26.9 alike): one such row in a topic
 * stalls its Kafka table for good. A finding of the ingest fuzzing.
 */
const text = () =>
  z.string().refine((s) => s.isWellFormed(), 'must be valid Unicode text (it holds a lone surrogate)');

const id = (what: string) =>
  text().trim().min(1, `${what} must not be empty`).max(128, `${what} must be at most 128 characters`);
const optionalText = text().max(2048).optional();

/** Exact decimal, up to 12 integer and 4 fraction digits, as a string or a JSON number. */
export const moneySchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  if (text === undefined || !/^\d{1,12}(\.\d{1,4})?$/.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
    });
    return z.NEVER;
  }
  return text;
});

/** A JSON number's shortest round-trip text, if it is plain decimal notation. */
function numberText(value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  const text = String(value);
  return /e/i.test(text) ? undefined : text;
}

export const ticketSaleV1 = z.object({
  event_id: id('event_id'),
  order_id: id('order_id'),
  user_id: id('user_id'),
  category: id('category'),
  quantity: z.number().int('must be an integer').min(1).max(100),
  amount: moneySchema,
  currency: z.string().refine(isCurrencyCode, 'must be an ISO 4217 currency code, e.g. EUR'),
  channel: z.enum(['web', 'app', 'box_office', 'partner']),
  location: z.object({
    country: z.string().refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code, e.g. DE'),
    city: text().max(256).optional(),
  }),
});

export const userInteractionV1 = z.object({
  event_id: id('event_id'),
  user_id: id('user_id'),
  session_id: id('session_id'),
  action: z.enum([
    'page_view',
    'click',
    'add_to_cart',
    'checkout_started',
    'checkout_completed',
    'queue_joined',
  ]),
  page: optionalText,
  referrer: optionalText,
});

/**
 * zod skips a record key named `__proto__` (it would replace the prototype of the object it
 * builds), so such a tag vanished from an accepted event. Refused instead: a fuzz finding.
 */
function refuseProtoKey(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({
      code: 'custom',
      path: ['__proto__'],
      message: 'a tag must not be named __proto__',
      input: value,
    });
  }
  return value;
}

export const systemMetricV1 = z.object({
  name: id('name'),
  value: z.number().finite('must be a finite number'),
  unit: text().max(64).optional(),
  tags: z.preprocess(refuseProtoKey, z.record(text().max(256), text().max(1024))).default({}),
});

export type TicketSaleV1 = z.infer<typeof ticketSaleV1>;
export type UserInteractionV1 = z.infer<typeof userInteractionV1>;
export type SystemMetricV1 = z.infer<typeof systemMetricV1>;
