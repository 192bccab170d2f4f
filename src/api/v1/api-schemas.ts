/**
 * The /v1 entity API's request and response shapes. One zod schema validates each body and
 * describes it in the OpenAPI document (`GET /v1/openapi.json`).
 */
import { z } from '@hono/zod-openapi';
import { hasRealCalendarDate } from '../../events/calendar.js';
import { isCountryCode, isCurrencyCode } from '../../events/codes.js';
import { API_KEY_SCOPES, FRAUD_RULES, SHOW_STATUSES } from '../../db/schema.js';

const timezones = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);

/** Same rules as `data.event_id` in the events, which names the show. */
export const ShowId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^\S(.*\S)?$/, 'must not start or end with whitespace')
  .openapi({ example: 'tour-2026-berlin' });

export const Country = z
  .string()
  .refine(isCountryCode, 'must be an ISO 3166-1 alpha-2 country code, e.g. DE')
  .openapi({ example: 'DE' });
const Currency = z
  .string()
  .refine(isCurrencyCode, 'must be an ISO 4217 currency code, e.g. EUR')
  .openapi({ example: 'EUR' });
const Timezone = z
  .string()
  .refine((tz) => timezones.has(tz), 'must be an IANA time zone, e.g. Europe/Berlin')
  .openapi({ example: 'Europe/Berlin' });

/** An instant with its offset; a calendar date that does not exist (2026-02-30) is refused. */
export const Instant = z
  .string()
  .refine(isRealInstant, 'must be an ISO 8601 date-time with offset, e.g. 2026-09-01T20:00:00+02:00')
  .openapi({ example: '2026-09-01T20:00:00+02:00' });

function isRealInstant(text: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) &&
    !Number.isNaN(Date.parse(text)) &&
    hasRealCalendarDate(text)
  );
}

/** Decimal text (exact) or a JSON number, up to 12 integer and 4 fraction digits. */
const Price = z
  .union([z.string(), z.number()])
  .refine(
    (v) => /^\d{1,12}(\.\d{1,4})?$/.test(typeof v === 'number' ? String(v) : v),
    'must be a non-negative decimal with at most 12 integer and 4 fraction digits',
  )
  .openapi({ example: '49.90' });

export const CategoryBody = z.object({
  capacity: z.number().int().min(0).max(2_000_000_000),
  price: Price,
  currency: Currency,
});

export const CategoryName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^\S(.*\S)?$/, 'must not start or end with whitespace');

export const ShowCreate = z
  .object({
    id: ShowId,
    /** Required for the platform admin key; an organizer key always creates its own organizer's shows. */
    organizer_id: z.uuid().optional(),
    name: z.string().min(1).max(256),
    venue: z.string().max(256).default(''),
    country: Country,
    timezone: Timezone.default('UTC'),
    starts_at: Instant,
    status: z.enum(SHOW_STATUSES).default('on_sale'),
    categories: z
      .array(CategoryBody.extend({ category: CategoryName }))
      .max(1000)
      .default([]),
  })
  .openapi('ShowCreate');

export const ShowPatchBody = z
  .object({
    name: z.string().min(1).max(256),
    venue: z.string().max(256),
    country: Country,
    timezone: Timezone,
    starts_at: Instant,
    status: z.enum(SHOW_STATUSES),
  })
  .partial()
  .strict()
  .openapi('ShowPatch');

export const Category = z
  .object({ category: z.string(), capacity: z.number().int(), price: z.string(), currency: z.string() })
  .openapi('Category');

export const Show = z
  .object({
    id: z.string(),
    organizer_id: z.string(),
    name: z.string(),
    venue: z.string(),
    country: z.string(),
    timezone: z.string(),
    starts_at: z.string(),
    status: z.enum(SHOW_STATUSES),
    updated_at: z.string(),
    categories: z.array(Category),
  })
  .openapi('Show');

export const OrganizerCreate = z
  .object({ id: z.uuid().optional(), name: z.string().min(1).max(256) })
  .openapi('OrganizerCreate');
export const Organizer = z.object({ id: z.string(), name: z.string() }).openapi('Organizer');

export const Scopes = z.array(z.enum(API_KEY_SCOPES)).min(1).max(3);
export const KeyCreate = z
  .object({
    scopes: Scopes,
    ingest_records_per_second: z
      .number()
      .int()
      .positive()
      .optional()
      .openapi({ description: 'ingest limit of this key; default INGEST_RATE_LIMIT_PER_SECOND' }),
  })
  .openapi('KeyCreate');
export const CreatedKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: 'shown once; only its hash is kept' }),
    scopes: Scopes,
  })
  .openapi('CreatedKey');
export const RevokedKey = z.object({ id: z.string(), revoked_at: z.string() }).openapi('RevokedKey');

export const LiveToken = z
  .object({
    token: z.string().openapi({
      description:
        'offer it as the subprotocol `token.<token>` beside `ticketpulse.live.v1`, or send `{"type":"auth","token":…}` first',
    }),
    expires_at: z.string().openapi({ description: 'when it expires (ISO 8601): connect before then' }),
    expires_in: z.number().int().openapi({ description: 'seconds until then (LIVE_TOKEN_TTL_SECONDS)' }),
  })
  .openapi('LiveToken');

export const PricingRuleBody = z
  .object({
    hot_sell_through: z.number().gt(0).max(1),
    early_sellout_hours: z.number().min(0),
    surge_factor: z.number().min(0),
    max_multiplier: z.number().min(1),
  })
  .openapi('PricingRule');

export const FraudRuleName = z.enum(FRAUD_RULES);
export const FraudOverrideBody = z
  .object({
    threshold: z.number().nullable().default(null),
    window_seconds: z.number().int().positive().nullable().default(null),
    enabled: z.boolean().default(true),
  })
  .openapi('FraudRuleOverride');

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) })
  .openapi('Error');

export const IdParam = z.object({ id: z.string().min(1).max(128) });
