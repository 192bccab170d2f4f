/**
 * How this ClickHouse server chains materialized views, measured rather than assumed.
 *
 * A view `a_mv TO t` inserts into `t`. A second view that must see those rows selects
 * - FROM `a_mv` on ClickHouse 18.16 (views cascade through the view; inserts into `t` made by
 *   a view do not trigger `t`'s own views), but
 * - FROM `t` on current ClickHouse (views cascade through the target table; a view that
 *   selects FROM another view never fires).
 * Migrations write `{inserted:a_mv:t}` where they mean "rows the view a_mv inserts into t",
 * and the runner renders it as `a_mv` or `t` for the server it talks to.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export type CascadeMode = 'through_view' | 'through_target';

/** Probes the server with throw-away tables in a scratch database. */
export async function detectCascadeMode(
  client: ClickHouseClient,
  scratchDatabase: string,
): Promise<CascadeMode> {
  const db = scratchDatabase;
  const run = (query: string) => client.command({ query });
  await run(`DROP DATABASE IF EXISTS ${db}`);
  await run(`CREATE DATABASE ${db}`);
  try {
    await run(`CREATE TABLE ${db}.src (x UInt8) ENGINE = Null`);
    await run(`CREATE TABLE ${db}.t (x UInt8) ENGINE = MergeTree ORDER BY x`);
    await run(`CREATE TABLE ${db}.via_view (x UInt8) ENGINE = MergeTree ORDER BY x`);
    await run(`CREATE TABLE ${db}.via_target (x UInt8) ENGINE = MergeTree ORDER BY x`);
    await run(`CREATE MATERIALIZED VIEW ${db}.a_mv TO ${db}.t AS SELECT x FROM ${db}.src`);
    await run(`CREATE MATERIALIZED VIEW ${db}.b_mv TO ${db}.via_view AS SELECT x FROM ${db}.a_mv`);
    await run(`CREATE MATERIALIZED VIEW ${db}.c_mv TO ${db}.via_target AS SELECT x FROM ${db}.t`);
    await run(`INSERT INTO ${db}.src VALUES (1)`);
    const result = await client.query({
      query: `SELECT (SELECT count() FROM ${db}.via_view) AS view, (SELECT count() FROM ${db}.via_target) AS target`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ view: string; target: string }>();
    if (Number(row?.target) === 1) return 'through_target';
    if (Number(row?.view) === 1) return 'through_view';
    throw new Error('this ClickHouse server cascades materialized views neither way');
  } finally {
    await run(`DROP DATABASE IF EXISTS ${db}`);
  }
}

/** Renders `{inserted:view:table}` as the table, or for 18.16 as the view that inserts into it. */
export function renderInserted(sql: string, mode: CascadeMode): string {
  return sql.replace(/\{inserted:(\w+):(\w+)\}/g, (_m, view: string, table: string) =>
    mode === 'through_target' ? table : view,
  );
}
