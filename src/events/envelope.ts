/**
 * The event envelope every producer sends: `{ id, event_type, timestamp, version, data }`.
 * `id` is the producer's idempotency key; `timestamp` is normalised to UTC epoch milliseconds.
 */
import { z } from 'zod';
import { hasRealCalendarDate, instantPattern } from './calendar.js';

export const EVENT_TYPES = ['ticket_sale', 'ticket_refund', 'user_interaction', 'system_metric'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** How far in the future an event's timestamp may be (clock skew allowance). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** 9999-12-31T23:59:59Z, the last instant RFC 3339 can write (the text form's bound). */
const MAX_TIMESTAMP_MS = 253_402_300_799_000;

const RFC3339_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * RFC 3339 text with an offset, or epoch milliseconds; becomes epoch milliseconds (UTC).
 * Nothing before 1970 either way: the Kafka tables read `timestamp_ms` as UInt64, and
 * ClickHouse cannot parse a negative one, so a single such record would stall its table for
 * good (found by the fuzz test: `1970-01-01T00:00:00+14:00` is -50,400,000 ms).
 */
export const timestampSchema = z
  .union([
    z.string().regex(RFC3339_WITH_OFFSET, 'must be RFC 3339 with an offset, e.g. 2026-05-01T12:00:00Z'),
    z.number().int('epoch milliseconds must be an integer').nonnegative(),
  ])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : Date.parse(value);
    if (
      !Number.isFinite(ms) ||
      ms > MAX_TIMESTAMP_MS ||
      (typeof value === 'string' && !hasRealCalendarDate(value))
    ) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid date' });
      return z.NEVER;
    }
    if (ms < 0) {
      ctx.addIssue({ code: 'custom', message: 'is before 1970-01-01T00:00:00Z' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({
    description:
      'RFC 3339 with an offset, or epoch milliseconds; at most 5 minutes ahead of the server clock',
    // What a schema can state of it, a subset of what is accepted: every instant up to the
    // moment this process started is in the past for as long as it runs, so it is accepted
    // whenever it arrives (the text form up to the end of last year; 1970 is left out, as
    // 1970-01-01 east of UTC is before the epoch).
    anyOf: [
      { type: 'string', pattern: instantPattern(1971, new Date().getUTCFullYear() - 1, 'required') },
      { type: 'integer', minimum: 0, maximum: Date.now() },
    ],
  });

/** The envelope with `data` left for the per-type schema. */
export const envelopeSchema = z.object({
  id: z.uuid('must be a UUID'),
  event_type: z.enum(EVENT_TYPES, `must be one of ${EVENT_TYPES.join(', ')}`),
  timestamp: timestampSchema,
  version: z.number().int().positive(),
  data: z.unknown(),
});

export type Envelope = z.infer<typeof envelopeSchema>;
