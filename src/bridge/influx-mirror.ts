/**
 * Mirrors finished one-minute windows into InfluxDB, for operators' own tools (Grafana,
 * Kapacitor, retention policies): `sales_per_minute` (tags event_id, category) and
 * `metrics_per_minute` (tag name), one point per window and series at the window start.
 *
 * Each pass reads only what may have changed since its watermark (ClickHouse's clock at the
 * last pass InfluxDB took in full):
 * - sales windows (gross, refunded and net fields) named by the change logs `ticket_sales_ids`
 *   and `refund_decisions` (a booked refund's window, by the refund's time) since the start of the minute
 *   that was open at the watermark, less the 5 minutes an event may be ahead of the clock (a
 *   sale stamped in a future minute is named again once its window has closed); it is the
 *   same log the push feed reads, so a late sale rewrites its window, however old, at the
 *   same timestamp;
 * - metric windows of the last 10 minutes before it (metrics have no cheap change log; a
 *   metric more than 10 minutes late is not mirrored).
 * Only windows before the current minute are written. A point written again replaces the old
 * one (same series and time), so the mirror is idempotent and ends equal to ClickHouse.
 *
 * Points go through a buffer of at most `bufferPoints` (the latest value per window), written
 * whenever it fills and at the end of the pass. While InfluxDB is unavailable they wait there;
 * beyond its size the oldest are dropped and counted, and the watermark stays: when InfluxDB
 * answers again, the next pass re-reads everything since it. A pass that read more windows
 * than the buffer holds (the first after a start, a long outage) writes them in several
 * batches; only a failed write drops anything. Nothing here is on the ingest path.
 */
import { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClickHouseClient } from '../clients/clickhouse.js';
import type { Influx } from '../clients/influx.js';
import { MAX_FUTURE_SKEW_MS } from '../events/envelope.js';
import { repeat } from '../lifecycle/repeat.js';
import { keysThenLiterals, viewReader } from '../sql/keys-then-literals.js';
import { ident, int, str } from '../sql/literals.js';

export interface InfluxMirrorOptions {
  clickhouse: ClickHouseClient;
  database: string;
  influx: Influx;
  logger: Logger;
  intervalMs: number;
  bufferPoints: number;
  registry?: Registry;
}

/** How far back the first pass after a start reads: the dedup horizon of the change log. */
const FIRST_PASS_SECONDS = 86_400;
const METRIC_LATENESS_SECONDS = 600;
/** Sales windows read by one query (their keys are listed in it). */
const KEYS_PER_QUERY = 500;
/** Rows ClickHouse counted just before the watermark may only have become visible after it. */
const OVERLAP_SECONDS = 5;
/** How far before the watermark's minute the change log is read again (see the header). */
const SALES_REREAD_SECONDS = MAX_FUTURE_SKEW_MS / 1000 + OVERLAP_SECONDS;

interface SalesRow {
  event_id: string;
  category: string;
  t: number;
  tickets: number;
  orders: number;
  revenue: number;
  unique_buyers: number;
  refunds: number;
  tickets_refunded: number;
  revenue_refunded: number;
  net_tickets: number;
  net_revenue: number;
}

interface MetricRow {
  name: string;
  t: number;
  samples: number;
  avg: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
}

/** What a row of a mirrored view becomes: a point of `name` with these tags and fields, at `t`. */
interface Measurement<Row> {
  name: string;
  tags: (keyof Row & string)[];
  ints: (keyof Row & string)[];
  floats: (keyof Row & string)[];
}

const SALES: Measurement<SalesRow> = {
  name: 'sales_per_minute',
  tags: ['event_id', 'category'],
  ints: ['tickets', 'orders', 'unique_buyers', 'refunds', 'tickets_refunded', 'net_tickets'],
  floats: ['revenue', 'revenue_refunded', 'net_revenue'],
};

const METRICS: Measurement<MetricRow> = {
  name: 'metrics_per_minute',
  tags: ['name'],
  ints: ['samples'],
  floats: ['avg', 'min', 'max', 'p50', 'p95', 'p99'],
};

/** The row's point, with the key of its series and window (what the buffer keeps one of). */
function pointOf<Row extends { t: number }>(m: Measurement<Row>, row: Row): [string, Point] {
  const point = new Point(m.name).timestamp(row.t);
  for (const tag of m.tags) point.tag(tag, String(row[tag]));
  for (const field of m.ints) point.intField(field, Number(row[field]));
  for (const field of m.floats) point.floatField(field, Number(row[field]));
  return [[m.name, ...m.tags.map((tag) => String(row[tag])), row.t].join('\u0000'), point];
}

