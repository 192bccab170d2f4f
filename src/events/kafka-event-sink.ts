/**
 * Publishes one request's accepted events and its rejects to Kafka in one batch, and
 * resolves only when every message is acknowledged by all in-sync replicas. Anything else
 * (broker down, deadline passed) is a SinkUnavailableError: the API answers 503 and reports
 * nothing as accepted.
 */
import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import { topicNames } from './topics.js';
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

/** The row a rejected record becomes on the quarantine topic (columns of `rejected_events_queue`). */
export function quarantineRow(record: QuarantinedRecord): Record<string, unknown> {
  return {
    received_at_ms: record.receivedAtMs,
    source: record.source,
    record_index: record.index,
    id: record.id ?? '',
    event_type: record.eventType,
    raw: record.raw,
    errors: record.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)),
  };
}

export class SinkUnavailableError extends Error {
  override name = 'SinkUnavailableError';
}

export interface EventSink {
  publish(accepted: AcceptedEvent[], rejected: QuarantinedRecord[]): Promise<void>;
}

export interface KafkaEventSinkOptions {
  producer: Producer;
  topicPrefix: string;
  /** Give up (and answer 503) after this many milliseconds. */
  timeoutMs: number;
}

export function createKafkaEventSink({ producer, topicPrefix, timeoutMs }: KafkaEventSinkOptions): EventSink {
  const topics = topicNames(topicPrefix);
  // Connect lazily and reconnect after a disconnect, so the API starts (and answers 503)
  // while Kafka is down, and recovers by itself when it returns.
  let connected: Promise<void> | undefined;
  producer.on(producer.events.DISCONNECT, () => {
    connected = undefined;
  });
  const ensureConnected = (): Promise<void> => {
    connected ??= producer.connect().catch((err: unknown) => {
      connected = undefined;
      throw err;
    });
    return connected;
  };

  return {
    async publish(accepted, rejected) {
      const byTopic = new Map<string, Message[]>();
      const add = (topic: string, message: Message) => {
        const list = byTopic.get(topic) ?? [];
        list.push(message);
        byTopic.set(topic, list);
      };
      for (const event of accepted) {
        add(topics[event.eventType], { key: event.key, value: JSON.stringify(event.row) });
      }
      for (const record of rejected) {
        add(topics.rejected, { key: record.id ?? undefined, value: JSON.stringify(quarantineRow(record)) });
      }
      if (byTopic.size === 0) return;

      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SinkUnavailableError(`Kafka did not acknowledge within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([
          ensureConnected().then(() =>
            producer.sendBatch({
              acks: -1,
              timeout: timeoutMs,
              compression: CompressionTypes.GZIP,
              topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
            }),
          ),
          deadline,
        ]);
      } catch (err) {
        if (err instanceof SinkUnavailableError) throw err;
        throw new SinkUnavailableError(`Kafka did not acknowledge: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
