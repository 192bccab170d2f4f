// The cut-pass repair (src/operations/cut-pass-repair.ts) on the real server. A pass cut by a
// kill between two of its writes is made on purpose, without a kill: on 18.16 the views select
// FROM the dedup view, so an insert straight into `ticket_sales` fires none of them, and each
// view's own SELECT over the pass's rows gives it the pass. Four passes, each cut before a
// different view, sharing keys (show, minute, hour, category) with each other and with sales
// counted whole, plus one pass that reached every view. The repair must make every view equal
// to what the raw table says, and a second run must change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createClickHouse } from '../../src/clients/clickhouse.js';
import { COLUMNS } from '../../src/events/registry.js';
import { batchText } from '../../src/events/topic-messages.js';
import { isAccepted, validateEvent } from '../../src/events/validate-event.js';
import { createClickHouseMigrator, FIXTURE_FED } from '../../src/migrate/clickhouse-migrator.js';
import { throwOnFailure } from '../../src/migrate/results.js';
import { createCutPassRepair, type CutPassReport } from '../../src/operations/cut-pass-repair.js';
import { readSalesViews } from '../../src/operations/cut-pass-views.js';
import { ticketSale } from '../fixtures/events.js';
import { config, uniqueName } from './helpers.js';

const SHOW = 'show-cut';
/** The views of the dedup view in the order 18.16 writes them (sets left out). */
const ORDER = [
  'sales_by_order_mv',
  'sales_by_user_mv',
  'sales_per_hour_mv',
  'sales_per_minute_mv',
  'sales_totals_mv',
  'ticket_sales_ids_mv',
];

