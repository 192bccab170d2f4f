/**
 * Where the API hands what it accepted and rejected: the EventSink port, its errors, and the row
 * a rejected record becomes. No transport here; src/kafka/kafka-event-sink.ts is the Kafka
 * adapter, and tests may record instead (ServiceHooks.eventSink).
 *
 * A failure a retry can fix (broker down, deadline passed) is a SinkUnavailableError (the API
 * answers 503); one it cannot (the batch is too large, or refused for another permanent reason)
 * is a SinkRejectedError. Either way nothing counts as accepted.
 */
import type { AcceptedEvent, FieldError } from './validate-event.js';

/** A record that failed validation, kept with its raw text in the quarantine topic. */
export interface QuarantinedRecord {
  index: number;
  id: string | null;
  eventType: string;
  raw: string;
  errors: FieldError[];
  receivedAtMs: number;
  source: string;
}

/**
 * The row a rejected record becomes on the quarantine topic (columns of `rejected_events_queue`).
 * Its strings are made well-formed (a lone surrogate becomes U+FFFD): the id, event type and
 * error paths come from the record as sent, and a lone surrogate there would make the row one
 * ClickHouse cannot parse, stalling the quarantine table. `raw` keeps the record exactly: it
 * is JSON text, where such a character is still its `\ud800` escape.
 */
export function quarantineRow(record: QuarantinedRecord): Record<string, unknown> {
  return {
    received_at_ms: record.receivedAtMs,
    source: record.source.toWellFormed(),
    record_index: record.index,
    id: (record.id ?? '').toWellFormed(),
    event_type: record.eventType.toWellFormed(),
    raw: record.raw.toWellFormed(),
    errors: record.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message).toWellFormed()),
  };
}

export class SinkUnavailableError extends Error {
  override name = 'SinkUnavailableError';
}

/**
 * Too many bytes are already on their way to Kafka (sends the broker has not settled, those
 * past their deadline included): shed this request before memory grows. Retry later.
 */
export class SinkOverloadedError extends SinkUnavailableError {
  override name = 'SinkOverloadedError';
}

/** Kafka refused the batch for good: `too_large` when a smaller request may pass. */
export class SinkRejectedError extends Error {
  override name = 'SinkRejectedError';
  constructor(
    readonly reason: 'too_large' | 'permanent',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface EventSink {
  publish(accepted: AcceptedEvent[], rejected: QuarantinedRecord[]): Promise<void>;
}
