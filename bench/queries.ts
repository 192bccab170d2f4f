/**
 * `npm run bench:queries -- [--scale 1] [--runs 20] [--days 30] [--shows 200]`: the analyst
 * queries, the live feeds' queries and capacity_status / pricing_signals on a month of data,
 * each against the same question asked of the raw tables, in the same run, interleaved.
 *
 * 1. A database with every migration applied (the project's migrator, Kafka tables as Null
 *    tables) gets `--scale` x 10M sales, 100M interactions and 2.6M metrics over `--days` and
 *    `--shows` (a fifth of sales and interactions to the busy show, `show-0`), written straight
 *    into ClickHouse through the views' own chain (bench/queries-load.ts), then the dimensions.
 *    Counts are checked in every window.
 * 2. The cases (bench/queries-cases.ts): every file of queries/ for the busy show and the
 *    history's last day and last hour; every feed's load and poll query, taken from real
 *    FeedPollers around a live tail of sales; capacity_status and pricing_signals for one show;
 *    and the unique_buyers experiment (bench/queries-buyers.ts).
 * 3. `--runs` rounds; each round runs every query and its raw form once, in order. Printed per
 *    query: p50 / p95 of the view and of the raw form (client wall time, result read), their
 *    ratio (p50), and the goals: views >= 10x faster than raw where a window is read, named
 *    queries p95 <= 100 ms. Goals are reported, not asserted.
 *
 * Needs the local stack (`npm run stack -- up`); uses a database named bench_queries_*, dropped
 * at the end unless `--keep`.
 */
import Table from 'cli-table3';
import { Command } from 'commander';
import { createClickHouse } from '../src/clients/clickhouse.js';
import { loadConfig } from '../src/config.js';
import { createClickHouseMigrator, FIXTURE_FED } from '../src/migrate/clickhouse-migrator.js';
import { throwOnFailure } from '../src/migrate/results.js';
import { loadNamedQueries } from '../src/sql/named-queries.js';
import { describeRun, fmtMs, percentile } from './machine.js';
import { buyerAccuracy, buyerCases, createBuyerAlternatives } from './queries-buyers.js';
import {
  QUERY_SETTINGS,
  captureFeeds,
  createRawRewriter,
  namedQueryCases,
  viewCases,
  type QueryCase,
} from './queries-cases.js';
import {
  BUSY_SHOW,
  loadDimensions,
  loadHistory,
  loadLiveTail,
  loadRefunds,
  REFUND_PERCENT,
  type LoadPlan,
} from './queries-load.js';

const opts = new Command('bench:queries')
  .option('--scale <x>', 'fraction of 10M sales, 100M interactions, 2.6M metrics', Number, 1)
  .option('--runs <n>', 'rounds of every query', Number, 20)
  .option('--days <n>', 'days of history', Number, 30)
  .option('--shows <n>', 'shows', Number, 200)
  .option('--chunk <rows>', 'rows per INSERT', Number, 2_000_000)
  .option('--keep', 'keep the database afterwards')
  .option('--reuse <database>', 'time an existing bench_queries_* database kept with --keep (no load)')
  .parse()
  .opts<{
    scale: number;
    runs: number;
    days: number;
    shows: number;
    chunk: number;
    keep?: boolean;
    reuse?: string;
  }>();

const log = (line: string) => console.log(line);
const config = loadConfig();
// Loading a chunk through every view can take minutes on a busy machine.
const client = createClickHouse(config, { request_timeout: 3_600_000 });
const QUERIES = new URL('../queries/', import.meta.url).pathname;
const MIGRATIONS = new URL('../migrations/clickhouse/', import.meta.url).pathname;

if (opts.reuse !== undefined && !/^bench_queries_\w+$/.test(opts.reuse))
  throw new Error('--reuse takes a bench_queries_* database');
const database = opts.reuse ?? `bench_queries_${Date.now().toString(36)}`;

log(
  describeRun(
    `npm run bench:queries -- --scale ${opts.scale} --runs ${opts.runs} --days ${opts.days} --shows ${opts.shows}${opts.reuse ? ` --reuse ${opts.reuse}` : ''}`,
  ),
);

async function rows<T>(query: string): Promise<T[]> {
  const result = await client.query({ query, format: 'JSONEachRow', clickhouse_settings: QUERY_SETTINGS });
  return result.json<T>();
}

