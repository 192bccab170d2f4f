/**
 * The ring of dedup sets (migrations/clickhouse/0011_constant_cost_dedup.sql): the streams, the
 * sets per stream, and the slot length, read from the dedup views themselves. This is the one
 * place the horizon job learns the length, on one server and on a cluster alike.
 *
 * Migration 0011 renders the length into each `<stream>_seen_<k>_mv` as
 * `intDiv(toUInt32(now()), <seconds>) % 4 = <k>`: those views decide which set an id goes to, so
 * their text is the length that matters. The `dedup_settings` row that 0011 also writes is not
 * used here: on a cluster it is in `<database>_shard` of the migrating server only (an INSERT
 * runs on one server), and after a first run of 0011 that failed before its last statement and
 * was run again with another DEDUP_SLOT_SECONDS it would hold the new length while the views,
 * created `IF NOT EXISTS`, kept the old one.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { str } from '../sql/literals.js';

/** Sets per stream; slot n writes set n % 4. */
export const DEDUP_SETS = 4;

/** The deduplicated streams, each with Set tables `<stream>_seen_0..3`. */
export const DEDUP_STREAMS = [
  'ticket_sales',
  'ticket_refunds',
  'user_interactions',
  'system_metrics',
] as const;

/** The views that fill the sets: `<stream>_seen_<k>_mv`. */
export function slotViews(): string[] {
  return DEDUP_STREAMS.flatMap((stream) =>
    Array.from({ length: DEDUP_SETS }, (_, k) => `${stream}_seen_${k}_mv`),
  );
}

/**
 * The slot length in a view's CREATE statement as the server reports it
 * (`system.tables.create_table_query`); undefined when the text has none.
 *
 * @example slotSecondsOfView('... WHERE ((intDiv(toUInt32(now()), 30000) % 4) = 1)') // 30000
 */
export function slotSecondsOfView(createQuery: string): number | undefined {
  const m = /intDiv\(\s*toUInt32\(\s*now\(\s*\)\s*\)\s*,\s*(\d+)\s*\)/.exec(createQuery);
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads the slot length from every dedup view in `database` (where the sets live: the
 * analysts' database on one server, `<database>_shard` on a cluster) on the server the client
 * talks to. Throws when a view is missing or the views disagree: emptying a set on a wrong
 * length could empty the one being filled.
 */
export async function readSlotSeconds(clickhouse: ClickHouseClient, database: string): Promise<number> {
  const views = slotViews();
  const result = await clickhouse.query({
    query: `SELECT name, create_table_query FROM system.tables
            WHERE database = ${str(database).text} AND name IN (${views.map((v) => str(v).text).join(', ')})`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ name: string; create_table_query: string }>();
  const lengths = new Map(rows.map((r) => [r.name, slotSecondsOfView(r.create_table_query)]));
  const missing = views.filter((v) => lengths.get(v) === undefined);
  if (missing.length > 0)
    throw new Error(
      `no dedup slot length: ${missing.length} of ${views.length} views in ${database} missing or unreadable ` +
        `(${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}); run the migrations`,
    );
  const distinct = [...new Set(lengths.values())];
  if (distinct.length !== 1)
    throw new Error(`the dedup views in ${database} disagree on the slot length: ${distinct.join(', ')} s`);
  return distinct[0]!;
}
