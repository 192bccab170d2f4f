/**
 * The unique_buyers experiment of `npm run bench:queries`: what the exact distinct-buyer column
 * (uniqExact states) costs the per-minute window, and what the alternatives cost.
 *
 * Beside the window as migrated, the busy show's sales are summarised again into scratch tables
 * of the bench database (never a migration): the window without buyers, with `uniq` states
 * (approximate), with uniqExact over a 64-bit hash of user_id, and a per-show buyers table (one
 * row per show, day and buyer). Each is filled by one INSERT ... SELECT, so each has one part
 * per month; `alt_exact`, the window's own layout filled the same way, is the like-for-like
 * reference. Only the busy show is copied: every query here reads one show's key range.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { QueryCase } from './queries-cases.js';
import { BUSY_SHOW } from './queries-load.js';

const STATES = {
  alt_exact: {
    type: 'AggregateFunction(uniqExact, String)',
    state: 'uniqExactState(user_id)',
    merge: 'uniqExactMerge',
  },
  alt_uniq: { type: 'AggregateFunction(uniq, String)', state: 'uniqState(user_id)', merge: 'uniqMerge' },
  alt_hash64: {
    type: 'AggregateFunction(uniqExact, UInt64)',
    state: 'uniqExactState(cityHash64(user_id))',
    merge: 'uniqExactMerge',
  },
} as const;

/** Creates (again) and fills the scratch tables for the busy show, tail included. */
export async function createBuyerAlternatives(client: ClickHouseClient, db: string): Promise<void> {
  const run = (query: string) => client.command({ query });
  const show = `event_id = '${BUSY_SHOW}'`;
  for (const table of [...Object.keys(STATES), 'alt_nobuyers', 'alt_show_day_buyers'])
    await run(`DROP TABLE IF EXISTS ${db}.${table}`);
  for (const [table, { type, state }] of Object.entries(STATES)) {
    await run(`CREATE TABLE ${db}.${table} (
        window_start DateTime, event_id String, category String,
        tickets_state AggregateFunction(sum, UInt16), orders_state AggregateFunction(count),
        revenue_state AggregateFunction(sum, Decimal(18, 4)), buyers_state ${type}
      ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(window_start) ORDER BY (event_id, window_start, category)`);
    await run(`INSERT INTO ${db}.${table}
      SELECT toStartOfMinute(event_time) AS window_start, event_id, category, sumState(quantity),
        countState(), sumState(amount), ${state}
      FROM ${db}.ticket_sales WHERE ${show} GROUP BY window_start, event_id, category`);
  }
  await run(`CREATE TABLE ${db}.alt_nobuyers (
      window_start DateTime, event_id String, category String,
      tickets_state AggregateFunction(sum, UInt16), orders_state AggregateFunction(count),
      revenue_state AggregateFunction(sum, Decimal(18, 4))
    ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(window_start) ORDER BY (event_id, window_start, category)`);
  await run(`INSERT INTO ${db}.alt_nobuyers
    SELECT toStartOfMinute(event_time) AS window_start, event_id, category, sumState(quantity), countState(), sumState(amount)
    FROM ${db}.ticket_sales WHERE ${show} GROUP BY window_start, event_id, category`);
  await run(`CREATE TABLE ${db}.alt_show_day_buyers (event_id String, day Date, user_id String)
    ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (event_id, day, user_id)`);
  await run(`INSERT INTO ${db}.alt_show_day_buyers
    SELECT DISTINCT event_id, toDate(event_time), user_id FROM ${db}.ticket_sales WHERE ${show}`);
}

