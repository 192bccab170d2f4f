/**
 * The views a `ticket_sales` pass is written to after its raw rows, in the order 18.16 writes
 * them, each with what the cut-pass repair (src/operations/cut-pass-repair.ts) needs to tell
 * whether it holds a pass and to give it one.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, sql, str } from '../sql/literals.js';

/** What every view of the dedup view has: its name, target and SELECT pointed at other rows. */
interface ViewBase {
  view: string;
  target: string;
  /** `INSERT INTO <target> (<columns>) <the view's SELECT over from>`. */
  insertFrom(from: string): string;
}

/** A target with an `id` column: whether it holds a pass is a membership question. */
export interface IdKeyedView extends ViewBase {
  kind: 'id_keyed';
}

/** How to compare an aggregate with the raw table: its key in raw rows and as stored, its orders. */
export interface AggregateShape {
  raw: readonly string[];
  stored: readonly string[];
  orders: string;
}

/** A target that adds passes up: whether it holds a pass shows as orders missing per key. */
export interface AggregateView extends ViewBase {
  kind: 'aggregate';
  shape: AggregateShape;
}

/** A target the repair does not know how to check: reported, never written. */
export interface UnknownView {
  kind: 'unknown';
  view: string;
  target: string;
}

export type SalesView = IdKeyedView | AggregateView | UnknownView;

/** The aggregates over sales (migrations 0006 and 0014); a new one must be added here to be checked. */
export const SALES_AGGREGATES: Record<string, AggregateShape> = {
  sales_per_hour_agg: {
    raw: ['event_id', 'toUInt32(toStartOfHour(event_time))', 'category'],
    stored: ['event_id', 'toUInt32(window_start)', 'category'],
    orders: 'countMerge(orders_state)',
  },
  sales_per_minute_agg: {
    raw: ['event_id', 'toUInt32(toStartOfMinute(event_time))', 'category'],
    stored: ['event_id', 'toUInt32(window_start)', 'category'],
    orders: 'countMerge(orders_state)',
  },
  sales_totals: { raw: ['event_id', 'category'], stored: ['event_id', 'category'], orders: 'sum(orders)' },
};

/**
 * The views that select FROM `ticket_sales_dedup_mv` (how 18.16 chains views: see
 * src/migrate/cascade-mode.ts), in name order, which is the order 18.16 writes them in
 * (Context::getDependencies copies a std::set). The dedup sets' views are left out: a Set
 * keeps a pass only when the whole insert ends, and the replay fills them from the raw table.
 */
export async function readSalesViews(clickhouse: ClickHouseClient, database: string): Promise<SalesView[]> {
  const source = `${database}.ticket_sales_dedup_mv`;
  const views = await rows<{ name: string; create: string }>(
    clickhouse,
    sql`SELECT name, create_table_query AS create FROM system.tables
        WHERE database = ${str(database)} AND engine = 'MaterializedView'
          AND position(create_table_query, ${str(` FROM ${source} `)}) > 0
        ORDER BY name`.text,
  );
  const out: SalesView[] = [];
  for (const { name, create } of views) {
    const target = /\bTO \w+\.(\w+)/.exec(create)?.[1];
    if (target === undefined) throw new Error(`${name}: a materialized view without TO`);
    if (/^ticket_sales_seen_\d+$/.test(target)) continue;
    const columns = await rows<{ name: string }>(
      clickhouse,
      sql`SELECT name FROM system.columns WHERE database = ${str(database)} AND table = ${str(name)}`.text,
    );
    const targetColumns = await rows<{ name: string }>(
      clickhouse,
      sql`SELECT name FROM system.columns WHERE database = ${str(database)} AND table = ${str(target)}`.text,
    );
    // The view's own SELECT, as the server stores it, over other rows in place of the dedup view's.
    const select = create.slice(create.indexOf(' AS SELECT ') + 4);
    const into = sql`INSERT INTO ${ident(database)}.${ident(target)}`.text;
    const list = columns.map((c) => ident(c.name).text).join(', ');
    const insertFrom = (from: string) =>
      `${into} (${list}) ${select.replace(` FROM ${source} `, ` FROM ${from} `)}`;
    const shape = SALES_AGGREGATES[target];
    if (targetColumns.some((c) => c.name === 'id'))
      out.push({ kind: 'id_keyed', view: name, target, insertFrom });
    else if (shape !== undefined) out.push({ kind: 'aggregate', view: name, target, shape, insertFrom });
    else out.push({ kind: 'unknown', view: name, target });
  }
  return out;
}

/** A query's rows as objects: the one way the cut-pass repair's files read ClickHouse. */
export async function rows<T>(clickhouse: ClickHouseClient, query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
}