export function createInfluxMirror(options: InfluxMirrorOptions) {
  const { clickhouse, influx, logger } = options;
  const db = ident(options.database).text;
  const registers = options.registry ? [options.registry] : [];
  const dropped = new Counter({
    name: 'ticketpulse_influx_dropped_points_total',
    help: 'Points dropped from the InfluxDB mirror buffer while InfluxDB was unavailable (re-read from the watermark later)',
    registers,
  });
  const failures = new Counter({
    name: 'ticketpulse_influx_write_failures_total',
    help: 'Mirror passes whose write to InfluxDB failed',
    registers,
  });
  const pendingGauge = new Gauge({
    name: 'ticketpulse_influx_pending_points',
    help: 'Points waiting for InfluxDB',
    registers,
  });

  /** series key → line protocol, the latest value per window. */
  const pending = new Map<string, Point>();
  let watermark: number | undefined;
  let databaseReady = false;
  let failing = false;

  const select = viewReader(clickhouse);

  /** The finished sales windows the change log names since `since` (src/sql/keys-then-literals.ts). */
  function changedSales(since: string, until: string): Promise<SalesRow[]> {
    return keysThenLiterals<{ event_id: string; t: number }, SalesRow>(select, {
      keys: `SELECT DISTINCT event_id, t FROM (
         SELECT event_id, toUnixTimestamp(toStartOfMinute(event_time)) AS t
         FROM ${db}.ticket_sales_ids
         WHERE ingested_at >= toDateTime(${since}) AND event_time < toDateTime(${until})
         UNION ALL
         SELECT event_id, toUnixTimestamp(toStartOfMinute(refunded_at)) AS t
         FROM ${db}.refund_decisions
         WHERE decided_at >= toDateTime(${since}) AND refunded_at < toDateTime(${until})
       )`,
      rows: (chunk) => {
        const tuples = chunk.map((k) => `(${str(k.event_id).text}, toDateTime(${int(k.t).text}))`);
        const times = chunk.map((k) => k.t);
        return `SELECT event_id, category, toUnixTimestamp(window_start) AS t, tickets, orders, toFloat64(revenue) AS revenue, unique_buyers,
             refunds, tickets_refunded, toFloat64(revenue_refunded) AS revenue_refunded, net_tickets,
             toFloat64(net_revenue) AS net_revenue
           FROM ${db}.sales_per_minute
           WHERE window_start >= toDateTime(${int(Math.min(...times)).text})
             AND window_start <= toDateTime(${int(Math.max(...times)).text})
             AND (event_id, window_start) IN (${tuples.join(', ')})`;
      },
      keysPerQuery: KEYS_PER_QUERY,
    });
  }

  /** Writes the buffer and empties it, returning its size; throws (keeping it) when InfluxDB did not take it. */
  async function flush(): Promise<number> {
    if (!databaseReady) {
      await influx.createDatabase();
      databaseReady = true;
    }
    const count = pending.size;
    if (count === 0) return 0;
    try {
      await influx.write([...pending.values()]);
    } catch (err) {
      databaseReady = false; // a database dropped meanwhile (InfluxDB reset) answers 404: create it again
      throw err;
    }
    pending.clear();
    return count;
  }

  /** One pass: read what changed, buffer it, write the buffer. Returns the points written in this pass. */
  async function runOnce(): Promise<number> {
    const [clock] = await select<{ now: number; minute: number }>(
      'SELECT toUnixTimestamp(now()) AS now, toUnixTimestamp(toStartOfMinute(now())) AS minute',
    );
    const { now, minute } = clock!;
    const openMinute = watermark === undefined ? now - FIRST_PASS_SECONDS : Math.floor(watermark / 60) * 60;
    const salesSince = int(Math.max(0, openMinute - SALES_REREAD_SECONDS)).text;
    const metricsSince = int(Math.max(0, openMinute - METRIC_LATENESS_SECONDS)).text;
    const until = int(minute).text;
    const [sales, metrics] = await Promise.all([
      changedSales(salesSince, until),
      select<MetricRow>(
        `SELECT name, toUnixTimestamp(window_start) AS t, samples, avg, min, max, p50, p95, p99
         FROM ${db}.metrics_per_minute
         WHERE window_start >= toDateTime(${metricsSince}) AND window_start < toDateTime(${until})`,
      ),
    ]);
    let writeError: unknown;
    let written = 0;
    async function write(): Promise<void> {
      if (writeError !== undefined) return; // one failed write per pass
      try {
        written += await flush();
      } catch (err) {
        writeError = err;
      }
    }
    /** Buffers a point; a full buffer is written first or, InfluxDB failing, loses its oldest. */
    async function add(key: string, point: Point): Promise<void> {
      if (!pending.has(key) && pending.size >= options.bufferPoints) await write();
      pending.delete(key);
      pending.set(key, point);
      while (pending.size > options.bufferPoints) {
        pending.delete(pending.keys().next().value!);
        dropped.inc();
      }
    }
    for (const row of sales) await add(...pointOf(SALES, row));
    for (const row of metrics) await add(...pointOf(METRICS, row));
    await write();
    pendingGauge.set(pending.size);
    if (writeError !== undefined) {
      failures.inc();
      if (!failing)
        logger.warn(
          { err: writeError, pending: pending.size },
          'InfluxDB mirror: write failed; holding points and retrying from the watermark',
        );
      failing = true;
      return written;
    }
    if (failing) logger.info({ written }, 'InfluxDB mirror: writing again');
    failing = false;
    watermark = now;
    return written;
  }

  const loop = repeat({
    run: runOnce,
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    onError: (err) => logger.warn({ err }, 'InfluxDB mirror pass failed; retrying'),
  });

  return {
    runOnce,
    start: () => loop.start(),
    close: () => loop.close(),
  };
}

export type InfluxMirror = ReturnType<typeof createInfluxMirror>;
