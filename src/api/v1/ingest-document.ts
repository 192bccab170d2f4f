/**
 * `POST /v1/events` in the OpenAPI document. The route itself (src/api/ingest-route.ts) reads
 * the body as text and validates each record with these same zod schemas, so that one bad
 * record does not fail the others; here they only describe it.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { envelopeSchema } from '../../events/envelope.js';
import { systemMetricV1, ticketSaleV1, userInteractionV1 } from '../../events/schemas-v1.js';
import { errorResponses, type V1Env } from './openapi-app.js';

const Event = envelopeSchema
  .extend({ data: z.union([ticketSaleV1, userInteractionV1, systemMetricV1]) })
  .openapi('Event', { description: 'version 1 of each event type' });

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

export function documentIngestRoute(app: OpenAPIHono<V1Env>): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/events',
    summary: 'Send events (scope ingest): each record is accepted or rejected on its own',
    request: {
      body: {
        required: true,
        content: {
          'application/json': { schema: z.union([Event, z.array(Event)]) },
          'application/x-ndjson': { schema: z.string().openapi({ description: 'one Event per line' }) },
        },
      },
    },
    responses: {
      202: {
        description: 'at least one record accepted; Kafka acknowledged every accepted one',
        content: { 'application/json': { schema: IngestResult } },
      },
      400: {
        description: 'no record accepted (see rejected), or the body is not JSON',
        content: { 'application/json': { schema: IngestResult } },
      },
      ...errorResponses(401, 403, 503),
    },
  });
}
