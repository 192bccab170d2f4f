/**
 * What `npm run bench:queries` times: each query as the project issues it (named queries,
 * live feeds' load and poll queries, capacity_status and pricing_signals), and beside it the
 * same question asked of the raw tables.
 *
 * The raw form is the same SQL with every window (and every view built on one) replaced by a
 * GROUP BY over the raw table it summarises, so filters, order and limits stay the same and
 * 18.16's predicate push-down (on in the stack's profile) reaches the raw table's key as it
 * reaches the window's.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { FeedPoller } from '../src/push/feed-poller.js';
import { feedCatalog, type Feed } from '../src/push/feeds.js';
import { renderNamedQuery, type NamedQuery } from '../src/sql/named-queries.js';
import { BUSY_ORGANIZER, BUSY_SHOW, METRIC_NAMES } from './queries-load.js';

export interface QueryCase {
  group: 'named query' | 'feed' | 'view' | 'unique_buyers';
  name: string;
  /** The SQL as the project issues it. */
  sql: string;
  /** The same question of the raw tables; undefined when `sql` reads raw tables only. */
  raw?: string;
  /** The query reads a window (or a view over one): the ≥ 10× goal applies. */
  windows: boolean;
  /** A named query: the p95 ≤ 100 ms goal applies. */
  named: boolean;
}

/** The settings every bench query runs with: those of the feed poller (and the stack's profile). */
export const QUERY_SETTINGS = {
  enable_optimize_predicate_expression: 1,
  output_format_json_quote_64bit_integers: 0,
} as const;

/**
 * A sales window from raw sales, with the booked refunds of each window beside them as the view
 * has them (migration 0016: refunds are read, not stored, in both forms).
 */
function rawSalesWindow(db: string, window: string): string {
  return `SELECT window_start, event_id, category, sum(t) AS tickets, sum(o) AS orders, sum(r) AS revenue,
      sum(u) AS unique_buyers, sum(rf) AS refunds, sum(tr) AS tickets_refunded, sum(rr) AS revenue_refunded,
      toInt64(tickets) - toInt64(tickets_refunded) AS net_tickets, revenue - revenue_refunded AS net_revenue
    FROM (
      SELECT ${window}(event_time) AS window_start, event_id, category, sum(quantity) AS t, count() AS o,
        sum(amount) AS r, uniqExact(user_id) AS u, toUInt64(0) AS rf, toUInt64(0) AS tr, toDecimal128(0, 4) AS rr
      FROM ${db}.ticket_sales GROUP BY window_start, event_id, category
      UNION ALL
      SELECT ${window}(refunded_at) AS window_start, event_id, category, toUInt64(0) AS t, toUInt64(0) AS o,
        toDecimal128(0, 4) AS r, toUInt64(0) AS u, count() AS rf, sum(quantity) AS tr, sum(amount) AS rr
      FROM ${db}.refunds GROUP BY window_start, event_id, category
    )
    GROUP BY window_start, event_id, category`;
}

/** Each window's finished columns, computed from its raw table. */
function rawWindows(db: string): Record<string, string> {
  return {
    sales_per_minute: rawSalesWindow(db, 'toStartOfMinute'),
    sales_per_hour: rawSalesWindow(db, 'toStartOfHour'),
    engagement_per_minute: `SELECT toStartOfMinute(event_time) AS window_start, event_id, action,
        count() AS interactions, uniqExact(user_id) AS unique_users, uniqExact(session_id) AS unique_sessions
      FROM ${db}.user_interactions GROUP BY window_start, event_id, action`,
    metrics_per_minute: `SELECT window_start, name, samples, total AS sum, minimum AS min, maximum AS max,
        total / samples AS avg, q[1] AS p50, q[2] AS p95, q[3] AS p99
      FROM (
        SELECT toStartOfMinute(event_time) AS window_start, name, count() AS samples, sum(value) AS total,
          min(value) AS minimum, max(value) AS maximum, quantilesExact(0.5, 0.95, 0.99)(value) AS q
        FROM ${db}.system_metrics GROUP BY window_start, name
      )`,
    sales_totals: `SELECT event_id, category, toUInt64(sum(quantity)) AS tickets, toUInt64(count()) AS orders
      FROM ${db}.ticket_sales GROUP BY event_id, category`,
  };
}

/** Views defined over windows: their raw form is their own definition with the windows replaced. */
const VIEWS_OVER_WINDOWS = ['capacity_status', 'capacity_thresholds', 'pricing_signals'];

export interface RawRewriter {
  /** `sql` with every window replaced by its raw form; undefined when it reads no window. */
  (sql: string): string | undefined;
}

/** Builds the rewriter; reads the definitions of the views over windows from the server. */
export async function createRawRewriter(client: ClickHouseClient, db: string): Promise<RawRewriter> {
  const raw = rawWindows(db);
  const reference = (name: string) =>
    new RegExp(`(?:\`${db}\`|\\b${db})\\.(?:\`${name}\`|${name})(?![A-Za-z0-9_\`])`, 'g');
  const replaceAll = (sql: string): string => {
    let out = sql;
    for (const [name, select] of Object.entries(raw)) out = out.replace(reference(name), `(${select})`);
    return out;
  };
  // In dependency order: capacity_thresholds and pricing_signals read capacity_status.
  for (const name of VIEWS_OVER_WINDOWS) {
    const result = await client.query({
      query: `SHOW CREATE TABLE ${db}.${name}`,
      format: 'TabSeparatedRaw',
    });
    const create = (await result.text()).trim();
    const select = create.slice(create.search(/\bAS\s+SELECT\b/i) + 2).trim();
    raw[name] = replaceAll(select);
  }
  return function rewriteRaw(sql) {
    const out = replaceAll(sql);
    return out === sql ? undefined : out;
  };
}

