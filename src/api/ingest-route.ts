/**
 * `POST /v1/events`: validates each record, publishes accepted events and rejects to Kafka
 * in one acknowledged batch, and answers per record.
 * - 202 when at least one record was accepted (rejections listed), 400 when none was;
 * - 429 with Retry-After when an organizer key is over its rate limit (src/api/ingest-rate-limit.ts);
 * - 401 / 403 / 413 / 415 for a missing key, a key without the ingest scope, an oversized
 *   body, another content type;
 * - an organizer's key may send only its own shows' events: a record for another organizer's
 *   show or an unknown show is rejected with that reason (src/auth/show-access.ts decides) and
 *   quarantined like any other;
 * - 503 with Retry-After when Kafka did not acknowledge; 413 when it refused the batch as too
 *   large, 502 (`kafka_rejected`) when it refused it for another permanent reason; in each
 *   case nothing counts as accepted.
 */
import { Hono } from 'hono';
import type { EventSink, QuarantinedRecord } from '../events/event-sink.js';
import { SinkOverloadedError, SinkRejectedError, SinkUnavailableError } from '../events/event-sink.js';
import {
  isAccepted,
  validateEvent,
  type AcceptedEvent,
  type FieldError,
  type RejectedEvent,
  type ValidationResult,
} from '../events/validate-event.js';
import type { KeyStore } from '../auth/key-store.js';
import { principalSource, type Principal } from '../auth/principal.js';
import { accessToShows } from '../auth/show-access.js';
import type { ShowOwners } from '../auth/show-owners.js';
import { EVENT_TYPES } from '../events/envelope.js';
import type { IngestMetrics } from '../metrics/metrics.js';
import { authenticate, type AuthVariables } from './authenticate.js';
import type { IngestRateLimit } from './ingest-rate-limit.js';
import { createBodyReader } from './body-text.js';
import { HttpError } from './http-error.js';
import { parseIngestBody, recordText } from './ingest-body.js';

export interface IngestRouteOptions {
  sink: EventSink;
  keys: KeyStore;
  /** Who owns each show; needed to scope organizer keys (without it they are refused). */
  showOwners?: ShowOwners;
  maxBodyBytes: number;
  maxRecords: number;
  retryAfterSeconds: number;
  /** Injectable clock for tests. */
  now?: () => number;
  /** Counts records and times the Kafka produce when given. */
  metrics?: IngestMetrics;
  /** Limits organizer keys' records per second when given. */
  rateLimit?: IngestRateLimit;
}

/** The response body of `POST /v1/events`. */
export interface IngestResponse {
  accepted: number;
  rejected: { index: number; id: string | null; errors: FieldError[] }[];
}

export function createIngestRoute(options: IngestRouteOptions): Hono<{ Variables: AuthVariables }> {
  const now = options.now ?? Date.now;
  const readBodyText = createBodyReader(options.maxBodyBytes);
  const app = new Hono<{ Variables: AuthVariables }>();

  app.post('/v1/events', authenticate(options.keys, 'ingest'), async function ingestEvents(c) {
    const text = await readBodyText(c);
    const records = parseIngestBody(c.req.header('content-type'), text, options.maxRecords);
    const receivedAtMs = now();
    const accepted: AcceptedEvent[] = [];
    const quarantined: QuarantinedRecord[] = [];

    const principal = c.get('principal');
    await options.rateLimit?.take(c, principal, records.length);
    const source = principalSource(principal);
    const results = records.map((record) =>
      record.parseError === undefined
        ? validateEvent(record.value, receivedAtMs)
        : rejectedUnparsed(record.parseError),
    );
    const outOfScope = await scopeCheck(principal, results, options.showOwners);
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const validated = results[index]!;
      const scopeError =
        isAccepted(validated) && validated.showId !== undefined
          ? outOfScope.get(validated.showId)
          : undefined;
      const result: ValidationResult = scopeError
        ? { kind: 'rejected', id: validated.id, errors: [{ path: 'data.event_id', message: scopeError }] }
        : validated;
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

    const endProduce = options.metrics?.produceSeconds.startTimer();
    try {
      await options.sink.publish(accepted, quarantined);
      endProduce?.({ outcome: 'acknowledged' });
      if (options.metrics) countRecords(options.metrics, accepted, quarantined);
    } catch (err) {
      endProduce?.({ outcome: 'failed' });
      if (err instanceof SinkRejectedError) {
        if (err.reason === 'too_large') {
          throw new HttpError(
            413,
            'batch_too_large',
            'Kafka refused this request as too large for one batch; nothing was accepted: send fewer or smaller records per request',
          );
        }
        // Not a 503: the same request would be refused again. A 502: the dependency refused,
        // not the client's input. Logged with its cause.
        throw new HttpError(
          502,
          'kafka_rejected',
          `${err.message}; nothing in this request was accepted`,
          undefined,
          {},
          err,
        );
      }
      if (!(err instanceof SinkUnavailableError)) throw err;
      throw new HttpError(
        503,
        err instanceof SinkOverloadedError ? 'overloaded' : 'kafka_unavailable',
        `${err.message}; nothing in this request was accepted, retry it`,
        undefined,
        {
          'Retry-After': String(options.retryAfterSeconds),
        },
        err,
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

/**
 * The shows among the accepted records this key may not send, each with the reason
 * (src/auth/show-access.ts); empty for platform keys.
 */
async function scopeCheck(
  principal: Principal,
  results: ValidationResult[],
  showOwners: ShowOwners | undefined,
): Promise<Map<string, string>> {
  const shows = new Set<string>();
  for (const result of results)
    if (isAccepted(result) && result.showId !== undefined) shows.add(result.showId);
  const refused = new Map<string, string>();
  for (const [show, access] of await accessToShows(principal, shows, showOwners))
    if (access.kind !== 'allowed') refused.set(show, access.message);
  return refused;
}

/** Adds one request's outcome to the record counter, one increment per label set. */
function countRecords(
  metrics: IngestMetrics,
  accepted: AcceptedEvent[],
  quarantined: QuarantinedRecord[],
): void {
  const counts = new Map<string, { event_type: string; outcome: string; reason: string; n: number }>();
  const add = (event_type: string, outcome: string, reason: string) => {
    const key = `${event_type}\u0000${outcome}\u0000${reason}`;
    const entry = counts.get(key) ?? { event_type, outcome, reason, n: 0 };
    entry.n += 1;
    counts.set(key, entry);
  };
  for (const event of accepted) add(event.eventType, 'accepted', '');
  for (const record of quarantined) {
    // Bounded labels: a known type or `unknown`; the first bad field, at most two levels deep.
    const type = (EVENT_TYPES as readonly string[]).includes(record.eventType) ? record.eventType : 'unknown';
    const path = record.errors[0]?.path.split('.').slice(0, 2).join('.') || 'record';
    add(type, 'rejected', path);
  }
  for (const { n, ...labels } of counts.values()) metrics.records.inc(labels, n);
}

/** An NDJSON line that is not JSON: rejected with the parser's message. */
function rejectedUnparsed(parseError: string): RejectedEvent {
  return { kind: 'rejected', id: null, errors: [{ path: '', message: parseError }] };
}
