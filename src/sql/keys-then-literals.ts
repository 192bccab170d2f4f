/**
 * Reading an aggregated view for the keys a change log names, in two steps: first the keys,
 * then the view with those keys as literals. ClickHouse 18.16 pushes a literal `IN` list into
 * the view's GROUP BY (only their granules are read) but not an `IN (subquery)`, which would
 * merge every window the view holds on every read. The live feeds (src/push/feed-sql.ts) and
 * the InfluxDB mirror (src/bridge/influx-mirror.ts) both read this way, with these settings.
 */
import type { ClickHouseClient } from '../clients/clickhouse.js';

/**
 * Settings of every such read: predicate push-down into the `-Merge` views (without it a
 * filtered read scans the whole table, DESIGN.md), and 64-bit integers as JSON numbers.
 */
export const VIEW_READ_SETTINGS = {
  enable_optimize_predicate_expression: 1,
  output_format_json_quote_64bit_integers: 0,
} as const;

/** Runs one query and returns its rows. */
export type SelectRows = <T>(query: string) => Promise<T[]>;

/** A SelectRows on this client, with VIEW_READ_SETTINGS. */
export function viewReader(clickhouse: ClickHouseClient): SelectRows {
  return async function selectViewRows<T>(query: string): Promise<T[]> {
    const result = await clickhouse.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: VIEW_READ_SETTINGS,
    });
    return result.json<T>();
  };
}

export interface KeysThenLiteralsOptions<K> {
  /** The query for the keys (SELECT DISTINCT over the change log). */
  keys: string;
  /** The view's query for some of those keys, rendered as literals (src/sql/literals.ts). */
  rows: (keys: K[]) => string;
  /** Keys listed by one query of the view (default: all in one). */
  keysPerQuery?: number;
}

/**
 * The view's rows for the keys the log names: one query when it names none, else one more per
 * `keysPerQuery` keys.
 *
 * @example
 * const rows = await keysThenLiterals(viewReader(client), {
 *   keys: `SELECT DISTINCT event_id FROM db.ticket_sales_ids WHERE ingested_at >= toDateTime(${since})`,
 *   rows: (keys) => `SELECT * FROM db.sales_per_minute WHERE event_id IN (${keys.map((k) => str(k.event_id).text).join(', ')})`,
 * });
 */
export async function keysThenLiterals<K, T>(
  select: SelectRows,
  options: KeysThenLiteralsOptions<K>,
): Promise<T[]> {
  const keys = await select<K>(options.keys);
  const per = options.keysPerQuery ?? Math.max(1, keys.length);
  const rows: T[] = [];
  for (let i = 0; i < keys.length; i += per)
    rows.push(...(await select<T>(options.rows(keys.slice(i, i + per)))));
  return rows;
}