/** The busy show's minutes in a range, each way; and its distinct buyers in that range, each way. */
export function buyerCases(db: string, ranges: { label: string; from: number; to: number }[]): QueryCase[] {
  const cases: QueryCase[] = [];
  const show = `event_id = '${BUSY_SHOW}'`;
  for (const { label, from, to } of ranges) {
    const window = `window_start >= toDateTime(${from}) AND window_start < toDateTime(${to})`;
    const eventTime = `event_time >= toDateTime(${from}) AND event_time < toDateTime(${to})`;
    const rawMinutes = (buyers: boolean) => `SELECT toStartOfMinute(event_time) AS window_start, category,
        sum(quantity) AS tickets, count() AS orders, sum(amount) AS revenue${buyers ? ', uniqExact(user_id) AS unique_buyers' : ''}
      FROM ${db}.ticket_sales WHERE ${show} AND ${eventTime}
      GROUP BY window_start, category ORDER BY window_start, category`;
    const fromAgg = (
      table: string,
      merge?: string,
    ) => `SELECT window_start, category, sumMerge(tickets_state) AS tickets,
        countMerge(orders_state) AS orders, sumMerge(revenue_state) AS revenue${merge ? `, ${merge}(buyers_state) AS unique_buyers` : ''}
      FROM ${db}.${table} WHERE ${show} AND ${window}
      GROUP BY window_start, category ORDER BY window_start, category`;
    const minute = (name: string, sql: string, buyers: boolean): QueryCase => ({
      group: 'unique_buyers',
      name: `per minute, ${label}: ${name}`,
      sql,
      raw: rawMinutes(buyers),
      windows: false,
      named: false,
    });
    cases.push(
      minute(
        'sales_per_minute (uniqExact)',
        `SELECT window_start, category, tickets, orders, revenue, unique_buyers FROM ${db}.sales_per_minute
         WHERE ${show} AND ${window} ORDER BY window_start, category`,
        true,
      ),
      minute(
        'sales_per_minute, column not selected',
        `SELECT window_start, category, tickets, orders, revenue FROM ${db}.sales_per_minute
         WHERE ${show} AND ${window} ORDER BY window_start, category`,
        false,
      ),
      minute('sales_per_minute_agg, no buyers', fromAgg('sales_per_minute_agg'), false),
      minute('alt_exact (uniqExact, 1 part/month)', fromAgg('alt_exact', 'uniqExactMerge'), true),
      minute('alt_nobuyers (no column)', fromAgg('alt_nobuyers'), false),
      minute('alt_uniq (uniq, approximate)', fromAgg('alt_uniq', 'uniqMerge'), true),
      minute('alt_hash64 (uniqExact of cityHash64)', fromAgg('alt_hash64', 'uniqExactMerge'), true),
    );
    const rawDistinct = `SELECT uniqExact(user_id) AS buyers FROM ${db}.ticket_sales WHERE ${show} AND ${eventTime}`;
    const distinct = (name: string, sql: string): QueryCase => ({
      group: 'unique_buyers',
      name: `show's distinct buyers, ${label}: ${name}`,
      sql,
      raw: rawDistinct,
      windows: false,
      named: false,
    });
    const day = `day >= toDate(toDateTime(${from})) AND day < toDate(toDateTime(${to}))`;
    cases.push(
      distinct(
        'uniqExactMerge of the minute states',
        `SELECT uniqExactMerge(buyers_state) AS buyers FROM ${db}.sales_per_minute_agg WHERE ${show} AND ${window}`,
      ),
      distinct(
        'uniqMerge of alt_uniq (approximate)',
        `SELECT uniqMerge(buyers_state) AS buyers FROM ${db}.alt_uniq WHERE ${show} AND ${window}`,
      ),
      distinct(
        'alt_show_day_buyers',
        `SELECT uniqExact(user_id) AS buyers FROM ${db}.alt_show_day_buyers WHERE ${show} AND ${day}`,
      ),
    );
  }
  return cases;
}

export interface BuyerAccuracy {
  label: string;
  minutes: number;
  /** Minutes whose approximate count differs from the exact one. */
  uniqWrong: number;
  uniqMaxError: number;
  hashWrong: number;
  /** The show's distinct buyers in the range: exact, uniq, whole-day table. */
  exact: number;
  uniq: number;
  days: number;
}

/** How far the alternatives' counts are from the exact ones. */
export async function buyerAccuracy(
  client: ClickHouseClient,
  db: string,
  ranges: { label: string; from: number; to: number }[],
): Promise<BuyerAccuracy[]> {
  const show = `event_id = '${BUSY_SHOW}'`;
  const out: BuyerAccuracy[] = [];
  for (const { label, from, to } of ranges) {
    const window = `window_start >= toDateTime(${from}) AND window_start < toDateTime(${to})`;
    const per = (table: string, merge: string, column: string) =>
      `SELECT window_start, category, ${merge}(buyers_state) AS ${column} FROM ${db}.${table} WHERE ${show} AND ${window} GROUP BY window_start, category`;
    // 18.16 joins two tables per SELECT: the third joins one level up.
    const result = await client.query({
      query: `SELECT count() AS minutes, sum(eb != ub) AS uniq_wrong, max(abs(toInt64(eb) - toInt64(ub))) AS uniq_max,
          sum(eb != hb) AS hash_wrong,
          (SELECT uniqExactMerge(buyers_state) FROM ${db}.alt_exact WHERE ${show} AND ${window}) AS exact,
          (SELECT uniqMerge(buyers_state) FROM ${db}.alt_uniq WHERE ${show} AND ${window}) AS uniq,
          (SELECT uniqExact(user_id) FROM ${db}.alt_show_day_buyers WHERE ${show}
             AND day >= toDate(toDateTime(${from})) AND day < toDate(toDateTime(${to}))) AS days
        FROM (
          SELECT window_start, category, eb, ub FROM (${per('alt_exact', 'uniqExactMerge', 'eb')})
          ALL INNER JOIN (${per('alt_uniq', 'uniqMerge', 'ub')}) USING (window_start, category)
        ) ALL INNER JOIN (${per('alt_hash64', 'uniqExactMerge', 'hb')}) USING (window_start, category)`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<Record<string, string | number>>();
    out.push({
      label,
      minutes: Number(row?.minutes),
      uniqWrong: Number(row?.uniq_wrong),
      uniqMaxError: Number(row?.uniq_max),
      hashWrong: Number(row?.hash_wrong),
      exact: Number(row?.exact),
      uniq: Number(row?.uniq),
      days: Number(row?.days),
    });
  }
  return out;
}
