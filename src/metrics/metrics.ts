/**
 * The service's Prometheus metrics (prom-client), served at `GET /metrics`. Counters and the
 * produce histogram are updated where things happen; the pipeline gauges (rows behind per
 * Kafka table, how long messages wait, freshness, fraud-rule lag) are read from Kafka and
 * ClickHouse when scraped.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumerLag, Progress } from '../kafka/consumer-lag.js';
import { STREAM_OF } from '../kafka/topology.js';
import type { TopicName } from '../kafka/topology.js';

export interface IngestMetrics {
  /** Records by event type and outcome; `reason` is the first rejected field (e.g. `timestamp`). */
  records: Counter<'event_type' | 'outcome' | 'reason'>;
  /** Kafka produce (send until acknowledged) per request, by outcome. */
  produceSeconds: Histogram<'outcome'>;
}

export interface Metrics extends IngestMetrics {
  registry: Registry;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ticketpulse_' });
  return {
    registry,
    records: new Counter({
      name: 'ticketpulse_ingest_records_total',
      help: 'Records posted to /v1/events, by event type, outcome (accepted | rejected) and rejection reason (the first bad field)',
      labelNames: ['event_type', 'outcome', 'reason'],
      registers: [registry],
    }),
    produceSeconds: new Histogram({
      name: 'ticketpulse_kafka_produce_seconds',
      help: "Time from sending a request's batch to Kafka until all in-sync replicas acknowledged it (or it failed)",
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

/** How long a scrape waits for Kafka's offsets before the Kafka gauges go unknown. */
const KAFKA_DEADLINE_MS = 1000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

export interface PipelineGaugeOptions {
  registry: Registry;
  lag: ConsumerLag;
  clickhouse: ClickHouseClient;
  database: string;
}

/**
 * Gauges read at scrape time. Unknown is NaN (nothing counted yet, or ClickHouse did not
 * answer) for the unlabelled gauges, a missing series for rows behind.
 */
export function addPipelineGauges({ registry, lag, clickhouse, database }: PipelineGaugeOptions): void {
  const tables = Object.entries(STREAM_OF) as [TopicName, string][];
  // One read of the offsets per scrape for the three Kafka gauges, every topic at once, each
  // with a deadline (1 s; the reads take milliseconds): a broker that hangs (SIGSTOP, a
  // partition) makes the series unknown instead of holding /metrics past Prometheus's scrape
  // timeout, which would read as the service being down.
  let offsets: { at: number; read: Promise<(Progress | undefined)[]> } | undefined;
  function progressOfAll(): Promise<(Progress | undefined)[]> {
    const now = Date.now();
    if (offsets === undefined || now - offsets.at >= 1000) {
      offsets = {
        at: now,
        read: Promise.all(tables.map(([topic]) => withDeadline(lag.progress(topic), KAFKA_DEADLINE_MS))),
      };
    }
    return offsets.read;
  }

  new Gauge({
    name: 'ticketpulse_kafka_rows_behind',
    help: 'Messages of each topic that its ClickHouse Kafka table has not committed yet',
    labelNames: ['table'],
    registers: [registry],
    async collect() {
      this.reset();
      const all = await progressOfAll();
      tables.forEach(([, table], i) => {
        const behind = all[i]?.behind;
        if (behind !== undefined) this.set({ table }, behind);
      });
    },
  });

  type PartitionProgress = Progress['partitions'][number];
  /** A gauge per table whose value is the largest of a per-partition figure in seconds. */
  function partitionSecondsGauge(
    name: string,
    help: string,
    secondsOf: (key: string, part: PartitionProgress, now: number) => number,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: ['table'],
      registers: [registry],
      async collect() {
        this.reset();
        const now = Date.now();
        const all = await progressOfAll();
        for (const [i, [, table]] of tables.entries()) {
          const progress = all[i];
          if (progress === undefined) continue;
          let most = 0;
          for (const part of progress.partitions)
            most = Math.max(most, secondsOf(`${table}:${part.partition}`, part, now));
          this.set({ table }, most);
        }
      },
    });
  }

  // Per partition of each table: the committed offset and backlog last seen, and since when the
  // partition has been behind at that offset (from the first scrape that saw it: never
  // overstated). A record ClickHouse cannot read holds its partition while blocks from the
  // other partitions may still commit, so the table's stall is its most stalled partition.
  const lastProgress = new Map<string, { committed: number; behind: number; since: number }>();
  partitionSecondsGauge(
    'ticketpulse_kafka_table_stalled_seconds',
    'How long the most stalled partition of each ClickHouse Kafka table has had messages behind without committing any (0 when caught up or moving); a record it cannot read stalls it for good: npm run kafka -- skip-poison',
    (key, part, now) => {
      const last = lastProgress.get(key);
      const moving = last === undefined || last.behind === 0 || last.committed !== part.committed;
      if (part.behind === 0 || moving) {
        lastProgress.set(key, { ...part, since: now });
        return 0;
      }
      return (now - last.since) / 1000;
    },
  );

  // Per partition, the log end offsets seen at earlier scrapes and when each was first seen:
  // the oldest message not committed yet was written before the first scrape whose end passed
  // it, so its wait is at least that long (never overstated; understated by one scrape interval
  // at most). A busy, healthy table keeps it near 0; a pause in traffic keeps it at 0.
  const endsSeen = new Map<string, { end: number; since: number }[]>();
  partitionSecondsGauge(
    'ticketpulse_kafka_oldest_waiting_seconds',
    'How long the oldest message each ClickHouse Kafka table has not committed has been waiting, at least (0 when caught up; read from offsets at scrape time)',
    (key, part, now) => {
      const seen = endsSeen.get(key) ?? [];
      const end = part.committed + part.behind;
      if (part.behind > 0 && (seen.at(-1)?.end ?? -1) < end) seen.push({ end, since: now });
      while (seen.length > 0 && seen[0]!.end <= part.committed) seen.shift();
      endsSeen.set(key, seen);
      return seen[0] === undefined ? 0 : (now - seen[0].since) / 1000;
    },
  );

  async function scalar(query: string): Promise<number | undefined> {
    try {
      const result = await clickhouse.query({ query, format: 'JSONEachRow' });
      const [row] = await result.json<{ value: number | string | null }>();
      const value = row?.value;
      return value === null || value === undefined ? undefined : Number(value);
    } catch {
      return undefined;
    }
  }

  new Gauge({
    name: 'ticketpulse_freshness_seconds',
    help: 'Age of the newest counted sale (its own timestamp) among those ClickHouse counted in the last hour; grows while no sales arrive',
    registers: [registry],
    async collect() {
      const newestMs = await scalar(
        `SELECT max(timestamp_ms) AS value
         FROM ${database}.ticket_sales_ids WHERE ingested_at >= now() - INTERVAL 1 HOUR HAVING count() > 0`,
      );
      const age = newestMs === undefined ? undefined : (Date.now() - newestMs) / 1000;
      this.set(age ?? NaN);
    },
  });

  // Not "now minus the watermark": the watermark stands still while no sales arrive, so that
  // grew through every quiet hour and paged on a healthy, idle system. What the rules owe is the
  // sales ingested at or after the oldest rule's watermark; their age is how late the fraud
  // alerts are. 0 while nothing waits, however long the pause; the first run starts a day back.
  new Gauge({
    name: 'ticketpulse_fraud_rules_lag_seconds',
    help: 'How long the oldest sale the fraud rules have not evaluated yet has been in ClickHouse (ingested at or after the oldest rule watermark); 0 when none waits, also while no sales arrive',
    registers: [registry],
    async collect() {
      const waiting = await scalar(
        `SELECT if(count() = 0, 0, toUInt32(now()) - toUInt32(min(ingested_at))) AS value
         FROM ${database}.ticket_sales_ids
         WHERE ingested_at >= greatest(now() - INTERVAL 1 DAY,
           (SELECT min(to) FROM (SELECT rule, max(evaluated_to) AS to FROM ${database}.fraud_rule_runs GROUP BY rule)))`,
      );
      this.set(waiting === undefined ? NaN : Math.max(0, waiting));
    },
  });
}

/** Message bytes the API has on their way to Kafka (INGEST_MAX_IN_FLIGHT_BYTES bounds them). */
export function addInFlightGauge(registry: Registry, sink: { inFlightBytes(): number }): void {
  new Gauge({
    name: 'ticketpulse_kafka_in_flight_bytes',
    help: 'Message bytes sent to Kafka and not yet settled (past 503 deadlines included); INGEST_MAX_IN_FLIGHT_BYTES bounds it',
    registers: [registry],
    collect() {
      this.set(sink.inFlightBytes());
    },
  });
}