/** Named-query parameters: the busy show, the history's last day or hour, the top 10. */
export function namedQueryCases(
  queries: ReadonlyMap<string, NamedQuery>,
  db: string,
  endSeconds: number,
  rewriteRaw: RawRewriter,
): QueryCase[] {
  const cases: QueryCase[] = [];
  const ranges = [
    { label: '1 day', from: endSeconds - 86_400 },
    { label: '1 hour', from: endSeconds - 3_600 },
  ];
  for (const query of queries.values()) {
    const timed = query.params.some((p) => p.type === 'DateTime');
    for (const range of timed ? ranges : [undefined]) {
      const values: Record<string, unknown> = { show_id: BUSY_SHOW, organizer_id: BUSY_ORGANIZER, limit: 10 };
      if (range) {
        values.from_time = new Date(range.from * 1000);
        values.to_time = new Date(endSeconds * 1000);
      }
      const sql = renderNamedQuery(query, db, values);
      const raw = rewriteRaw(sql);
      cases.push({
        group: 'named query',
        name: range ? `${query.name} (${range.label})` : query.name,
        sql,
        raw,
        windows: raw !== undefined,
        named: true,
      });
    }
  }
  return cases;
}

/** Subscription params for a feed: the busy show, its organizer, one metric. */
function feedParams(feed: Feed): Record<string, string | number> {
  const values: Record<string, string> = {
    event_id: BUSY_SHOW,
    show_id: BUSY_SHOW,
    organizer_id: BUSY_ORGANIZER,
    name: METRIC_NAMES[0]!,
  };
  const names = feed.kind === 'query' ? feed.query.params.map((p) => p.name) : Object.keys(feed.params);
  const params: Record<string, string> = {};
  for (const name of names) if (values[name]) params[name] = values[name];
  return params;
}

/** A client that notes the SQL of every query before running it. */
function recordingClient(client: ClickHouseClient, record: (sql: string) => void): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
      return function recordedQuery(params: Parameters<ClickHouseClient['query']>[0]) {
        record(params.query);
        return target.query(params);
      };
    },
  });
}

export interface CapturedFeeds {
  cases: QueryCase[];
  /** Feeds whose load returned more than maxRows rows (a subscriber gets feed_too_large). */
  tooLarge: string[];
}

/**
 * Every feed's load query and its poll queries, captured from real FeedPollers (so the SQL is
 * the poller's own): each feed is loaded, `between` runs (new sales arrive), and each is polled
 * once more. A changes feed whose load is too large is loaded again without the row limit, so
 * that its change poll is captured too.
 */
export async function captureFeeds(options: {
  client: ClickHouseClient;
  database: string;
  queries: ReadonlyMap<string, NamedQuery>;
  maxRows: number;
  rewriteRaw: RawRewriter;
  between: () => Promise<void>;
}): Promise<CapturedFeeds> {
  const { client, database, maxRows, rewriteRaw } = options;
  const seen = new Map<string, { feed: string; purposes: Set<string> }>();
  const order: string[] = [];
  let phase: 'load' | 'poll' | 'off' = 'load';
  const tooLarge: string[] = [];
  const pollers: FeedPoller[] = [];
  const pollerFor = (feed: Feed, rows: number) => {
    const params = feedParams(feed);
    return new FeedPoller(
      {
        clickhouse: recordingClient(client, (sql) => {
          if (phase === 'off' || /^SELECT toUnixTimestamp\(now\(\)\) AS _now$/.test(sql)) return;
          const entry = seen.get(sql) ?? { feed: feed.name, purposes: new Set<string>() };
          if (!seen.has(sql)) order.push(sql);
          entry.purposes.add(phase);
          seen.set(sql, entry);
        }),
        database,
        feed,
        params,
        overlapSeconds: 5,
        resumeHorizonSeconds: 6 * 3600,
        maxRows: rows,
      },
      `${feed.name}?${JSON.stringify(params)}`,
    );
  };
  for (const feed of feedCatalog(options.queries).values()) {
    let failed = false;
    const poller = pollerFor(feed, maxRows);
    poller.join({
      snapshot: () => undefined,
      delta: () => undefined,
      mustRefetch: () => undefined,
      failed: () => {
        failed = true;
      },
    });
    phase = 'load';
    await poller.poll();
    if (!failed) pollers.push(poller);
    else {
      tooLarge.push(feed.name);
      if (feed.kind === 'changes') {
        const unlimited = pollerFor(feed, Number.MAX_SAFE_INTEGER - 1);
        phase = 'off';
        await unlimited.poll();
        pollers.push(unlimited);
      }
    }
  }
  await options.between();
  phase = 'poll';
  for (const poller of pollers) await poller.poll();
  const cases = order.map((sql): QueryCase => {
    const { feed, purposes } = seen.get(sql)!;
    const purpose = [...purposes].join('+');
    const log = /FROM `[^`]+`\.`ticket_sales_ids`/.test(sql);
    const raw = rewriteRaw(sql);
    return {
      group: 'feed',
      name: `${feed} ${log ? 'poll (change log)' : purpose}`,
      sql,
      raw,
      windows: raw !== undefined,
      named: false,
    };
  });
  return { cases, tooLarge };
}

/** capacity_status and pricing_signals for one show, as an analyst reads them. */
export function viewCases(db: string, rewriteRaw: RawRewriter): QueryCase[] {
  return ['capacity_status', 'pricing_signals'].map((name) => {
    const sql = `SELECT * FROM ${db}.${name} WHERE event_id = '${BUSY_SHOW}' ORDER BY category`;
    const raw = rewriteRaw(sql);
    return { group: 'view', name: `${name} (one show)`, sql, raw, windows: raw !== undefined, named: false };
  });
}
