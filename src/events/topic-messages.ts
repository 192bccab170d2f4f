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
import type { Message } from 'kafkajs';

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

/**
 * The partition kafkajs's default partitioner gives `key` on any topic of `partitions` partitions:
 * the positive part of the key's murmur2 hash (Kafka's Java client 0.10.2, seed 0x9747b28c)
 * modulo the partition count. Computed here with 32-bit integer arithmetic: kafkajs's own
 * murmur2 multiplies 64-bit `Long` objects and its partitioner filters the partition list on
 * every call, which cost the API 1.6 µs of the 15 µs per event its main thread spent (a CPU
 * profile at 20,000 events/s). test/unit/topic-messages.test.ts checks it against kafkajs for many keys.
 */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(utf8(key)) & 0x7fffffff) % partitions;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** The key's UTF-8 bytes, in a buffer reused from call to call. */
function utf8(key: string): Uint8Array {
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  const { written } = encoder.encodeInto(key, scratch);
  return scratch.subarray(0, written);
}

const M = 0x5bd1e995;

/** Kafka's murmur2 of `data`, as a signed 32-bit integer. */
function murmur2(data: Uint8Array): number {
  const length = data.length;
  const whole = length & ~3;
  let h = 0x9747b28c ^ length;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
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
 * Values are UTF-8 bytes already: kafkajs measures a string value's bytes twice before it writes
 * it (0.6 µs per event in the API's profile), a Buffer's not at all.
 */
export function packEvents(
  columns: readonly string[],
  events: readonly KeyedCells[],
  partitions: number,
): Message[] {
  const byPartition = new Map<number, KeyedCells[]>();
  for (const event of events) {
    const partition = partitionOf(event.key, partitions);
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
        messages.push({ partition, value: Buffer.from(batchText(columns, list.slice(start, i))) });
        start = i;
        chars = 0;
      }
      chars += size;
    }
    messages.push({ partition, value: Buffer.from(batchText(columns, list.slice(start))) });
  }
  return messages;
}
