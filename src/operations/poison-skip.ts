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
 * `replay()` reads the last minutes of a table's topic again after an unclean ClickHouse stop,
 * without detaching anything: see below.
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { ackedProducer } from '../clients/kafka.js';
import { createPoisonCheck } from './poison-check.js';
import { DEDUP_SETS } from '../dedup/horizon-rotation.js';
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

/** What `replay()` did: ids remembered again, and per partition the range published again. */
export interface ReplayReport {
  table: string;
  topic: string;
  /** Rows of the raw table whose ids were put in the dedup sets again. */
  remembered: number;
  republished: { partition: number; from: string; to: string; messages: number }[];
}

export interface PoisonSkipOptions {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  database: string;
  topicPrefix: string;
  log?: (line: string) => void;
  /** How long to wait for a consumer group to settle, and to empty after DETACH (default 60 s). */
  groupTimeoutMs?: number;
}

/** The Kafka tables by name (`ticket_sales`, ...), as `--table` takes them. */
export const KAFKA_TABLE_NAMES = TOPIC_KINDS.map((kind) => STREAM_OF[kind]);

/** How far before the replay's start the dedup sets are filled again (clock skew, late writes). */
const REMEMBER_MARGIN_MS = 60_000;
/** Ten minutes of an on-sale can be millions of events: give the re-publishing time. */
const REPLAY_DEADLINE_MS = 30 * 60_000;

/** A group whose consumer has joined through its coordinator, so it may be closed (`detach`). */
const SETTLED = ['Stable'] as const;
/** A group with no member left. */
const EMPTY = ['Empty', 'Dead'] as const;

/** Offsets [from, end) of one partition. */
export interface PartitionRange {
  partition: number;
  from: bigint;
  end: bigint;
}

/**
 * Per partition, from the first offset at `sinceMs` (or the log start) to the log end now;
 * partitions with nothing in that range are left out.
 */
export async function topicRanges(admin: Admin, topic: string, sinceMs?: number): Promise<PartitionRange[]> {
  const [starts, ends] = await Promise.all([
    sinceMs === undefined ? undefined : admin.fetchTopicOffsetsByTimestamp(topic, sinceMs),
    admin.fetchTopicOffsets(topic),
  ]);
  return ends
    .map(({ partition, low, high }) => ({
      partition,
      from: BigInt(starts?.find((p) => p.partition === partition)?.offset ?? low),
      end: BigInt(high),
    }))
    .filter((r) => r.from >= 0n && r.from < r.end);
}

/**
 * Reads [from, end) of each partition with a throwaway consumer group, handing each batch's
 * messages in that range to `onBatch` before it fetches more (so a slow `onBatch` holds the
 * reading back, and memory stays bounded by a batch).
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: PartitionRange[],
  onBatch: (partition: number, messages: KafkaMessage[]) => Promise<void>,
  deadlineMs = 120_000,
): Promise<void> {
  if (ranges.length === 0) return;
  const groupId = `ticketpulse-operations-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxBytes: 16 * 1024 * 1024 });
  const pending = new Set(ranges.map((r) => r.partition));
  let done!: () => void;
  let failed!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async function hand({ batch }) {
        const range = ranges.find((r) => r.partition === batch.partition);
        if (range === undefined || !pending.has(batch.partition)) return;
        const inRange = batch.messages.filter(
          (m) => BigInt(m.offset) >= range.from && BigInt(m.offset) < range.end,
        );
        try {
          if (inRange.length > 0) await onBatch(batch.partition, inRange);
        } catch (err) {
          failed(err);
          return;
        }
        const last = batch.messages.at(-1);
        if (last !== undefined && BigInt(last.offset) + 1n >= range.end) {
          pending.delete(batch.partition);
          if (pending.size === 0) done();
        }
      },
    });
    for (const r of ranges) consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
    await withDeadline(finished, deadlineMs, `reading ${topic} did not finish in ${deadlineMs / 1000} s`);
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Publishes [from, end) of each partition again, to the same partition, batch by batch; the
 * number of messages per partition. What a redelivery is to a Kafka table: the same records
 * read again.
 */
