/**
 * Moves a ClickHouse Kafka table past records it cannot read ("poison"), losing nothing else.
 *
 * ClickHouse 18.16 has no `kafka_skip_broken_messages` (measured: `Code: 36, Unknown setting
 * kafka_skip_broken_messages for storage Kafka`). A record its Kafka engine cannot parse, or
 * that one of the table's views cannot convert (`toUUID` of a non-UUID, say), fails the whole
 * pass, nothing of the pass is committed, and the next pass reads the same record again:
 * the table, and every record behind it on every partition, stalls for good. The stall is
 * what `ticketpulse_kafka_table_stalled_seconds` shows (src/metrics/metrics.ts).
 *
 * `skip()` does, with the table's consumer stopped:
 * 1. `DETACH TABLE <table>_queue`, so its consumer group empties and the offsets hold still;
 * 2. reads every record between the group's committed offset and the log end of each
 *    partition, and asks ClickHouse which it cannot read: batches are inserted into a Memory
 *    copy of the Kafka table and the table's views' SELECTs run over it; a failing batch is
 *    bisected down to the records that fail on their own;
 * 3. copies each bad record, with the partition, offset and ClickHouse's error, to the
 *    quarantine (`events.rejected`, so `rejected_events`, source `skip-poison`);
 * 4. publishes again, to the same partition, the good records that sit between the committed
 *    offset and the last bad record (the dedup views count each id once, so a copy is never
 *    counted twice);
 * 5. sets the group's offset of that partition to just past its last bad record, then
 *    `ATTACH TABLE`, which resumes consuming from the new offsets.
 * Steps 3 and 4 are acknowledged by Kafka before step 5: if the command dies in between, the
 * table reads the good records twice and dedup drops the second copy. `rejected_events` is a
 * log without dedup: a good record behind a poison in `events.rejected` would be counted again
 * only in that case.
 *
 * `rewind()` uses steps 1 and 5 to move a table's group back in time instead: see below.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { ackedProducer } from '../clients/kafka.js';
import { createPoisonCheck } from './poison-check.js';
import { quarantineRow } from '../events/event-sink.js';
import {
  consumerGroupOf,
  DEDUPLICATED_STREAMS,
  kindOfStream,
  queueTableOf,
  STREAM_OF,
  topicNames,
  TOPIC_KINDS,
} from '../kafka/topology.js';

/** A record ClickHouse cannot read, where it sits and why. */
export interface PoisonRecord {
  partition: number;
  offset: string;
  raw: string;
  error: string;
}

export interface PoisonReport {
  table: string;
  topic: string;
  /** Records read: everything the group had not committed when the scan started. */
  scanned: number;
  poison: PoisonRecord[];
  /** Good records published again because they sat before a poison record on its partition. */
  republished: number;
  /** The group's new offsets, per partition that moved. */
  moved: { partition: number; from: string; to: string }[];
}

/** What `rewind()` moved: per partition, the committed offset and the one it moved back to. */
export interface RewindReport {
  table: string;
  topic: string;
  moved: { partition: number; from: string; to: string }[];
}

export interface PoisonSkipOptions {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  database: string;
  topicPrefix: string;
  log?: (line: string) => void;
  /** How long to wait for the consumer group to empty after DETACH (default 60 s). */
  groupTimeoutMs?: number;
}

/** The Kafka tables by name (`ticket_sales`, ...), as `--table` takes them. */
export const KAFKA_TABLE_NAMES = TOPIC_KINDS.map((kind) => STREAM_OF[kind]);

