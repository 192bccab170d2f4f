/**
 * Asks ClickHouse which Kafka records one of its Kafka tables cannot read: the records are
 * inserted into a Memory copy of the Kafka table (its parser), and the SELECT of every view that
 * reads the table, and of every view that reads those views' rows, runs over them (the ARRAY
 * JOIN of a batch, then conversions such as `toUUID`). A failing batch is
 * bisected down to the records that fail on their own. Used by `npm run kafka -- skip-poison`
 * (src/operations/poison-skip.ts); `drop()` removes the copy.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { clickHouseErrorMessage } from '../clients/clickhouse-errors.js';

export interface PoisonCheckOptions {
  clickhouse: ClickHouseClient;
  database: string;
  /** The Kafka engine table, e.g. `ticket_sales_queue`. */
  queue: string;
}

/** Records per insert; a failing batch costs about 2 log2(BATCH) inserts per bad record. */
const BATCH = 1000;

export async function createPoisonCheck({ clickhouse, database, queue }: PoisonCheckOptions) {
  const scratch = `${queue}_poison_check`;
  await clickhouse.command({ query: `DROP TABLE IF EXISTS ${database}.${scratch}` });
  await clickhouse.command({
    query: `CREATE TABLE ${database}.${scratch} AS ${database}.${queue} ENGINE = Memory`,
  });
  // The SELECT of every view that reads the Kafka table, pointed at the scratch copy.
  const views = await clickhouse
    .query({
      query: `SELECT name, create_table_query FROM system.tables
              WHERE database = '${database}' AND engine = 'MaterializedView'`,
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ name: string; create_table_query: string }>());
  const reads = (name: string) => new RegExp(`\\b${database}\\.${name}\\b`, 'g');
  const selectOf = (query: string) => query.slice(query.indexOf(' AS SELECT ') + 4);
  // The views that read the Kafka table (the ARRAY JOIN of a batch, or the quarantine's copy)...
  const first = views
    .filter((v) => reads(queue).test(selectOf(v.create_table_query)))
    .map((v) => ({
      name: v.name,
      target: / TO \w+\.(\w+)/.exec(v.create_table_query)?.[1],
      select: selectOf(v.create_table_query).replace(reads(queue), `${database}.${scratch}`),
    }));
  // ...and the views that read their rows (the dedup view's conversions, such as toUUID): from
  // the first view on 18.16, from its target table on current ClickHouse. Those rows are written
  // into a Memory copy of the target first (a SELECT over a subquery holding the ARRAY JOIN
  // aborted 18.16's server).
  const steps: { insert?: string; select: string }[] = [];
  const scratches: string[] = [scratch];
  for (const f of first) {
    // What a view reads is in its SELECT (its `TO` names what it writes).
    const readers = views.filter((v) =>
      [f.name, f.target].some((n) => n !== undefined && reads(n).test(selectOf(v.create_table_query))),
    );
    if (f.target === undefined || readers.length === 0) {
      steps.push({ select: f.select });
      continue;
    }
    const rows = `${f.target}_poison_check`;
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${database}.${rows}` });
    await clickhouse.command({
      query: `CREATE TABLE ${database}.${rows} AS ${database}.${f.target} ENGINE = Memory`,
    });
    scratches.push(rows);
    steps.push({
      insert: `INSERT INTO ${database}.${rows} ${f.select}`,
      select: `SELECT * FROM ${database}.${rows}`,
    });
    for (const v of readers) {
      let select = selectOf(v.create_table_query);
      for (const n of [f.name, f.target])
        if (n !== undefined) select = select.replace(reads(n), `${database}.${rows}`);
      steps.push({ select });
    }
  }

  /** The error reading these records gives, or undefined when ClickHouse reads them all. */
  async function failure(records: string[]): Promise<string | undefined> {
    try {
      for (const table of scratches)
        await clickhouse.command({ query: `TRUNCATE TABLE ${database}.${table}` });
      const inserted = await clickhouse.exec({
        query: `INSERT INTO ${database}.${scratch} FORMAT JSONEachRow`,
        values: Readable.from([records.join('\n')]),
      });
      // The answer's stream holds the connection until it is read.
      for await (const chunk of inserted.stream) void chunk;
      for (const { insert, select } of steps) {
        if (insert !== undefined) await clickhouse.command({ query: insert });
        const result = await clickhouse.query({ query: `SELECT count() FROM (${select})`, format: 'JSON' });
        await result.json();
      }
      return undefined;
    } catch (err) {
      return clickHouseErrorMessage(err);
    }
  }

  /** Indexes of the records that fail on their own, with their errors (bisecting failing batches). */
  async function bad(records: string[], base = 0): Promise<{ index: number; error: string }[]> {
    const error = await failure(records);
    if (error === undefined) return [];
    if (records.length === 1) return [{ index: base, error }];
    const half = Math.ceil(records.length / 2);
    return [...(await bad(records.slice(0, half), base)), ...(await bad(records.slice(half), base + half))];
  }

  return {
    async find(records: string[]) {
      const found: { index: number; error: string }[] = [];
      for (let i = 0; i < records.length; i += BATCH)
        found.push(...(await bad(records.slice(i, i + BATCH), i)));
      return found;
    },
    async drop() {
      for (const table of scratches)
        await clickhouse.command({ query: `DROP TABLE IF EXISTS ${database}.${table}` });
    },
  };
}
