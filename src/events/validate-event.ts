/**
 * Validates one raw record against the envelope and its (type, version) schema. Expected
 * outcomes are values: `accepted` with the Kafka record, or `rejected` with every reason.
 */
import { z } from 'zod';
import './zod-errors.js';
import { envelopeSchema, MAX_FUTURE_SKEW_MS, type EventType } from './envelope.js';
import { COLUMNS, SCHEMAS } from './registry.js';

/** One reason a record was rejected; `path` is a JSON path like `data.quantity`. */
export interface FieldError {
  path: string;
  message: string;
}

export interface AcceptedEvent {
  kind: 'accepted';
  id: string;
  eventType: EventType;
  key: string;
  /** The flat row's columns as JSON text, in the registry's `COLUMNS` order. */
  cells: readonly string[];
  /** The flat row as one JSON object's text (what `JSON.stringify` gives for `row`). */
  readonly value: string;
  /** The show (`data.event_id`) for sales, refunds and interactions; undefined for system metrics. */
  showId: string | undefined;
  /** The same row as an object, parsed from `value` when read (the API itself never reads it). */
  readonly row: Record<string, unknown>;
}

export interface RejectedEvent {
  kind: 'rejected';
  /** The record's `id` when it had a string one, else null. */
  id: string | null;
  errors: FieldError[];
}

export type ValidationResult = AcceptedEvent | RejectedEvent;

export const isAccepted = (r: ValidationResult): r is AcceptedEvent => r.kind === 'accepted';

/** An accepted event; `row` is a getter so the hot path allocates no row object. */
class Accepted implements AcceptedEvent {
  readonly kind = 'accepted';
  constructor(
    readonly id: string,
    readonly eventType: EventType,
    readonly key: string,
    readonly cells: readonly string[],
    readonly showId: string | undefined,
  ) {}

  get value(): string {
    const columns = COLUMNS[this.eventType];
    return `{${this.cells.map((cell, i) => `"${columns[i]}":${cell}`).join(',')}}`;
  }

  get row(): Record<string, unknown> {
    return JSON.parse(this.value) as Record<string, unknown>;
  }
}

const compiledEnvelope = z.compile(envelopeSchema);

export function validateEvent(record: unknown, receivedAtMs: number): ValidationResult {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return rejected(null, [{ path: '', message: 'each event must be a JSON object' }]);
  }
  const { id: rawId, event_type: eventType, version, data } = record as Record<string, unknown>;
  const envelope = compiledEnvelope.safeParse(record);
  const errors: FieldError[] = envelope.success ? [] : issues(envelope.error);

  // Validate `data` whenever the type and version are known, so one answer lists every problem.
  // Own keys only: an event_type of 'constructor' or 'toString' must not find Object's.
  const versions =
    typeof eventType === 'string' && Object.hasOwn(SCHEMAS, eventType)
      ? SCHEMAS[eventType as EventType]
      : undefined;
  const schema = typeof version === 'number' ? versions?.get(version) : undefined;
  if (versions !== undefined && Number.isInteger(version) && schema === undefined) {
    const supported = [...versions.keys()].join(', ');
    errors.push({
      path: 'version',
      message: `${String(eventType)} has no version ${String(version)}; supported: ${supported}`,
    });
  }
  const parsed = schema?.data.safeParse(data);
  if (parsed && !parsed.success) errors.push(...issues(parsed.error, 'data'));
  if (envelope.success && envelope.data.timestamp > receivedAtMs + MAX_FUTURE_SKEW_MS) {
    errors.push({ path: 'timestamp', message: 'is more than 5 minutes in the future' });
  }
  if (errors.length > 0 || !envelope.success || schema === undefined || !parsed?.success) {
    return rejected(
      typeof rawId === 'string' ? rawId : null,
      errors.length > 0 ? errors : [{ path: '', message: 'invalid event' }],
    );
  }

  const id = envelope.data.id.toLowerCase();
  const cells = schema.cells(
    {
      id,
      version: envelope.data.version,
      timestamp_ms: envelope.data.timestamp,
      received_at_ms: receivedAtMs,
    },
    parsed.data,
  );
  const showId = (parsed.data as { event_id?: unknown }).event_id;
  return new Accepted(
    id,
    envelope.data.event_type,
    schema.key(parsed.data),
    cells,
    typeof showId === 'string' ? showId : undefined,
  );
}

function rejected(id: string | null, errors: FieldError[]): RejectedEvent {
  return { kind: 'rejected', id, errors };
}

function issues(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.'),
    message: issue.message,
  }));
}