async function one(query: string): Promise<number> {
  const [row] = await rows<{ n: number | string }>(query);
  return Number(row?.n);
}

function planFor(endSeconds: number): LoadPlan {
  return {
    database,
    sales: Math.round(10_000_000 * opts.scale),
    interactions: Math.round(100_000_000 * opts.scale),
    metrics: Math.round(2_592_000 * opts.scale),
    shows: opts.shows,
    days: opts.days,
    chunk: opts.chunk,
    busyShare: 0.2,
    users: Math.max(1000, Math.round(1_000_000 * opts.scale)),
    endSeconds,
  };
}

/** Every window holds every loaded row (checked on the aggregate tables, not by merging the views). */
async function verifyCounts(plan: LoadPlan): Promise<void> {
  const db = plan.database;
  const checks: [string, number, string][] = [
    ['ticket_sales', plan.sales, `SELECT count() AS n FROM ${db}.ticket_sales`],
    ['ticket_sales_ids', plan.sales, `SELECT count() AS n FROM ${db}.ticket_sales_ids`],
    ['sales_by_user', plan.sales, `SELECT count() AS n FROM ${db}.sales_by_user`],
    ['sales_per_minute', plan.sales, `SELECT countMerge(orders_state) AS n FROM ${db}.sales_per_minute_agg`],
    ['sales_per_hour', plan.sales, `SELECT countMerge(orders_state) AS n FROM ${db}.sales_per_hour_agg`],
    ['sales_totals', plan.sales, `SELECT sum(orders) AS n FROM ${db}.sales_totals`],
    ['user_interactions', plan.interactions, `SELECT count() AS n FROM ${db}.user_interactions`],
    [
      'engagement_per_minute',
      plan.interactions,
      `SELECT countMerge(interactions_state) AS n FROM ${db}.engagement_per_minute_agg`,
    ],
    ['system_metrics', plan.metrics, `SELECT count() AS n FROM ${db}.system_metrics`],
    [
      'metrics_per_minute',
      plan.metrics,
      `SELECT countMerge(samples_state) AS n FROM ${db}.metrics_per_minute_agg`,
    ],
    ['capacity_status', plan.shows * 4, `SELECT count() AS n FROM ${db}.capacity_status`],
    [
      'pricing_signals (busy show)',
      4,
      `SELECT count() AS n FROM ${db}.pricing_signals WHERE event_id = '${BUSY_SHOW}'`,
    ],
  ];
  const wrong: string[] = [];
  const line: string[] = [];
  for (const [name, expected, query] of checks) {
    const n = await one(query);
    line.push(`${name} ${n.toLocaleString('en')}`);
    if (n !== expected) wrong.push(`${name}: ${n} rows, expected ${expected}`);
  }
  log(`counts: ${line.join(', ')}`);
  if (wrong.length > 0) throw new Error(`the views do not hold the loaded data: ${wrong.join('; ')}`);
}