export function createPoisonSkip({
  kafka,
  clickhouse,
  database,
  topicPrefix,
  log = () => undefined,
  groupTimeoutMs = 60_000,
}: PoisonSkipOptions) {
  const topics = topicNames(topicPrefix);

  function target(table: string) {
    const topicType = kindOfStream(table);
    if (topicType === undefined) {
      throw new Error(`unknown Kafka table '${table}': one of ${KAFKA_TABLE_NAMES.join(', ')}`);
    }
    return {
      topicType,
      topic: topics[topicType],
      queue: queueTableOf(topicType),
      group: consumerGroupOf(database, topicType),
    };
  }

  /** Per partition, [committed, end) of what the group has not consumed. */
  async function backlog(admin: Admin, topic: string, group: string) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends
      .map((end) => {
        const done = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        // No commit yet: the group starts at the beginning (stack/clickhouse/config.d).
        const from = BigInt(done) < 0n ? BigInt(end.low) : BigInt(done);
        return { partition: end.partition, from, end: BigInt(end.high) };
      })
      .filter((p) => p.from < p.end);
  }

  /** Reads [from, end) of each partition with a throwaway consumer group. */
  async function readBacklog(
    topic: string,
    ranges: { partition: number; from: bigint; end: bigint }[],
  ): Promise<Map<number, KafkaMessage[]>> {
    const read = new Map<number, KafkaMessage[]>(ranges.map((r) => [r.partition, []]));
    if (ranges.length === 0) return read;
    const groupId = `ticketpulse-skip-poison-${randomBytes(4).toString('hex')}`;
    const consumer = kafka.consumer({ groupId, maxBytes: 16 * 1024 * 1024 });
    const pending = new Set(ranges.map((r) => r.partition));
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatch: async function collect({ batch }) {
          const range = ranges.find((r) => r.partition === batch.partition);
          if (range === undefined) return;
          const into = read.get(batch.partition)!;
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (offset >= range.from && offset < range.end) into.push(message);
          }
          const last = batch.messages.at(-1);
          if (last !== undefined && BigInt(last.offset) + 1n >= range.end) {
            pending.delete(batch.partition);
            if (pending.size === 0) done();
          }
        },
      });
      for (const r of ranges) consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
      await withDeadline(finished, 120_000, `reading ${topic} did not finish`);
    } finally {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    }
    return read;
  }

  async function waitGroupEmpty(admin: Admin, group: string): Promise<void> {
    const deadline = Date.now() + groupTimeoutMs;
    for (;;) {
      const [described] = (await admin.describeGroups([group])).groups;
      if (described === undefined || described.state === 'Empty' || described.state === 'Dead') return;
      if (Date.now() > deadline) {
        throw new Error(
          `consumer group ${group} still has ${described.members.length} member(s) (${described.state})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Finds the records of `table`'s backlog ClickHouse cannot read; with `dryRun` only reports
   * them, otherwise quarantines them and moves the table past them (see the file header).
   */
  type Target = ReturnType<typeof target>;
  type Range = Awaited<ReturnType<typeof backlog>>[number];
  interface Finding {
    range: Range;
    poison: PoisonReport['poison'];
    /** The good records between the committed offset and the last bad one. */
    keep: KafkaMessage[];
    /** The partition's new offset: just past its last bad record. */
    to: string;
  }

  /** Step 1: stop the table's consumer (its group then empties and the offsets hold still). */
  async function detach({ queue }: Target): Promise<void> {
    log(`detaching ${database}.${queue} (stops its consumer)`);
    await clickhouse.command({ query: `DETACH TABLE ${database}.${queue}` });
  }

  /** Step 2: what ClickHouse cannot read in one partition's backlog, and what to keep. */
  async function find(
    checker: Awaited<ReturnType<typeof createPoisonCheck>>,
    range: Range,
    messages: KafkaMessage[],
  ): Promise<Finding | undefined> {
    const raws = messages.map((m) => m.value?.toString('utf8') ?? '');
    const bad = await checker.find(raws);
    if (bad.length === 0) return undefined;
    const poison = bad.map(({ index, error }) => ({
      partition: range.partition,
      offset: messages[index]!.offset,
      raw: raws[index]!,
      error,
    }));
    const lastBad = bad.at(-1)!.index;
    const keep = messages.slice(0, lastBad).filter((_, i) => !bad.some((b) => b.index === i));
    return { range, poison, keep, to: String(BigInt(messages[lastBad]!.offset) + 1n) };
  }

  /** Step 3: copy each bad record, with where it was and ClickHouse's error, to the quarantine. */
  async function quarantine(producer: Producer, { topicType, topic }: Target, finding: Finding) {
    await producer.send({
      topic: topics.rejected,
      acks: -1,
      messages: finding.poison.map((p) => ({
        value: JSON.stringify(
          quarantineRow({
            index: 0,
            id: idOf(p.raw),
            eventType: topicType,
            raw: p.raw,
            errors: [{ path: '', message: `${topic}/${p.partition}@${p.offset}: ClickHouse: ${p.error}` }],
            receivedAtMs: Date.now(),
            source: 'skip-poison',
          }),
        ),
      })),
    });
  }

  /** Step 4: publish the good records before the last bad one again, to the same partition. */
  async function republish(producer: Producer, { topic }: Target, { range, keep }: Finding) {
    if (keep.length === 0) return;
    await producer.send({
      topic,
      acks: -1,
      messages: keep.map((m) => ({
        partition: range.partition,
        key: m.key,
        value: m.value,
        headers: m.headers,
      })),
    });
  }

  /** Step 5, first half: the group's offset of the partition to just past its last bad record. */
  async function moveOffset(admin: Admin, { topic, group }: Target, { range, to }: Finding) {
    await admin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: range.partition, offset: to }],
    });
  }

  async function skip(table: string, options: { dryRun?: boolean } = {}): Promise<PoisonReport> {
    const at = target(table);
    const report: PoisonReport = {
      table,
      topic: at.topic,
      scanned: 0,
      poison: [],
      republished: 0,
      moved: [],
    };
    const admin = kafka.admin();
    await admin.connect();
    const checker = await createPoisonCheck({ clickhouse, database, queue: at.queue });
    let detached = false;
    try {
      if (!options.dryRun) {
        await detach(at);
        detached = true;
        await waitGroupEmpty(admin, at.group);
      }
      const ranges = await backlog(admin, at.topic, at.group);
      log(
        `backlog of ${at.group}: ${ranges.map((r) => `p${r.partition} ${r.from}..${r.end}`).join(', ') || 'none'}`,
      );
      const read = await readBacklog(at.topic, ranges);
      const producer = ackedProducer(kafka);
      await producer.connect();
      try {
        for (const range of ranges) {
          const messages = read.get(range.partition) ?? [];
          report.scanned += messages.length;
          const finding = await find(checker, range, messages);
          if (finding === undefined) continue;
          report.poison.push(...finding.poison);
          report.moved.push({ partition: range.partition, from: String(range.from), to: finding.to });
          report.republished += finding.keep.length;
          if (options.dryRun) continue;
          // Steps 3 and 4 are acknowledged before step 5 (see the top of this file).
          await quarantine(producer, at, finding);
          await republish(producer, at, finding);
          await moveOffset(admin, at, finding);
          log(
            `p${range.partition}: ${finding.poison.length} quarantined, ${finding.keep.length} republished, offset ${range.from} -> ${finding.to}`,
          );
        }
      } finally {
        await producer.disconnect();
      }
    } finally {
      // Step 5, second half: resume consuming from the new offsets.
      if (detached) {
        log(`attaching ${database}.${at.queue}`);
        await clickhouse.command({ query: `ATTACH TABLE ${database}.${at.queue}` });
      }
      await checker.drop().catch(() => undefined);
      await admin.disconnect();
    }
    return report;
  }

  /**
   * Moves `table`'s consumer group back to the first record each partition holds from
   * `fromMs` on (never forward), with the table detached, so the table reads those records
   * again. For the window in which 18.16 has committed a pass's offsets but not yet written
   * its rows (docs/operations.md: After an unclean ClickHouse stop): the dedup views count
   * each id once, so what was already counted is not counted again.
   */
  async function rewind(table: string, fromMs: number): Promise<RewindReport> {
    const at = target(table);
    if (!DEDUPLICATED_STREAMS.includes(table)) {
      throw new Error(
        `'${table}' does not deduplicate, so reading it again would count twice: one of ${DEDUPLICATED_STREAMS.join(', ')}`,
      );
    }
    const report: RewindReport = { table, topic: at.topic, moved: [] };
    const admin = kafka.admin();
    await admin.connect();
    let detached = false;
    try {
      await detach(at);
      detached = true;
      await waitGroupEmpty(admin, at.group);
      const since = await admin.fetchTopicOffsetsByTimestamp(at.topic, fromMs);
      const [committed] = await admin.fetchOffsets({ groupId: at.group, topics: [at.topic] });
      for (const { partition, offset } of since) {
        const done = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
        // No commit yet: the group reads from the beginning anyway.
        if (BigInt(done) < 0n || BigInt(offset) < 0n || BigInt(offset) >= BigInt(done)) continue;
        await admin.setOffsets({ groupId: at.group, topic: at.topic, partitions: [{ partition, offset }] });
        report.moved.push({ partition, from: done, to: offset });
        log(`p${partition}: offset ${done} -> ${offset}`);
      }
    } finally {
      if (detached) {
        log(`attaching ${database}.${at.queue}`);
        await clickhouse.command({ query: `ATTACH TABLE ${database}.${at.queue}` });
      }
      await admin.disconnect();
    }
    return report;
  }

  return { skip, rewind };
}

function idOf(raw: string): string | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
