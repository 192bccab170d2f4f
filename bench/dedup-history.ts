/**
 * Loads a day of dedup history straight into a pipeline's sales dedup sets, as if those ids had
 * been ingested in the previous slot: the benchmarks measure with the history present.
 */
import type { ClickHouseClient } from '@clickhouse/client';

const CHUNK = 10_000_000;

/** Inserts `ids` random ids into the previous slot's set; returns that set's name. */
export async function loadDedupHistory(
  p: { clickhouse: ClickHouseClient; database: string },
  ids: number,
): Promise<string> {
  // The slot length the views were created with, and the server's clock (as the horizon job reads them).
  const [row] = await p.clickhouse
    .query({
      query: `SELECT (SELECT any(slot_seconds) FROM ${p.database}.dedup_settings) AS slot, toUInt32(now()) AS now`,
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ slot: number; now: number }>());
  const set = `ticket_sales_seen_${(Math.floor(Number(row?.now) / Number(row?.slot)) + 3) % 4}`;
  // numbers(0) is unbounded on 18.16, hence the loop's bound.
  for (let done = 0; done < ids; done += CHUNK) {
    await p.clickhouse.command({
      query: `INSERT INTO ${p.database}.${set} SELECT generateUUIDv4() FROM numbers(${Math.min(CHUNK, ids - done)})`,
    });
  }
  return set;
}
