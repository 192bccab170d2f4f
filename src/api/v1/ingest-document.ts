/**
 * `POST /v1/events` in the OpenAPI document. The route itself (src/api/ingest-route.ts) reads
 * the body as text and validates each record with these same zod schemas, so that one bad
 * record does not fail the others; here they only describe it. Each (event_type, version) the
 * registry accepts is one variant, so `data` is tied to its type.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { envelopeSchema, EVENT_TYPES } from '../../events/envelope.js';
import { SCHEMAS } from '../../events/registry.js';
import { systemMetricV1, ticketRefundV1, ticketSaleV1, userInteractionV1 } from '../../events/schemas-v1.js';
import { ErrorBody } from './api-schemas.js';
import { errorResponses, type V1Env } from './openapi-app.js';

/** The documented `data` of each version the registry has (a unit test holds them equal). */
export const DOCUMENTED_VERSIONS = {
  ticket_sale: { 1: ticketSaleV1 },
  ticket_refund: { 1: ticketRefundV1 },
  user_interaction: { 1: userInteractionV1 },
  system_metric: { 1: systemMetricV1 },
} as const satisfies Record<(typeof EVENT_TYPES)[number], Record<number, z.ZodType>>;

const variants = EVENT_TYPES.flatMap((type) =>
  [...SCHEMAS[type].keys()].map((version) =>
    envelopeSchema.extend({
      event_type: z.literal(type),
      version: z.literal(version),
      data: (DOCUMENTED_VERSIONS[type] as Record<number, z.ZodType>)[version]!,
    }),
  ),
);
const Event = z
  .union(variants as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]])
  .openapi('Event', { description: 'one event: each event_type with its version and data' });

const IngestResult = z
  .object({
    accepted: z.number().int(),
    rejected: z.array(
      z.object({
        index: z.number().int(),
        id: z.string().nullable(),
        errors: z.array(z.object({ path: z.string(), message: z.string() })),
      }),
    ),
  })
  .openapi('IngestResult');

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

export function documentIngestRoute(app: OpenAPIHono<V1Env>, limits: { maxRecords: number }): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/events',
    summary: 'Send events (scope ingest): each record is accepted or rejected on its own',
    request: {
      body: {
        required: true,
        content: {
          ...json(z.union([Event, z.array(Event).min(1).max(limits.maxRecords)])),
          'application/x-ndjson': { schema: z.string().openapi({ description: 'one Event per line' }) },
        },
      },
    },
    responses: {
      202: {
        description: 'at least one record accepted; Kafka acknowledged every accepted one',
        content: json(IngestResult),
      },
      400: {
        description:
          'no record accepted (IngestResult lists why), or the body is not JSON (invalid_json), not an event or array (invalid_body), or holds none (empty_body)',
        content: json(z.union([IngestResult, ErrorBody])),
      },
      413: {
        description:
          'the body is over INGEST_MAX_BODY_BYTES, holds more than INGEST_MAX_RECORDS records or more than the key may send in its rate-limit window, or Kafka refused the batch as too large',
        content: json(ErrorBody),
      },
      415: {
        description: 'a Content-Type other than application/json or application/x-ndjson',
        content: json(ErrorBody),
      },
      429: {
        description:
          'an organizer key over its rate limit; retry after Retry-After seconds; nothing accepted',
        headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } },
        content: json(ErrorBody),
      },
      502: {
        description: 'kafka_rejected: Kafka refused the batch for a permanent reason; nothing accepted',
        content: json(ErrorBody),
      },
      ...errorResponses(401, 403, 503),
    },
  });
}
