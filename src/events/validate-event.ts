/**
 * Validates one raw record against the envelope and its (type, version) schema. Expected
 * outcomes are values: `accepted` with the Kafka record, or `rejected` with every reason.
 */
import type { z } from 'zod';
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
  if (!envelope.success) return reject(issues(envelope.error));
  const { id, event_type: eventType, timestamp, version, data } = envelope.data;

  const errors: FieldError[] = [];
  if (timestamp > receivedAtMs + MAX_FUTURE_SKEW_MS) {
    errors.push({ path: 'timestamp', message: 'is more than 5 minutes in the future' });
  }
  const schema = SCHEMAS[eventType].get(version);
  if (schema === undefined) {
    const supported = [...SCHEMAS[eventType].keys()].join(', ');
    return reject([
      ...errors,
      { path: 'version', message: `${eventType} has no version ${version}; supported: ${supported}` },
    ]);
  }
  const parsed = schema.data.safeParse(data);
  if (!parsed.success) errors.push(...issues(parsed.error, 'data'));
  if (errors.length > 0 || !parsed.success) return reject(errors);

  const row = schema.row(
    { id: id.toLowerCase(), version, timestamp_ms: timestamp, received_at_ms: receivedAtMs },
    parsed.data,
  );
  return { kind: 'accepted', id: id.toLowerCase(), eventType, key: schema.key(parsed.data), row };
}

function issues(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.'),
    message: issue.message,
  }));
}
