/**
 * The data of `npm run bench:queries`: a migrated database with sales, interactions and metrics
 * over `days` written straight into ClickHouse (INSERT ... SELECT FROM numbers()), and the
 * dimensions of its shows.
 *
 * Rows go into the queue tables, which the migrator creates as Null tables
 * (`kafkaEngine: 'null'`, as the integration tests do): an insert there runs the same chain of
 * views a Kafka block does, on either server version (dedup view, raw table, every window,
 * sales_totals, sales_by_user, ticket_sales_ids, the dedup sets). Inserting into `ticket_sales`
 * instead fills nothing on 18.16, where the windows select FROM the dedup view and are fired
 * only through it (src/migrate/cascade-mode.ts). So `ingested_at` is the load's clock, as it
 * would be for a backlog consumed at once.
 *
 * The dedup sets are emptied after each chunk (TRUNCATE, as the horizon job does): history this
 * old is past the dedup horizon, and 110M ids would hold ~5 GiB in ClickHouse (47.5 MiB per
 * million, docs/benchmarks.md).
 */
import { COLUMNS } from '../src/events/registry.js';
import { FUNNEL } from '../src/simulate/traffic-model.js';
import type { ClickHouseClient } from '@clickhouse/client';

/** What to load; every count is rows. */
export interface LoadPlan {
  database: string;
  sales: number;
  interactions: number;
  metrics: number;
  shows: number;
  days: number;
  /** Rows per INSERT. */
  chunk: number;
  /** Share of sales and interactions that go to the busy show (`show-0`). */
  busyShare: number;
  /** Distinct buyers (and interacting users) the rows are drawn from. */
  users: number;
  /** Epoch seconds, a whole minute: the history ends here. */
  endSeconds: number;
}

export const BUSY_SHOW = 'show-0';
export const BUSY_ORGANIZER = 'org-0';
export const CATEGORIES = ['VIP', 'GA', 'Balcony', 'Floor'] as const;
const PRICES = [150, 45.5, 80, 60];
const CHANNELS = ['web', 'app', 'box_office', 'partner'];
const ACTIONS = [...FUNNEL, 'checkout_completed', 'queue_joined'];
export const METRIC_NAMES = [
  'api_latency_ms',
  'checkout_queue_length',
  'ingest_batch_size',
  'kafka_send_ms',
  'push_subscribers',
  'db_pool_waiting',
  'cpu_percent',
  'rss_mb',
  'gc_pause_ms',
  'http_5xx',
];
const SEEN_SETS = [0, 1, 2, 3];

const list = (values: readonly (string | number)[]) =>
  `[${values.map((v) => (typeof v === 'number' ? String(v) : `'${v}'`)).join(', ')}]`;

/**
 * Row `i` of a stream: its show (`busyShare` to show-0, the rest spread over the other shows
 * with a long tail: show k gets a share ~ log((k + 1) / k)) and its time (evenly over the span).
 */
function rowSource(
  plan: LoadPlan,
  offset: number,
  n: number,
  total: number,
  startMs: number,
  spanMs: number,
) {
  const busyPerMille = Math.round(plan.busyShare * 1000);
  return `SELECT number + ${offset} AS i,
      cityHash64(i, 1) AS h,
      if(h % 1000 < ${busyPerMille}, 0,
         least(${plan.shows - 1}, toUInt32(exp((cityHash64(i, 2) % 1000000) / 1000000 * log(${plan.shows}))))) AS show,
      toUInt64(${startMs}) + intDiv(toUInt64(i) * ${spanMs}, ${total}) AS ts
    FROM numbers(${n})`;
}

/**
 * An INSERT into a stream's Kafka (Null) table of batch rows, as the API writes them
 * (migrations/clickhouse/0015_batch_messages.sql): one row of column arrays per 1,000 events,
 * which the view chain explodes with ARRAY JOIN. `exprs` are the columns' values per event.
 */
function batchInsert(
  plan: LoadPlan,
  queue: string,
  columns: readonly string[],
  exprs: readonly string[],
  from: string,
): string {
  return `INSERT INTO ${plan.database}.${queue} (${columns.join(', ')}, heartbeat)
    SELECT ${columns.map((c) => `groupArray(r_${c})`).join(', ')}, 0
    FROM (SELECT i AS r_i, ${exprs.map((e, k) => `${e} AS r_${columns[k]}`).join(', ')} FROM (${from}))
    GROUP BY intDiv(r_i, 1000)`;
}

