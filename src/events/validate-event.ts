/**
 * Validates one raw record against the envelope and its (type, version) schema. Expected
 * outcomes are values: `accepted` with the Kafka record, or `rejected` with every reason.
 */
import type { z } from 'zod';
import './zod-errors.js';
import { envelopeSchema, MAX_FUTURE_SKEW_MS, type EventType } from './envelope.js';
import { SCHEMAS } from './registry.js';

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
  row: Record<string, unknown>;
}

export interface RejectedEvent {
  kind: 'rejected';
  /** The record's `id` when it had a string one, else null. */
  id: string | null;
  errors: FieldError[];
}

export type ValidationResult = AcceptedEvent | RejectedEvent;

export const isAccepted = (r: ValidationResult): r is AcceptedEvent => r.kind === 'accepted';

export function validateEvent(record: unknown, receivedAtMs: number): ValidationResult {
  const rawId =
    typeof record === 'object' && record !== null && typeof (record as { id?: unknown }).id === 'string'
      ? (record as { id: string }).id
      : null;
  const reject = (errors: FieldError[]): RejectedEvent => ({ kind: 'rejected', id: rawId, errors });

  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return reject([{ path: '', message: 'each event must be a JSON object' }]);
  }
  const envelope = envelopeSchema.safeParse(record);
  const errors: FieldError[] = envelope.success ? [] : issues(envelope.error);

  // Validate `data` whenever the type and version are known, so one answer lists every problem.
  const { event_type: eventType, version, data } = record as Record<string, unknown>;
  const versions = typeof eventType === 'string' ? SCHEMAS[eventType as EventType] : undefined;
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
    return reject(errors.length > 0 ? errors : [{ path: '', message: 'invalid event' }]);
  }

  const id = envelope.data.id.toLowerCase();
  const row = schema.row(
    {
      id,
      version: envelope.data.version,
      timestamp_ms: envelope.data.timestamp,
      received_at_ms: receivedAtMs,
    },
    parsed.data,
  );
  return { kind: 'accepted', id, eventType: envelope.data.event_type, key: schema.key(parsed.data), row };
}

function issues(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.'),
    message: issue.message,
  }));
}
