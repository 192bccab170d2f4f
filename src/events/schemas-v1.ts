/**
 * Version 1 of each event type's `data`. A later version is a new schema registered beside
 * these (src/events/registry.ts); version 1 producers keep working unchanged.
 */
import { z } from 'zod';
import { COUNTRY_CODES, CURRENCY_CODES, isCountryCode, isCurrencyCode } from './codes.js';

/**
 * Text that every JSON reader takes: no lone UTF-16 surrogate. JSON.parse makes one out of
 * `"\ud800"` and JSON.stringify writes it back as that escape, which ClickHouse refuses
 * ("missing second part of surrogate pair", 18.16 and 26.9 alike): one such row in a topic
 * stalls its Kafka table for good. A finding of the ingest fuzzing.
 */
const text = () =>
  z.string().refine((s) => s.isWellFormed(), 'must be valid Unicode text (it holds a lone surrogate)');

/** What String.prototype.trim() removes; an id must hold something else (the document's pattern). */
const TRIMMED_SPACE =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const id = (what: string) =>
  text()
    .trim()
    .min(1, `${what} must not be empty`)
    .max(128, `${what} must be at most 128 characters`)
    .meta({ pattern: `[^${TRIMMED_SPACE}]`, description: 'trimmed of white space at both ends' });
const optionalText = text().max(2048).optional();

/**
 * A JSON number as money: at most this, taken to 4 decimals (a double is not exact: 0.1 + 0.2
 * arrives as 0.30000000000000004 and is 0.3). Below this a double holds 13 significant digits,
 * so the 4-decimal text is the one the sender wrote; larger amounts, and exact ones, go as text.
 */
const MAX_NUMBER_MONEY = 100_000_000;
const MONEY_TEXT = /^\d{1,12}(\.\d{1,4})?$/;

/** Exact decimal: text up to 12 integer and 4 fraction digits, or a JSON number (above). */
export const moneySchema = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const text = typeof value === 'number' ? numberText(value) : value.trim();
    if (text === undefined || !MONEY_TEXT.test(text)) {
      ctx.addIssue({
        code: 'custom',
        message:
          typeof value === 'number'
            ? `must be a non-negative number up to ${MAX_NUMBER_MONEY} (send larger amounts as decimal text)`
            : 'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
      });
      return z.NEVER;
    }
    return text;
  })
  .meta({
    anyOf: [
      { type: 'string', pattern: MONEY_TEXT.source },
      {
        type: 'number',
        minimum: 0,
        maximum: MAX_NUMBER_MONEY,
        description: 'taken to 4 decimals; send decimal text for an exact amount',
      },
    ],
  });

/** A JSON number's decimal text, to 4 decimals. */
function numberText(value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0 || value > MAX_NUMBER_MONEY) return undefined;
  return String(Math.round(value * 10_000) / 10_000);
}

/** Tickets per order (sold or refunded). */
const quantitySchema = z.number().int('must be an integer').min(1).max(100);
const currencySchema = z
  .string()
  .refine(isCurrencyCode, 'must be an ISO 4217 currency code, e.g. EUR')
  .meta({ enum: [...CURRENCY_CODES], example: 'EUR' });
/** Where an order was placed (and where it is refunded). */
const channelSchema = z.enum(['web', 'app', 'box_office', 'partner']);

/** The fields a sale and a refund share: the order's show, buyer, category, tickets and money. */
const orderFields = {
  event_id: id('event_id'),
  order_id: id('order_id'),
  user_id: id('user_id'),
  category: id('category'),
  quantity: quantitySchema,
  amount: moneySchema,
  currency: currencySchema,
  channel: channelSchema,
};

export const ticketSaleV1 = z.object({
  ...orderFields,
  location: z.object({
    country: z
      .string()
      .refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code, e.g. DE')
      .meta({ enum: [...COUNTRY_CODES], example: 'DE' }),
    city: text().max(256).optional(),
  }),
});

/** Why an order was refunded: `ticket_refund.data.reason`. */
export const REFUND_REASONS = ['customer_request', 'chargeback', 'organizer', 'fraud', 'other'] as const;

/**
 * Tickets of an order given back and money returned. `order_id` names the refunded order;
 * `amount` is the money refunded (not the order's total), exact like a sale's.
 */
export const ticketRefundV1 = z.object({
  ...orderFields,
  reason: z.enum(REFUND_REASONS),
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
export type TicketRefundV1 = z.infer<typeof ticketRefundV1>;
export type UserInteractionV1 = z.infer<typeof userInteractionV1>;
export type SystemMetricV1 = z.infer<typeof systemMetricV1>;