function salesInsert(plan: LoadPlan, source: string): string {
  return batchInsert(
    plan,
    'ticket_sales_queue',
    COLUMNS.ticket_sale,
    [
      'toString(generateUUIDv4())',
      'toUInt16(1)',
      'ts',
      'ts + 40',
      "concat('show-', toString(show))",
      "concat('order-', toString(i))",
      `concat('user-', toString(cityHash64(i, 3) % ${plan.users}))`,
      `${list(CATEGORIES)}[c + 1]`,
      'q',
      `toString(q * ${list(PRICES)}[c + 1])`,
      "'EUR'",
      `${list(CHANNELS)}[(intDiv(h, 1000) % 4) + 1]`,
      "'DE'",
      "'Berlin'",
    ],
    `SELECT *, intDiv(h, 4000) % 4 AS c, toUInt16(1 + intDiv(h, 16000) % 4) AS q FROM (${source})`,
  );
}

function interactionsInsert(plan: LoadPlan, source: string): string {
  return batchInsert(
    plan,
    'user_interactions_queue',
    COLUMNS.user_interaction,
    [
      'toString(generateUUIDv4())',
      'toUInt16(1)',
      'ts',
      'ts + 40',
      "concat('show-', toString(show))",
      "concat('user-', toString(u))",
      "concat('session-', toString(u), '-', toString(intDiv(ts, 1800000)))",
      `${list(ACTIONS)}[(intDiv(h, 1000) % ${ACTIONS.length}) + 1]`,
      "'/shows'",
      "''",
    ],
    `SELECT *, cityHash64(i, 3) % ${plan.users} AS u FROM (${source})`,
  );
}

function metricsInsert(plan: LoadPlan, offset: number, n: number, startMs: number, spanMs: number): string {
  return batchInsert(
    plan,
    'system_metrics_queue',
    COLUMNS.system_metric,
    [
      'toString(generateUUIDv4())',
      'toUInt16(1)',
      'ts',
      'ts + 40',
      `${list(METRIC_NAMES)}[(i % ${METRIC_NAMES.length}) + 1]`,
      '(cityHash64(i, 4) % 100000) / 100.',
      "'ms'",
      "['host']",
      "['bench']",
    ],
    `SELECT number + ${offset} AS i, toUInt64(${startMs}) + intDiv(toUInt64(i) * ${spanMs}, ${plan.metrics}) AS ts
          FROM numbers(${n})`,
  );
}

export interface LoadReport {
  stream: string;
  rows: number;
  seconds: number;
}

/** Loads the three streams in chunks, printing a line per chunk; returns seconds per stream. */
export async function loadHistory(
  client: ClickHouseClient,
  plan: LoadPlan,
  log: (line: string) => void,
): Promise<LoadReport[]> {
  const spanMs = plan.days * 86_400_000;
  const startMs = plan.endSeconds * 1000 - spanMs;
  const streams = [
    {
      stream: 'ticket_sales',
      total: plan.sales,
      insert: (offset: number, n: number) =>
        salesInsert(plan, rowSource(plan, offset, n, plan.sales, startMs, spanMs)),
    },
    {
      stream: 'user_interactions',
      total: plan.interactions,
      insert: (offset: number, n: number) =>
        interactionsInsert(plan, rowSource(plan, offset, n, plan.interactions, startMs, spanMs)),
    },
    {
      stream: 'system_metrics',
      total: plan.metrics,
      insert: (offset: number, n: number) => metricsInsert(plan, offset, n, startMs, spanMs),
    },
  ];
  const reports: LoadReport[] = [];
  for (const { stream, total, insert } of streams) {
    const started = performance.now();
    // numbers(0) is unbounded on 18.16: an empty stream is skipped, never inserted.
    for (let done = 0; done < total; done += plan.chunk) {
      const n = Math.min(plan.chunk, total - done);
      await client.command({ query: insert(done, n) });
      await emptyDedupSets(client, plan.database, stream);
      const s = (performance.now() - started) / 1000;
      log(
        `  ${stream}: ${(done + n).toLocaleString('en')} / ${total.toLocaleString('en')} rows (${s.toFixed(0)} s, ${((done + n) / s).toFixed(0)} rows/s)`,
      );
    }
    reports.push({ stream, rows: total, seconds: (performance.now() - started) / 1000 });
  }
  return reports;
}

async function emptyDedupSets(client: ClickHouseClient, database: string, stream: string): Promise<void> {
  for (const k of SEEN_SETS)
    await client.command({ query: `TRUNCATE TABLE ${database}.${stream}_seen_${k}` });
}

/** Share of orders refunded (as the simulator does) and share of refunds that are anomalies. */
export const REFUND_PERCENT = 3;
const ANOMALY_PER_TWENTY = 1;

