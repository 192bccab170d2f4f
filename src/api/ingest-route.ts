/**
 * `POST /v1/events`: validates each record, publishes accepted events and rejects to Kafka
 * in one acknowledged batch, and answers per record.
 * - 202 when at least one record was accepted (rejections listed), 400 when none was;
 * - 401 / 413 / 415 for a missing key, an oversized body, another content type;
 * - 503 with Retry-After when Kafka did not acknowledge; then nothing counts as accepted.
 */
import { Hono } from 'hono';
import type { EventSink, QuarantinedRecord } from '../events/kafka-event-sink.js';
import { SinkUnavailableError } from '../events/kafka-event-sink.js';
import {
  isAccepted,
  validateEvent,
  type AcceptedEvent,
  type FieldError,
  type RejectedEvent,
} from '../events/validate-event.js';
import { apiKeyAuth, type ApiKeyVariables } from './api-key-auth.js';
import { createBodyReader } from './body-text.js';
import { HttpError } from './http-error.js';
import { parseIngestBody, recordText } from './ingest-body.js';

export interface IngestRouteOptions {
  sink: EventSink;
  /** API key -> producer name. */
  apiKeys: ReadonlyMap<string, string>;
  maxBodyBytes: number;
  maxRecords: number;
  retryAfterSeconds: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

/** The response body of `POST /v1/events`. */
export interface IngestResponse {
  accepted: number;
  rejected: { index: number; id: string | null; errors: FieldError[] }[];
}

export function createIngestRoute(options: IngestRouteOptions): Hono<{ Variables: ApiKeyVariables }> {
  const now = options.now ?? Date.now;
  const readBodyText = createBodyReader(options.maxBodyBytes);
  const app = new Hono<{ Variables: ApiKeyVariables }>();

  app.post('/v1/events', apiKeyAuth(options.apiKeys), async function ingestEvents(c) {
    const text = await readBodyText(c);
    const records = parseIngestBody(c.req.header('content-type'), text, options.maxRecords);
    const receivedAtMs = now();
    const accepted: AcceptedEvent[] = [];
    const quarantined: QuarantinedRecord[] = [];

    const source = c.get('source');
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const result =
        record.parseError === undefined
          ? validateEvent(record.value, receivedAtMs)
          : rejectedUnparsed(record.parseError);
      if (isAccepted(result)) {
        accepted.push(result);
        continue;
      }
      const eventType = (record.value as { event_type?: unknown } | undefined)?.event_type;
      quarantined.push({
        index,
        id: result.id,
        eventType: typeof eventType === 'string' ? eventType.slice(0, 64) : '',
        raw: recordText(record),
        errors: result.errors,
        receivedAtMs,
        source,
      });
    }

    try {
      await options.sink.publish(accepted, quarantined);
    } catch (err) {
      if (!(err instanceof SinkUnavailableError)) throw err;
      throw new HttpError(
        503,
        'kafka_unavailable',
        `${err.message}; nothing in this request was accepted, retry it`,
        undefined,
        {
          'Retry-After': String(options.retryAfterSeconds),
        },
      );
    }

    const body: IngestResponse = {
      accepted: accepted.length,
      rejected: quarantined.map(({ index, id, errors }) => ({ index, id, errors })),
    };
    return c.json(body, accepted.length > 0 ? 202 : 400);
  });
  return app;
}

/** An NDJSON line that is not JSON: rejected with the parser's message. */
function rejectedUnparsed(parseError: string): RejectedEvent {
  return { kind: 'rejected', id: null, errors: [{ path: '', message: parseError }] };
}