/** Waits (up to 20 min) until the load's merges are done, so rounds time queries, not merges. */
async function settleMerges(): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < 20 * 60_000) {
    if ((await one(`SELECT count() AS n FROM system.merges WHERE database = '${database}'`)) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const parts = await rows<{ table: string; parts: number; n: number }>(
    `SELECT table, count() AS parts, sum(rows) AS n FROM system.parts
     WHERE database = '${database}' AND active AND rows > 0 GROUP BY table ORDER BY n DESC LIMIT 8`,
  );
  log(
    `merges settled (${((performance.now() - started) / 1000).toFixed(0)} s); active parts: ${parts
      .map((p) => `${p.table} ${p.parts} (${Number(p.n).toLocaleString('en')} rows)`)
      .join(', ')}`,
  );
}

async function prepare(): Promise<{ plan: LoadPlan; loadSeconds?: number }> {
  if (opts.reuse) {
    const [saved] = await rows<{ plan: string }>(`SELECT plan FROM ${database}.bench_plan`);
    return { plan: JSON.parse(saved!.plan) as LoadPlan };
  }
  const plan = planFor(Math.floor(Date.now() / 60_000) * 60);
  const started = performance.now();
  const results = throwOnFailure(
    await createClickHouseMigrator({ client, dir: MIGRATIONS, database, ...FIXTURE_FED }).migrate(),
  );
  log(`\n${database}: ${results.length} migrations applied`);
  const loaded = await loadHistory(client, plan, log);
  await loadDimensions(client, plan);
  const refunds = await loadRefunds(client, plan);
  log(
    `refunds: ${refunds.toLocaleString('en')} decisions (${REFUND_PERCENT} % of orders, 1 in 20 an anomaly)`,
  );
  const loadSeconds = (performance.now() - started) / 1000;
  log(
    `load: ${loaded.map((l) => `${l.stream} ${l.rows.toLocaleString('en')} rows in ${l.seconds.toFixed(0)} s`).join(', ')}; ${loadSeconds.toFixed(0)} s with migrations and dimensions`,
  );
  await verifyCounts(plan);
  await client.command({ query: `CREATE TABLE ${database}.bench_plan (plan String) ENGINE = TinyLog` });
  await client.insert({
    table: `${database}.bench_plan`,
    values: [{ plan: JSON.stringify(plan) }],
    format: 'JSONEachRow',
  });
  await settleMerges();
  return { plan, loadSeconds };
}

interface Timed {
  ms: number[];
  rows: number;
  text: string;
}

/** Runs a query and reads its whole result; wall time in ms. */
async function timeQuery(sql: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const result = await client.query({
    query: sql,
    format: 'JSONEachRow',
    clickhouse_settings: QUERY_SETTINGS,
  });
  const text = await result.text();
  return { ms: performance.now() - started, text };
}

/** Rows without the poller's clock column, sorted: what view and raw must agree on. */
function canonical(text: string): string {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const row = JSON.parse(line) as Record<string, unknown>;
      delete row._now;
      return JSON.stringify(row);
    })
    .sort()
    .join('\n');
}

/**
 * The server's round trip: no query can answer faster. raw p50 / this is the most any view could
 * gain over a raw form (the `raw/floor` column), so a ≥ 10× goal is out of reach where it is < 10.
 */
const FLOOR_SQL = 'SELECT 1 AS one';