describe('repairing passes an unclean stop cut between their writes', () => {
  const client = createClickHouse(config);
  const database = uniqueName('tp_cutpass');
  const now = Math.floor(Date.now() / 1000);
  const minute = now - (now % 60) - 600; // ten minutes ago, whole
  const query = async <T>(q: string) => (await client.query({ query: q, format: 'JSONEachRow' })).json<T>();
  /** ingested_at -> how many views (in ORDER) the pass reached. */
  const passes = [
    { at: now - 300, size: 3, reached: 1, eventTime: minute + 5 }, // cut before sales_by_user
    { at: now - 240, size: 5, reached: 3, eventTime: minute + 65 }, // cut before sales_per_minute
    { at: now - 180, size: 7, reached: 5, eventTime: minute + 70 }, // cut before ticket_sales_ids
    { at: now - 120, size: 11, reached: 0, eventTime: minute + 10 }, // cut before sales_by_order
    { at: now - 60, size: 4, reached: ORDER.length, eventTime: minute + 15 }, // reached every view
  ];

  beforeAll(async () => {
    throwOnFailure(
      await createClickHouseMigrator({
        client,
        dir: new URL('../../migrations/clickhouse/', import.meta.url).pathname,
        database,
        ...FIXTURE_FED,
      }).migrate(),
      'migrate:',
    );
    // Sales counted whole, through the chain, on the same keys as the cut passes.
    await sell([minute, minute + 10, minute + 70, minute + 80]);

    const views = await readSalesViews(client, database);
    expect(views.map((v) => v.view)).toEqual(ORDER);
    for (const [n, pass] of passes.entries()) {
      const scratch = `${database}.pass_${n}`;
      await client.command({ query: `CREATE TABLE ${scratch} AS ${database}.ticket_sales ENGINE = Memory` });
      await client.insert({
        table: scratch,
        format: 'JSONEachRow',
        values: Array.from({ length: pass.size }, (_, i) => ({
          id: randomUUID(),
          version: 1,
          event_time: String(pass.eventTime + i),
          timestamp_ms: (pass.eventTime + i) * 1000,
          received_at: String(pass.at - 1),
          ingested_at: String(pass.at),
          event_id: SHOW,
          order_id: `order-${n}-${i}`,
          user_id: `user-${i % 3}`,
          category: i % 2 === 0 ? 'GA' : 'VIP',
          quantity: 1 + (i % 4),
          amount: 10.25 + i,
          currency: 'EUR',
          channel: 'web',
          country: 'DE',
          city: 'Berlin',
          _topic: 'events.ticket_sale',
          _partition: -1,
          _offset: -1,
        })),
      });
      await client.command({ query: `INSERT INTO ${database}.ticket_sales SELECT * FROM ${scratch}` });
      for (const v of views.slice(0, pass.reached)) {
        if (v.kind === 'unknown') throw new Error(`${v.view}: unknown`);
        await client.command({ query: v.insertFrom(scratch) });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  });

  /** Sales at these times (epoch seconds) as the API puts them on the topic, into the (Null) queue table. */
  async function sell(times: number[]) {
    const sales = times.map((t) =>
      ticketSale({ timestamp: new Date(t * 1000).toISOString() }, { event_id: SHOW, quantity: 1 }),
    );
    const accepted = sales.map((e) => validateEvent(e, Date.now())).filter(isAccepted);
    expect(accepted).toHaveLength(times.length);
    await client.insert({
      table: `${database}.ticket_sales_queue`,
      values: [JSON.parse(batchText(COLUMNS.ticket_sale, accepted))],
      format: 'JSONEachRow',
    });
  }

  const repair = () =>
    createCutPassRepair({ clickhouse: client, database }).repair({
      sinceMs: (now - 11 * 60) * 1000,
      before: new Date(),
    });

  it('gives each view the passes it missed, leaves what it had, and a second run changes nothing', async () => {
    const raw = await fromRaw();
    expect(await fromViews()).not.toEqual(raw);

    const report = await repair();
    // Every pass but the one that reached every view, each with the views from its cut on repaired.
    expect(summary(report)).toEqual(
      passes
        .filter((p) => p.reached < ORDER.length)
        .map((p) => ({
          at: p.at,
          size: p.size,
          views: ORDER.map((view, i) => `${view} ${i < p.reached ? 'had' : 'repaired'}`),
        })),
    );
    expect(await fromViews()).toEqual(raw);

    expect((await repair()).passes).toEqual([]);
    expect(await fromViews()).toEqual(raw);

    // Consumption was paused and is back: a sale through the chain is counted in every view.
    await sell([minute + 30]);
    const after = await fromRaw();
    expect(after.ids).toHaveLength(raw.ids.length + 1);
    expect(await fromViews()).toEqual(after);
  }, 60_000);

  it('leaves alone an aggregate short by other than the pass, and keeps the pass out of ticket_sales_ids', async () => {
    // A sale two hours old that no view ever counted, and a pass cut before its first view on
    // the same keys: the aggregates are short by 2 where the pass has 1 id.
    const sale = (at: number, order: string) =>
      `SELECT toUUID('${randomUUID()}'), 1, toDateTime(${minute + 20}), ${(minute + 20) * 1000}, toDateTime(${at}),
         toDateTime(${at}), 'show-odd', '${order}', 'user-odd', 'GA', 2, toDecimal64('5', 4), 'EUR', 'web', 'DE', 'Berlin', '', -1, -1`;
    await client.command({ query: `INSERT INTO ${database}.ticket_sales ${sale(now - 7200, 'order-old')}` });
    await client.command({ query: `INSERT INTO ${database}.ticket_sales ${sale(now - 30, 'order-cut')}` });

    for (const run of [1, 2]) {
      const report = await repair();
      expect(summary(report)).toEqual([
        {
          at: now - 30,
          size: 1,
          views: [
            `sales_by_order_mv ${run === 1 ? 'repaired' : 'had'}`,
            `sales_by_user_mv ${run === 1 ? 'repaired' : 'had'}`,
            'sales_per_hour_mv left_alone',
            'sales_per_minute_mv left_alone',
            'sales_totals_mv left_alone',
            'ticket_sales_ids_mv left_alone',
          ],
        },
      ]);
      const totals = await query(
        `SELECT count() AS n FROM ${database}.sales_totals WHERE event_id = 'show-odd'`,
      );
      expect(totals).toEqual([{ n: '0' }]);
    }
  }, 60_000);

  function summary(report: CutPassReport) {
    return report.passes.map((p) => ({
      at: p.ingestedAt.getTime() / 1000,
      size: p.size,
      views: p.views.map((v) => `${v.view} ${v.kind}`),
    }));
  }

  /** Every view over sales, as the raw table says it should be. */
  async function fromRaw() {
    const perWindow = (start: string) =>
      query(`SELECT event_id, toUInt32(${start}(event_time)) AS w, category, toString(sum(quantity)) AS tickets,
               toString(count()) AS orders, toString(sum(amount)) AS revenue, toString(uniqExact(user_id)) AS buyers
             FROM ${database}.ticket_sales GROUP BY event_id, w, category ORDER BY event_id, w, category`);
    return {
      minute: await perWindow('toStartOfMinute'),
      hour: await perWindow('toStartOfHour'),
      totals:
        await query(`SELECT event_id, category, toString(sum(quantity)) AS tickets, toString(count()) AS orders
        FROM ${database}.ticket_sales GROUP BY event_id, category ORDER BY event_id, category`),
      byOrder: await query(`SELECT order_id, toString(id) AS id, quantity, toString(amount) AS amount
        FROM ${database}.ticket_sales ORDER BY order_id, id`),
      byUser: await query(`SELECT user_id, toString(id) AS id, toUInt32(event_time) AS t
        FROM ${database}.ticket_sales ORDER BY user_id, id`),
      ids: await query(
        `SELECT toString(id) AS id, toUInt32(ingested_at) AS at FROM ${database}.ticket_sales ORDER BY id`,
      ),
    };
  }

  /** The same figures, read from the views' tables. */
  async function fromViews() {
    const perWindow = (table: string) =>
      query(`SELECT event_id, toUInt32(window_start) AS w, category, toString(sumMerge(tickets_state)) AS tickets,
               toString(countMerge(orders_state)) AS orders, toString(sumMerge(revenue_state)) AS revenue,
               toString(uniqExactMerge(buyers_state)) AS buyers
             FROM ${database}.${table} GROUP BY event_id, w, category ORDER BY event_id, w, category`);
    return {
      minute: await perWindow('sales_per_minute_agg'),
      hour: await perWindow('sales_per_hour_agg'),
      totals:
        await query(`SELECT event_id, category, toString(sum(tickets)) AS tickets, toString(sum(orders)) AS orders
        FROM ${database}.sales_totals GROUP BY event_id, category ORDER BY event_id, category`),
      byOrder: await query(`SELECT order_id, toString(id) AS id, quantity, toString(amount) AS amount
        FROM ${database}.sales_by_order FINAL ORDER BY order_id, id`),
      byUser: await query(`SELECT user_id, toString(id) AS id, toUInt32(event_time) AS t
        FROM ${database}.sales_by_user FINAL ORDER BY user_id, id`),
      ids: await query(
        `SELECT toString(id) AS id, toUInt32(ingested_at) AS at FROM ${database}.ticket_sales_ids ORDER BY id`,
      ),
    };
  }
});
