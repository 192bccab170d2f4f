/**
 * How a request's events become Kafka messages on the event topics: one message per partition
 * the request's events hash to, each one JSON object of column arrays, one element per event,
 * in request order (migrations/clickhouse/0015_batch_messages.sql and docs/ingest-api.md "Topics"):
 *
 *   {"id":["…","…"],"version":[1,1],…,"city":["Berlin","Paris"]}
 *
 * Why batches: ClickHouse 18.16's Kafka engine pays per message, and with one message per
 * event one consumer counted 4,000-5,400 events/s while the API acknowledged 24,500/s. Why one
 * row of arrays, not many rows: the engine can end a pass in the middle of a many-row message
 * and then skips the rest of it (measured; the migration has the numbers).
 *
 * Why per partition: each event goes to the partition its key (the buyer, the metric name)
 * hashes to with kafkajs's default partitioner, as when each event was its own keyed message,
 * so one buyer's events stay on one partition in the order they were acknowledged, which the
 * velocity and location rules rely on.
 */
import { Partitioners, type Message, type PartitionMetadata } from 'kafkajs';

/**
 * Most characters of values in one message: at most 3 bytes each in UTF-8, so a message stays
 * under the broker's 1 MB `message.max.bytes`, and a batch the broker refuses is refused
 * because the whole request is too large for one partition (413), as before.
 */
export const MAX_MESSAGE_CHARS = 200_000;

/** An event for a topic: its partition key and its columns' JSON text. */
export interface KeyedCells {
  key: string;
  cells: readonly string[];
}

const partitioner = Partitioners.DefaultPartitioner();
const metadataOf = new Map<number, PartitionMetadata[]>();

/** The partition kafkajs's default partitioner gives `key` on a topic of `partitions` partitions. */
export function partitionOf(topic: string, key: string, partitions: number): number {
  let partitionMetadata = metadataOf.get(partitions);
  if (partitionMetadata === undefined) {
    partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));
    metadataOf.set(partitions, partitionMetadata);
  }
  return partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

/** One message's JSON text: each column as an array of the events' values. */
export function batchText(columns: readonly string[], events: readonly KeyedCells[]): string {
  let text = '{';
  for (let c = 0; c < columns.length; c++) {
    text += `${c === 0 ? '' : ','}"${columns[c]}":[`;
    for (let e = 0; e < events.length; e++) text += (e === 0 ? '' : ',') + events[e]!.cells[c]!;
    text += ']';
  }
  return `${text}}`;
}

/**
 * The messages for one topic: events grouped by partition, in their order, cut so that no
 * message holds more than MAX_MESSAGE_CHARS characters of values. Each message names its partition.
 */
export function packEvents(
  topic: string,
  columns: readonly string[],
  events: readonly KeyedCells[],
  partitions: number,
): Message[] {
  const byPartition = new Map<number, KeyedCells[]>();
  for (const event of events) {
    const partition = partitionOf(topic, event.key, partitions);
    let list = byPartition.get(partition);
    if (list === undefined) byPartition.set(partition, (list = []));
    list.push(event);
  }
  const messages: Message[] = [];
  for (const [partition, list] of byPartition) {
    let start = 0;
    let chars = 0;
    for (let i = 0; i < list.length; i++) {
      let size = list[i]!.cells.length;
      for (const cell of list[i]!.cells) size += cell.length;
      if (i > start && chars + size > MAX_MESSAGE_CHARS) {
        messages.push({ partition, value: batchText(columns, list.slice(start, i)) });
        start = i;
        chars = 0;
      }
      chars += size;
    }
    messages.push({ partition, value: batchText(columns, list.slice(start)) });
  }
  return messages;
}
