/**
 * Publishes one request's accepted events and its rejects to Kafka in one batch, and
 * resolves only when every message is acknowledged by all in-sync replicas. A failure a retry
 * can fix (broker down, deadline passed) is a SinkUnavailableError (the API answers 503); one it
 * cannot (the broker refuses the batch as too large, or for another permanent reason) is a
 * SinkRejectedError. Either way nothing counts as accepted.
 */
import { CompressionTypes, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';
import { classifyKafkaError } from './kafka-errors.js';
import type { EventType } from '../events/envelope.js';
import { COLUMNS } from '../events/registry.js';
import { packEvents, partitionOf } from '../events/topic-messages.js';
import { PARTITIONS, shardOf, shardTopicNames, type TopicName } from './topology.js';
import type { AcceptedEvent } from '../events/validate-event.js';
import {
  quarantineRow,
  SinkOverloadedError,
  SinkRejectedError,
  SinkUnavailableError,
  type EventSink,
  type QuarantinedRecord,
} from '../events/event-sink.js';

export interface KafkaEventSinkOptions {
  producer: Producer;
  topicPrefix: string;
  /** Give up (and answer 503) after this many milliseconds. */
  timeoutMs: number;
  /** Told which topics each acknowledged batch went to (the block heartbeat follows them). */
  onPublished?: (topics: string[]) => void;
  /**
   * Most message bytes in flight to Kafka at once. kafkajs queues sends without bound, and a
   * send outlives the 503 its deadline gave, so while the broker is slow every retry would
   * add to memory; past this bound a request is refused (SinkOverloadedError) before it is
   * queued. Default: unbounded.
   */
  maxInFlightBytes?: number;
  /** Shard topics per topic (config.ts topicShards; 0 on a single server): each record goes to its key's. */
  shards?: number;
}

export interface KafkaEventSink extends EventSink {
  /** Message bytes sent and not yet settled by the broker. */
  inFlightBytes(): number;
}

export function createKafkaEventSink({
  producer,
  topicPrefix,
  timeoutMs,
  onPublished,
  maxInFlightBytes = Infinity,
  shards = 0,
}: KafkaEventSinkOptions): KafkaEventSink {
  let inFlight = 0;
  const topics = shardTopicNames(topicPrefix, shards);
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
    inFlightBytes: () => inFlight,
    async publish(accepted, rejected) {
      const topicMessages = batchByTopic(topics, accepted, rejected);
      if (topicMessages.length === 0) return;
      let bytes = 0;
      for (const t of topicMessages) for (const m of t.messages) bytes += m.value?.length ?? 0;
      if (inFlight > 0 && inFlight + bytes > maxInFlightBytes) {
        throw new SinkOverloadedError(
          `${inFlight} bytes are still on their way to Kafka (limit ${maxInFlightBytes}); the broker is slow`,
        );
      }
      inFlight += bytes;

      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SinkUnavailableError(`Kafka did not acknowledge within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        const send = ensureConnected().then(() =>
          sendUntilAcknowledged(
            (pending) =>
              producer.sendBatch({
                acks: -1,
                timeout: timeoutMs,
                compression: CompressionTypes.GZIP,
                topicMessages: pending,
              }),
            topicMessages,
          ),
        );
        // The bytes stay counted until Kafka settles the send, even after the deadline.
        void send.then(
          () => (inFlight -= bytes),
          () => (inFlight -= bytes),
        );
        await Promise.race([send, deadline]);
        onPublished?.(topicMessages.map((t) => t.topic));
      } catch (err) {
        if (err instanceof SinkUnavailableError) throw err;
        const failure = classifyKafkaError(err);
        if (failure !== 'transient') {
          throw new SinkRejectedError(failure, `Kafka refused the batch: ${(err as Error).message}`, {
            cause: err,
          });
        }
        throw new SinkUnavailableError(`Kafka did not acknowledge: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Sends of one batch before its unacknowledged partitions count as a failure (503). */
const MAX_SENDS = 5;

/**
 * Sends `batch`, then again the messages of every partition no broker acknowledged, until all
 * are. kafkajs 2.2.4 can resolve a send without having sent some partitions' messages at all:
 * when a broker fails mid-send, its retry sends only to the brokers that have not answered yet,
 * so the partitions whose leadership moved to a broker that already answered are dropped, with
 * no error (tulios/kafkajs issue 1303). On the cluster topology, a broker killed before a send
 * of 30 keyed messages lost 8 of them that way (test/integration/cluster-topology). Every
 * message here names its partition, so the missing ones are known; a message both written and
 * sent again is read twice, which the streams' dedup by id absorbs (the quarantine keeps both
 * copies, as it does for any retried send).
 */
export async function sendUntilAcknowledged(
  send: (pending: TopicMessages[]) => Promise<RecordMetadata[]>,
  batch: TopicMessages[],
): Promise<void> {
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > MAX_SENDS) {
      const partitions = pending.flatMap((t) => t.messages.map((m) => `${t.topic}[${m.partition}]`));
      throw new SinkUnavailableError(
        `Kafka did not acknowledge ${[...new Set(partitions)].join(', ')} after ${MAX_SENDS} sends`,
      );
    }
    const acknowledged = new Set(
      (await send(pending)).filter((r) => r.errorCode === 0).map((r) => `${r.topicName}\0${r.partition}`),
    );
    pending = pending
      .map((t) => ({
        ...t,
        messages: t.messages.filter((m) => !acknowledged.has(`${t.topic}\0${m.partition}`)),
      }))
      .filter((t) => t.messages.length > 0);
  }
}

/**
 * One request's messages: per event topic (per shard topic when there are several, each record
 * by its key: shardOf), its events packed into one message per partition
 * (src/events/topic-messages.ts); per rejected record, one quarantine row.
 */
export function batchByTopic(
  topics: Record<TopicName, string[]>,
  accepted: AcceptedEvent[],
  rejected: QuarantinedRecord[],
): TopicMessages[] {
  const byTopic = new Map<string, { type: EventType; events: AcceptedEvent[] }>();
  let events: AcceptedEvent[] = [];
  let topicOfEvents: string | undefined;
  for (const event of accepted) {
    const shards = topics[event.eventType];
    const topic = shards[shardOf(event.key, shards.length)]!;
    // A request is usually of one event type and shard: look the list up only when the topic changes.
    if (topic !== topicOfEvents) {
      topicOfEvents = topic;
      const entry = byTopic.get(topic) ?? { type: event.eventType, events: [] };
      byTopic.set(topic, entry);
      events = entry.events;
    }
    events.push(event);
  }
  const batches: TopicMessages[] = Array.from(byTopic, ([topic, { type, events: list }]) => ({
    topic,
    messages: packEvents(COLUMNS[type], list, PARTITIONS[type]),
  }));
  const quarantine = new Map<string, TopicMessages>();
  for (const record of rejected) {
    const shards = topics.rejected;
    const topic = shards[shardOf(record.id ?? '', shards.length)]!;
    let batch = quarantine.get(topic);
    if (batch === undefined) quarantine.set(topic, (batch = { topic, messages: [] }));
    // Each message names its partition (kafkajs's own choice for the key), so that
    // sendUntilAcknowledged knows which partitions a send must be acknowledged for.
    batch.messages.push({
      key: record.id ?? undefined,
      partition: partitionOf(record.id ?? '', PARTITIONS.rejected),
      value: JSON.stringify(quarantineRow(record)),
    });
  }
  return [...batches, ...quarantine.values()];
}
