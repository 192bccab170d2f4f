/**
 * The Kafka topology in one table: for each kind of topic, its partitions and the ClickHouse
 * stream that reads it, and from those, the names every other part uses (the topic under a
 * prefix, the Kafka engine table `<stream>_queue`, its consumer group `<database>_<stream>`).
 * Topic creation, the sink, consumer lag, the metrics and the poison tools all read it here.
 * The ClickHouse migrations spell the same names (migrations/clickhouse/0015_batch_messages.sql:
 * `kafka_group_name = '{database}_ticket_sales'`), which the integration tests exercise.
 */
import type { EventType } from '../events/envelope.js';
import { partitionOf } from '../events/topic-messages.js';

export type TopicName = EventType | 'rejected';

/**
 * Partitions: as `npm run migrate` creates them. The API packs a request's rows into one message
 * per partition (src/events/topic-messages.ts) and sends it to that partition explicitly, so a
 * topic must have at least this many; one created with more uses only these.
 * Stream: the ClickHouse table family that reads the topic (`ticket_sales`, its `_queue`, ...).
 * Dedup: whether the stream counts each record id once (0011), so that reading a record again
 * adds nothing; the quarantine is a log and keeps every copy.
 */
const TOPOLOGY = {
  ticket_sale: { partitions: 6, stream: 'ticket_sales', dedup: true },
  ticket_refund: { partitions: 6, stream: 'ticket_refunds', dedup: true },
  user_interaction: { partitions: 6, stream: 'user_interactions', dedup: true },
  system_metric: { partitions: 3, stream: 'system_metrics', dedup: true },
  rejected: { partitions: 1, stream: 'rejected_events', dedup: false },
} as const satisfies Record<TopicName, { partitions: number; stream: string; dedup: boolean }>;

export const TOPIC_KINDS = Object.keys(TOPOLOGY) as TopicName[];

function byKind<T>(value: (kind: TopicName) => T): Record<TopicName, T> {
  return Object.fromEntries(TOPIC_KINDS.map((kind) => [kind, value(kind)])) as Record<TopicName, T>;
}

/** Partitions of each topic. */
export const PARTITIONS: Record<TopicName, number> = byKind((kind) => TOPOLOGY[kind].partitions);

/** The ClickHouse stream (Kafka table family) that reads each topic. */
export const STREAM_OF: Record<TopicName, string> = byKind((kind) => TOPOLOGY[kind].stream);

/** The streams that count each record id once: those a Kafka table may safely read again. */
export const DEDUPLICATED_STREAMS = TOPIC_KINDS.filter((kind) => TOPOLOGY[kind].dedup).map(
  (kind) => STREAM_OF[kind],
);

/** Topic per event type plus the quarantine, under an optional prefix (tests use their own). */
export function topicNames(prefix: string): Record<TopicName, string> {
  return byKind((kind) => `${prefix}events.${kind}`);
}

/**
 * Every topic of each kind: with `shards` 0 (a single server; config.ts topicShards) the one of
 * topicNames, else one per ClickHouse shard, `<topic>.s<n>` (n from 1), which that shard's Kafka
 * tables read (src/migrate/cluster-render.ts renders them `<topic>.s{shard}`).
 */
export function shardTopicNames(prefix: string, shards: number): Record<TopicName, string[]> {
  const base = topicNames(prefix);
  return byKind((kind) =>
    shards === 0 ? [base[kind]] : Array.from({ length: shards }, (_, i) => `${base[kind]}.s${i + 1}`),
  );
}

/**
 * The shard (0-based) of a record with partition key `key`: fixed by the key, so a record retried
 * in any request meets the same shard's dedup sets. Hashed with a suffix so that the shards do
 * not split each topic's partitions into disjoint sets (with the key alone, 2 shards of 6
 * partitions would each use 3).
 */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : partitionOf(`${key}\u0000shard`, shards);
}

/** The Kafka engine table that reads `kind`'s topic. */
export function queueTableOf(kind: TopicName): string {
  return `${STREAM_OF[kind]}_queue`;
}

/** The consumer group of that table in ClickHouse database `database`. */
export function consumerGroupOf(database: string, kind: TopicName): string {
  return `${database}_${STREAM_OF[kind]}`;
}

/** The topic kind a stream reads, by the stream's name (`ticket_sales` → `ticket_sale`). */
export function kindOfStream(stream: string): TopicName | undefined {
  return TOPIC_KINDS.find((kind) => STREAM_OF[kind] === stream);
}
