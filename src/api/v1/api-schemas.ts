/**
 * The /v1 entity API's request and response shapes. One zod schema validates each body and
 * describes it in the OpenAPI document (`GET /v1/openapi.json`).
 */
import { z } from '@hono/zod-openapi';
import { instantPattern } from '../../events/calendar.js';
import { COUNTRY_CODES, CURRENCY_CODES } from '../../events/codes.js';
import { moneySchema } from '../../events/schemas-v1.js';
import { API_KEY_SCOPES, SHOW_STATUSES } from '../../db/schema.js';

const TIMEZONES: readonly string[] = [...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC'])].sort();

/**
 * A string that must be one of `values`, stated as an `enum` in the document. The check is a
 * Set lookup with a short message: zod's own enum error would list all 249 countries.
 */
function oneOf(values: readonly string[], message: string, example: string) {
  const allowed: ReadonlySet<string> = new Set(values);
  return z
    .string()
    .refine((value) => allowed.has(value), message)
    .openapi({ enum: [...values], example });
}

/**
 * Text Postgres can store and every JSON reader takes: no NUL (Postgres text has none), no
 * other control character, no lone UTF-16 surrogate. The pattern is what the document states;
 * its classes are spelt out, because `\s` and `.` differ between JavaScript and other
 * regex engines that read the document.
 */
const CONTROL = '\\u0000-\\u001f\\u007f';
const SPACE = '\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const TEXT = new RegExp(`^[^${CONTROL}]*$`);
/** Text that does not start or end with white space. */
const TRIMMED = new RegExp(`^[^${CONTROL}${SPACE}]([^${CONTROL}]*[^${CONTROL}${SPACE}])?$`);

function text(min: number, max: number) {
  return z
    .string()
    .min(min)
    .max(max)
    .regex(TEXT, 'must not contain control characters (NUL, newline, ...)')
    .refine((s) => s.isWellFormed(), 'must be valid Unicode text (it holds a lone surrogate)');
}

/** A name or key: 1-128 characters, no white space at either end. */
function key() {
  return z
    .string()
    .min(1)
    .max(128)
    .regex(TRIMMED, 'must not start or end with white space, nor hold control characters')
    .refine((s) => s.isWellFormed(), 'must be valid Unicode text (it holds a lone surrogate)');
}

/** Names the show, as `data.event_id` in the events does. */
export const ShowId = key().openapi({ example: 'tour-2026-berlin' });

export const Country = oneOf(COUNTRY_CODES, 'must be an ISO 3166-1 alpha-2 country code, e.g. DE', 'DE');
const Currency = oneOf(CURRENCY_CODES, 'must be an ISO 4217 currency code, e.g. EUR', 'EUR');
const Timezone = oneOf(TIMEZONES, 'must be an IANA time zone, e.g. Europe/Berlin', 'Europe/Berlin');

/**
 * An instant between 2000 and 2105 with its offset. The pattern is the whole rule, and the
 * document states it: only dates on the calendar (2026-02-30 is refused), and years that keep
 * every instant inside ClickHouse's DateTime whatever the offset (shows.starts_at is synced
 * into one).
 */
const INSTANT = new RegExp(instantPattern(2000, 2105, 'optional'));
export const Instant = z
  .string()
  .regex(INSTANT, 'must be an ISO 8601 date-time in 2000-2105 with offset, e.g. 2026-09-01T20:00:00+02:00')
  .openapi({ example: '2026-09-01T20:00:00+02:00' });

/** Money as in the events: exact decimal text, or a JSON number taken to 4 decimals. */
const Price = moneySchema.meta({ example: '49.90' });

export const CategoryBody = z.object({
  capacity: z.number().int().min(0).max(2_000_000_000),
  price: Price,
  currency: Currency,
});

export const CategoryName = key();

export const ShowCreate = z
  .object({
    id: ShowId,
    /** Required for the platform admin key; an organizer key always creates its own organizer's shows. */
    organizer_id: z.uuid().optional(),
    name: text(1, 256),
    venue: text(0, 256).default(''),
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
    name: text(1, 256),
    venue: text(0, 256),
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
  .object({ id: z.uuid().optional(), name: text(1, 256) })
  .openapi('OrganizerCreate');
export const Organizer = z.object({ id: z.string(), name: z.string() }).openapi('Organizer');

/** The largest value of a Postgres `integer` column. */
const POSTGRES_INT_MAX = 2_147_483_647;

export const Scopes = z.array(z.enum(API_KEY_SCOPES)).min(1).max(3);
export const KeyCreate = z
  .object({
    scopes: Scopes,
    ingest_records_per_second: z
      .number()
      .int()
      .positive()
      .max(POSTGRES_INT_MAX)
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

/** large_amount: its threshold (an order's amount), window and switch for this organizer. */
export const FraudOverrideBody = z
  .object({
    threshold: z.number().min(0).nullable().default(null),
    window_seconds: z.number().int().positive().max(POSTGRES_INT_MAX).nullable().default(null),
    enabled: z.boolean().default(true),
  })
  .openapi('FraudRuleOverride');

/**
 * velocity, unusual_location and refund_velocity look at a buyer's orders across organizers: one organizer can
 * switch them off for its shows, not change their limits (threshold and window stay null).
 */
export const FraudSwitchBody = z
  .object({
    threshold: z.null().default(null),
    window_seconds: z.null().default(null),
    enabled: z.boolean().default(true),
  })
  .openapi('FraudRuleSwitch');

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) })
  .openapi('Error');
