/**
 * `npm run query -- [name] [param=value ...]`: lists the analyst queries in queries/, or runs
 * one against ClickHouse and prints the result as a table. DateTime parameters default to the
 * last hour; `limit` to 20.
 *
 * @example npm run query -- live_sales_for_show show_id=show-001
 */
import Table from 'cli-table3';
import { loadConfig } from '../src/config.js';
import { createClickHouse } from '../src/clients/clickhouse.js';
import { clickHouseErrorMessage } from '../src/clients/clickhouse-errors.js';
import { loadNamedQueries, renderNamedQuery } from '../src/sql/named-queries.js';

const config = loadConfig();
const queries = loadNamedQueries(new URL('../queries/', import.meta.url).pathname);
const [name, ...args] = process.argv.slice(2);

if (name === undefined || !queries.has(name)) {
  if (name !== undefined) console.error(`no query named '${name}'\n`);
  for (const q of queries.values()) {
    const params = q.params.map((p) => `${p.name}=<${p.type}>`).join(' ');
    console.log(`${q.name} ${params}\n  ${q.purpose}\n`);
  }
  process.exit(name === undefined ? 0 : 1);
}

const query = queries.get(name)!;
const values: Record<string, unknown> = {
  from_time: new Date(Date.now() - 3_600_000),
  to_time: new Date(Date.now() + 60_000),
  limit: 20,
};
for (const arg of args) {
  const eq = arg.indexOf('=');
  if (eq < 1) {
    console.error(`expected param=value, got '${arg}'`);
    process.exit(1);
  }
  values[arg.slice(0, eq)] = arg.slice(eq + 1);
}

const client = createClickHouse(config);
try {
  const sql = renderNamedQuery(query, config.CLICKHOUSE_DATABASE, values);
  const result = await client.query({ query: sql, format: 'JSONEachRow' });
  const rows = await result.json<Record<string, unknown>>();
  const table = new Table({ head: query.columns, style: { head: [], border: [] } });
  for (const row of rows) table.push(query.columns.map((c) => String(row[c] ?? '')));
  console.log(table.toString());
  console.log(`${rows.length} row(s)`);
} catch (err) {
  console.error(`${name}: ${clickHouseErrorMessage(err)}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
