/**
 * Version 1 of each event type's `data`. A later version is a new schema registered beside
 * these (src/events/registry.ts); version 1 producers keep working unchanged.
 */
import { z } from 'zod';
import { isCountryCode, isCurrencyCode } from './codes.js';

/** Sales channels. */
export const CHANNELS = ['web', 'app', 'box_office', 'partner'] as const;
/** What a user can do, in `user_interaction.data.action`. */
export const ACTIONS = [
  'page_view',
  'click',
  'add_to_cart',
  'checkout_started',
  'checkout_completed',
  'queue_joined',
] as const;

const id = (what: string) =>
  z.string().trim().min(1, `${what} must not be empty`).max(128, `${what} must be at most 128 characters`);
const optionalText = z.string().max(2048).optional();

/** Exact decimal, up to 12 integer and 4 fraction digits, as a string or a JSON number. */
export const moneySchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const text = moneyText(value);
  if (text === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
    });
    return z.NEVER;
  }
  return text;
});

/** The exact decimal text of a string or JSON number `moneySchema` accepts, else undefined. */
export function moneyText(value: string | number): string | undefined {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  return text !== undefined && MONEY.test(text) ? text : undefined;
}

const MONEY = /^\d{1,12}(\.\d{1,4})?$/;

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
  channel: z.enum(CHANNELS),
  location: z.object({
    country: z.string().refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code, e.g. DE'),
    city: z.string().max(256).optional(),
  }),
});

export const userInteractionV1 = z.object({
  event_id: id('event_id'),
  user_id: id('user_id'),
  session_id: id('session_id'),
  action: z.enum(ACTIONS),
  page: optionalText,
  referrer: optionalText,
});

export const systemMetricV1 = z.object({
  name: id('name'),
  value: z.number().finite('must be a finite number'),
  unit: z.string().max(64).optional(),
  tags: z.record(z.string().max(256), z.string().max(1024)).default({}),
});

/**
 * True when `id(what)` accepts `value` unchanged: a string of 1 to 128 characters that trim
 * leaves alone (first and last characters printable ASCII). Anything else, valid or not, is
 * left to the schema.
 */
export function isPlainId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 128 &&
    isPrintableAscii(value.charCodeAt(0)) &&
    isPrintableAscii(value.charCodeAt(value.length - 1))
  );
}

function isPrintableAscii(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}

export type TicketSaleV1 = z.infer<typeof ticketSaleV1>;
export type UserInteractionV1 = z.infer<typeof userInteractionV1>;
export type SystemMetricV1 = z.infer<typeof systemMetricV1>;