/**
 * Refunds of REFUND_PERCENT % of the loaded orders, whole, 1-5 minutes after the sale, written
 * straight into `refund_decisions` as the refund booker (src/refunds/refund-booker.ts) writes
 * them: booked, except one in twenty kept as an `order_not_seen` anomaly. Every query that reads
 * `refunds` or a sales window then adds them at read time, as in production.
 */
export async function loadRefunds(client: ClickHouseClient, plan: LoadPlan): Promise<number> {
  const db = plan.database;
  await client.command({
    query: `INSERT INTO ${db}.refund_decisions
        (id, event_id, category, order_id, user_id, refunded_at, timestamp_ms, ingested_at, quantity,
         amount, currency, channel, reason, outcome, anomaly, detail, decided_at, version)
      SELECT generateUUIDv4(), event_id, category, order_id, user_id, t, toUInt64(t) * 1000, t,
        quantity, amount, currency, channel, 'customer_request',
        if(bad, 'anomaly', 'booked'), if(bad, 'order_not_seen', 'none'),
        if(bad, 'order not seen', ''), t, 1
      FROM (
        SELECT *, event_time + 60 + cityHash64(order_id, 6) % 240 AS t,
          cityHash64(order_id, 7) % 20 < ${ANOMALY_PER_TWENTY} AS bad
        FROM ${db}.ticket_sales
        WHERE cityHash64(order_id, 5) % 100 < ${REFUND_PERCENT}
      )`,
  });
  const result = await client.query({
    query: `SELECT count() AS n FROM ${db}.refund_decisions`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n);
}

/**
 * The last 15 minutes of the busy show at its average rate, ingested now: what makes the feeds'
 * change polls and pricing_signals' 15-minute rate see something, as during a live on-sale.
 */
export async function loadLiveTail(
  client: ClickHouseClient,
  plan: LoadPlan,
  nowSeconds: number,
): Promise<number> {
  const n = Math.max(1, Math.round((plan.sales * plan.busyShare * 900) / (plan.days * 86_400)));
  const startMs = (nowSeconds - 900) * 1000;
  const source = `SELECT number + ${plan.sales} AS i, cityHash64(i, 1) AS h, 0 AS show,
      toUInt64(${startMs}) + intDiv(toUInt64(number) * 900000, ${n}) AS ts
    FROM numbers(${n})`;
  await client.command({ query: salesInsert(plan, source) });
  await emptyDedupSets(client, plan.database, 'ticket_sales');
  return n;
}

/**
 * Shows, ticket categories and one organizer's pricing rules (migration 0014's dimension
 * tables, the columns src/bridge/dimensions.ts writes). Capacities are set from the tickets
 * sold so far, so that categories sit below, near and past their capacity.
 */
export async function loadDimensions(client: ClickHouseClient, plan: LoadPlan): Promise<void> {
  const db = plan.database;
  await client.command({
    query: `INSERT INTO ${db}.dim_shows
        (show_id, organizer_id, name, venue, country, timezone, starts_at, status, version, deleted)
      SELECT concat('show-', toString(number)), concat('org-', toString(number % 20)),
        concat('Show ', toString(number)), 'Arena', 'DE', 'Europe/Berlin',
        toDateTime(${plan.endSeconds + 14 * 86_400} + number * 3600), 'on_sale', 1, 0
      FROM numbers(${plan.shows})`,
  });
  await client.command({
    query: `INSERT INTO ${db}.dim_ticket_categories
        (show_id, category, capacity, price, currency, version, deleted)
      SELECT show_id, category, toUInt32(greatest(100, sold * factor)), toDecimal64(price, 4), 'EUR', 1, 0
      FROM (
        SELECT concat('show-', toString(number)) AS show_id, arrayJoin(${list(CATEGORIES.map((_, i) => i))}) AS c,
          ${list(CATEGORIES)}[c + 1] AS category, ${list(PRICES)}[c + 1] AS price,
          [0.9, 1.02, 1.25, 3.0][c + 1] AS factor
        FROM numbers(${plan.shows})
      ) ANY LEFT JOIN (
        SELECT event_id AS show_id, category, sum(tickets) AS sold
        FROM ${db}.sales_totals GROUP BY event_id, category
      ) USING (show_id, category)`,
  });
  await client.command({
    query: `INSERT INTO ${db}.dim_pricing_rules
        (organizer_id, hot_sell_through, early_sellout_hours, surge_factor, max_multiplier, version, deleted)
      VALUES ('${BUSY_ORGANIZER}', 0.001, 24, 1.0, 1.5, 1, 0)`,
  });
}