export async function republishRanges(
  kafka: Kafka,
  topic: string,
  ranges: PartitionRange[],
  deadlineMs = 120_000,
): Promise<Map<number, number>> {
  const counts = new Map(ranges.map((r) => [r.partition, 0]));
  const producer = ackedProducer(kafka);
  await producer.connect();
  try {
    await readRanges(
      kafka,
      topic,
      ranges,
      async (partition, messages) => {
        await producer.send({
          topic,
          messages: messages.map((m) => ({ partition, key: m.key, value: m.value, headers: m.headers })),
        });
        counts.set(partition, counts.get(partition)! + messages.length);
      },
      deadlineMs,
    );
  } finally {
    await producer.disconnect();
  }
  return counts;
}

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
  async function backlog(admin: Admin, topic: string, group: string): Promise<PartitionRange[]> {
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

  /** Reads [from, end) of each partition into memory (a poison scan's backlog). */
  async function readBacklog(topic: string, ranges: PartitionRange[]): Promise<Map<number, KafkaMessage[]>> {
    const read = new Map<number, KafkaMessage[]>(ranges.map((r) => [r.partition, []]));
    await readRanges(
      kafka,
      topic,
      ranges,
      async (partition, messages) => void read.get(partition)!.push(...messages),
    );
    return read;
  }

  /** Polls `group` until its state is one of `states`, for at most `groupTimeoutMs`. */
  async function waitGroup(
    admin: Admin,
    group: string,
    states: readonly string[],
    what: string,
  ): Promise<void> {
    const deadline = Date.now() + groupTimeoutMs;
    for (;;) {
      const [described] = (await admin.describeGroups([group])).groups;
      if (described === undefined || states.includes(described.state)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `consumer group ${group} did not ${what} in ${groupTimeoutMs / 1000} s: ${described.members.length} member(s), ${described.state}`,
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
  interface Finding {
    range: PartitionRange;
    poison: PoisonReport['poison'];
    /** The good records between the committed offset and the last bad one. */
    keep: KafkaMessage[];
    /** The partition's new offset: just past its last bad record. */
    to: string;
  }

  /**
   * Step 1: stop the table's consumer and wait until its group is empty, so the offsets hold
   * still. First waits until the group is Stable: 18.16 closing a consumer that is still
   * joining, or has lost its coordinator, can abort the whole server on librdkafka's assert
   * `!rkcg->rkcg_subscription` (the server's dump: the group "in state term, ... broker
   * (none)"; CI runs on 2026-12-04 lost ClickHouse to a DETACH seconds after a restart and to
   * test teardowns' DROPs).
   */
  async function detach(admin: Admin, { queue, group }: Target): Promise<void> {
    await waitGroup(admin, group, SETTLED, 'settle');
    log(`detaching ${database}.${queue} (stops its consumer)`);
    await clickhouse.command({ query: `DETACH TABLE ${database}.${queue}` });
    await waitGroup(admin, group, EMPTY, 'empty');
  }

  /** Step 2: what ClickHouse cannot read in one partition's backlog, and what to keep. */
  async function find(
    checker: Awaited<ReturnType<typeof createPoisonCheck>>,
    range: PartitionRange,
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
        await detach(admin, at);
        detached = true;
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
   * Reads `table`'s topic again from `fromMs` on, after an unclean ClickHouse stop
   * (docs/operations.md: After an unclean ClickHouse stop), with ClickHouse up and consuming:
   * 1. remembers again, in the table's dedup sets, every id its raw table holds from
   *    `fromMs` less a minute on (each in the set of the slot it was ingested in, as the
   *    views put it), since a kill can keep rows that were written and lose the set insert
   *    that followed them (a fault-suite run counted 61 sales twice when read again without
   *    this);
   * 2. publishes again, each to its own partition, every message from the first one at
   *    `fromMs` to the log end as it was when the replay started. The dedup views drop what
   *    was counted; what 18.16 consumed and committed but never wrote is counted once.
   * Nothing is detached and no consumer group is moved: 18.16 closing a Kafka table's
   * consumer soon after a restart aborted the server in a CI run (librdkafka's
   * `!rkcg->rkcg_subscription` assert).
   */
  async function replay(table: string, fromMs: number): Promise<ReplayReport> {
    const at = target(table);
    if (!DEDUPLICATED_STREAMS.includes(table)) {
      throw new Error(
        `'${table}' does not deduplicate, so reading it again would count twice: one of ${DEDUPLICATED_STREAMS.join(', ')}`,
      );
    }
    if (!(await clickhouse.ping()).success) {
      throw new Error('ClickHouse does not answer: start it, then replay (its dedup sets are filled first)');
    }
    const report: ReplayReport = { table, topic: at.topic, remembered: 0, republished: [] };
    report.remembered = await remember(table, fromMs - REMEMBER_MARGIN_MS);
    log(
      `${table}: ${report.remembered} ids written since ${new Date(fromMs - REMEMBER_MARGIN_MS).toISOString()} remembered in its dedup sets`,
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ranges = await topicRanges(admin, at.topic, fromMs);
      const counts = await republishRanges(kafka, at.topic, ranges, REPLAY_DEADLINE_MS);
      for (const r of ranges) {
        const messages = counts.get(r.partition)!;
        report.republished.push({
          partition: r.partition,
          from: String(r.from),
          to: String(r.end),
          messages,
        });
        log(`p${r.partition}: offsets ${r.from}..${r.end - 1n}, ${messages} messages published again`);
      }
    } finally {
      await admin.disconnect();
    }
    return report;
  }

  /** Step 1 of `replay()`: the raw table's ids ingested since `sinceMs`, into the dedup sets. */
  async function remember(table: string, sinceMs: number): Promise<number> {
    const since = `toDateTime(${Math.floor(sinceMs / 1000)})`;
    const slot = `(SELECT any(slot_seconds) FROM ${database}.dedup_settings)`;
    for (let k = 0; k < DEDUP_SETS; k++) {
      await clickhouse.command({
        query: `INSERT INTO ${database}.${table}_seen_${k}
          SELECT id FROM ${database}.${table}
          WHERE ingested_at >= ${since} AND intDiv(toUInt32(ingested_at), ${slot}) % ${DEDUP_SETS} = ${k}`,
      });
    }
    const rows = await (
      await clickhouse.query({
        query: `SELECT count() AS n FROM ${database}.${table} WHERE ingested_at >= ${since}`,
        format: 'JSONEachRow',
      })
    ).json<{ n: string }>();
    return Number(rows[0]?.n ?? 0);
  }

  return { skip, replay };
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