async function runRounds(cases: QueryCase[]): Promise<Map<string, Timed>> {
  const order = [FLOOR_SQL, ...new Set(cases.flatMap((c) => (c.raw ? [c.sql, c.raw] : [c.sql])))];
  const timed = new Map<string, Timed>(order.map((sql) => [sql, { ms: [], rows: 0, text: '' }]));
  // One untimed round: warms caches and keeps each result for the view/raw comparison.
  for (const sql of order) {
    const { text } = await timeQuery(sql);
    const t = timed.get(sql)!;
    t.text = text;
    t.rows = text.split('\n').filter(Boolean).length;
  }
  for (let round = 1; round <= opts.runs; round++) {
    const started = performance.now();
    for (const sql of order) timed.get(sql)!.ms.push((await timeQuery(sql)).ms);
    log(`  round ${round}/${opts.runs}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return timed;
}

function printTable(title: string, cases: QueryCase[], timed: Map<string, Timed>): void {
  const table = new Table({
    head: [
      'query',
      'rows',
      'view p50',
      'view p95',
      'raw p50',
      'raw p95',
      'raw/view',
      'raw/floor',
      '≥10×',
      'p95≤100ms',
      'same',
    ],
    style: { head: [], border: [] },
  });
  const floor = percentile(timed.get(FLOOR_SQL)!.ms, 50);
  for (const c of cases) {
    const view = timed.get(c.sql)!;
    const raw = c.raw ? timed.get(c.raw) : undefined;
    const v50 = percentile(view.ms, 50);
    const r50 = raw ? percentile(raw.ms, 50) : NaN;
    const ratio = r50 / v50;
    table.push([
      c.name,
      String(view.rows),
      fmtMs(v50),
      fmtMs(percentile(view.ms, 95)),
      raw ? fmtMs(r50) : '-',
      raw ? fmtMs(percentile(raw.ms, 95)) : '-',
      raw ? `${ratio.toFixed(1)}×` : '-',
      raw ? `${(r50 / floor).toFixed(1)}×` : '-',
      c.windows ? (ratio >= 10 ? 'pass' : 'FAIL') : '-',
      c.named ? (percentile(view.ms, 95) <= 100 ? 'pass' : 'FAIL') : '-',
      !raw
        ? '-'
        : view.rows > config.LIVE_MAX_FEED_ROWS
          ? 'limit'
          : canonical(view.text) === canonical(raw.text)
            ? 'yes'
            : 'NO',
    ]);
  }
  log(`\n${title}`);
  log(table.toString());
}

const { plan, loadSeconds } = await prepare();
try {
  const end = plan.endSeconds;
  const queries = loadNamedQueries(QUERIES);
  const rewriteRaw = await createRawRewriter(client, database);
  // Whole UTC days, which the per-show-day buyers table can answer exactly.
  const lastDay = Math.floor(end / 86_400) * 86_400;
  const ranges = [
    { label: '1 day', from: lastDay - 86_400, to: lastDay },
    { label: `${plan.days - 1} days`, from: lastDay - (plan.days - 1) * 86_400, to: lastDay },
  ];
  // The change polls read the change log from 5 s before the load (the poller's overlap): keep
  // the history out of it, as a service subscribed long after the backlog would.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  let tail = 0;
  const feeds = await captureFeeds({
    client,
    database,
    queries,
    maxRows: config.LIVE_MAX_FEED_ROWS,
    rewriteRaw,
    between: async () => {
      tail = await loadLiveTail(client, plan, await one('SELECT toUInt32(now()) AS n'));
    },
  });
  log(
    `\nlive tail: ${tail} sales of ${BUSY_SHOW} over the last 15 minutes, between the feeds' loads and polls` +
      (feeds.tooLarge.length
        ? `; loads over LIVE_MAX_FEED_ROWS (${config.LIVE_MAX_FEED_ROWS}, a subscriber gets feed_too_large): ${feeds.tooLarge.join(', ')}`
        : ''),
  );
  await createBuyerAlternatives(client, database);
  const groups: [string, QueryCase[]][] = [
    [
      'named queries (queries/*.sql): busy show, history’s last day / hour',
      namedQueryCases(queries, database, end, rewriteRaw),
    ],
    ['live feeds (src/push/feeds.ts), SQL captured from FeedPoller', feeds.cases],
    ['views for one show', viewCases(database, rewriteRaw)],
    [`unique_buyers: ${BUSY_SHOW}, raw = ticket_sales`, buyerCases(database, ranges)],
  ];
  const all = groups.flatMap(([, cases]) => cases);
  log(`\n${all.length} queries, ${opts.runs} rounds`);
  const timed = await runRounds(all);
  if (loadSeconds !== undefined) log(`\nload time: ${loadSeconds.toFixed(0)} s`);
  for (const [title, cases] of groups) printTable(title, cases, timed);
  for (const a of await buyerAccuracy(client, database, ranges)) {
    log(
      `${a.label}: ${a.minutes} minute rows; uniq differs from exact in ${a.uniqWrong} (max error ${a.uniqMaxError}), hash64 in ${a.hashWrong}; show's distinct buyers exact ${a.exact}, uniq ${a.uniq} (${(((a.uniq - a.exact) / a.exact) * 100).toFixed(2)} %), whole-day table ${a.days}`,
    );
  }
  const windows = all.filter((c) => c.windows);
  const named = all.filter((c) => c.named);
  const fast = windows.filter(
    (c) => percentile(timed.get(c.raw!)!.ms, 50) / percentile(timed.get(c.sql)!.ms, 50) >= 10,
  );
  const quick = named.filter((c) => percentile(timed.get(c.sql)!.ms, 95) <= 100);
  const floor = percentile(timed.get(FLOOR_SQL)!.ms, 50);
  const outOfReach = windows.filter((c) => percentile(timed.get(c.raw!)!.ms, 50) < 10 * floor);
  log(`\nfloor: ${FLOOR_SQL} p50 ${fmtMs(floor)}, the round trip every query pays`);
  log(
    `goals: views ≥ 10× raw (p50) where a window is read: ${fast.length} of ${windows.length} pass; ` +
      `out of reach for ${outOfReach.length} (raw p50 < 10 × floor: ${outOfReach.map((c) => c.name).join(', ') || 'none'})`,
  );
  log(`       named queries p95 ≤ 100 ms: ${quick.length} of ${named.length} pass`);
} finally {
  if (!opts.keep) {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    log(`dropped ${database}`);
  } else log(`kept ${database}`);
  await client.close();
}
