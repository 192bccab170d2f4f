// Refunds on the real stack: posted through the API, counted once by ClickHouse, decided against
// their orders by the refund booker, and read back from the views analysts read.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCapacityAlertRunner } from '../../src/capacity/alert-runner.js';
import { createRefundBooker } from '../../src/refunds/refund-booker.js';
import { uuid } from '../../src/sql/literals.js';
import { loadNamedQueries, renderNamedQuery } from '../../src/sql/named-queries.js';
import { ticketRefund, ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

const silent = pino({ level: 'silent' });

interface Totals {
  tickets: string;
  tickets_refunded: string;
  net_tickets: string;
  revenue: string;
  revenue_refunded: string;
  net_revenue: string;
  refunds: string;
}

describe('refunds on the real stack', () => {
  let p: TestPipeline;
  let booker: ReturnType<typeof createRefundBooker>;
  let version = Date.now() * 1000;

  const category = (show_id: string, cat: string, capacity: number) =>
    p.clickhouse.insert({
      table: `${p.database}.dim_ticket_categories`,
      values: [
        {
          show_id,
          category: cat,
          capacity,
          price: 50,
          currency: 'EUR',
          version: (version += 1000),
          deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });

  const ids = (list: string[]) => list.map((id) => uuid(id).text).join(', ');

  async function post(events: Record<string, unknown>[]) {
    const res = await p.post(events);
    expect(res.status).toBe(202);
  }

  /** Posts refunds and waits until ClickHouse counted them (once each) in ticket_refunds. */
  async function refund(events: ReturnType<typeof ticketRefund>[]) {
    await post(events);
    const unique = [...new Set(events.map((e) => e.id))];
    expect(await p.countAtLeast('ticket_refunds', unique.length, `id IN (${ids(unique)})`)).toBe(
      unique.length,
    );
  }

  async function sell(events: ReturnType<typeof ticketSale>[]) {
    await post(events);
    await p.waitForSales(events.map((e) => e.id));
  }

  /** Passes of the booker until every one of `refundIds` has a final decision (or the deadline). */
  async function decide(refundIds: string[], final = true) {
    await eventually(
      async () => {
        await booker.runOnce();
        return p.count(
          'refund_decisions',
          `id IN (${ids(refundIds)})${final ? " AND outcome != 'pending'" : ''}`,
        );
      },
      (n) => n >= refundIds.length,
      15_000,
    );
  }

  const totals = async (show: string, view = 'sales_per_minute'): Promise<Totals> => {
    const [row] = await p.query<Totals>(
      `SELECT toString(sum(tickets)) AS tickets, toString(sum(tickets_refunded)) AS tickets_refunded,
              toString(sum(net_tickets)) AS net_tickets, toString(sum(revenue)) AS revenue,
              toString(sum(revenue_refunded)) AS revenue_refunded, toString(sum(net_revenue)) AS net_revenue,
              toString(sum(refunds)) AS refunds
       FROM ${p.database}.${view} WHERE event_id = '${show}'`,
    );
    return row!;
  };
  const capacity = (show: string) =>
    p.query<{ category: string; sold: string; refunded: string; remaining: string }>(
      `SELECT category, toString(sold) AS sold, toString(refunded) AS refunded, toString(remaining) AS remaining
       FROM ${p.database}.capacity_status WHERE event_id = '${show}' ORDER BY category`,
    );
  const anomalies = (show: string) =>
    p.query<{ order_id: string; status: string; anomaly: string; detail: string }>(
      `SELECT order_id, status, toString(anomaly) AS anomaly, detail FROM ${p.database}.refund_anomalies
       WHERE event_id = '${show}' ORDER BY order_id`,
    );

  beforeAll(async () => {
    p = await createTestPipeline('tp_refunds');
    booker = createRefundBooker({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: silent,
      intervalMs: 250,
      waitSeconds: 3600,
    });
  });
  afterAll(async () => {
    await booker?.close();
    await p?.close();
  });

  it('a partial refund moves net tickets, net revenue and capacity sold by exactly its amounts', async () => {
    await category('rf-show', 'GA', 10);
    const soldAt = Date.now() - 5 * 60_000;
    const sale = ticketSale(
      { timestamp: new Date(soldAt).toISOString() },
      { event_id: 'rf-show', order_id: 'rf-o1', quantity: 4, amount: '200.00' },
    );
    await sell([sale]);
    expect(await totals('rf-show')).toMatchObject({
      tickets: '4',
      net_tickets: '4',
      net_revenue: '200.0000',
    });

    // One ticket of four, 50.25 of 200, booked in the window of its own timestamp.
    const refundedAt = Date.now() - 60_000;
    const r = ticketRefund(
      { timestamp: new Date(refundedAt).toISOString() },
      { event_id: 'rf-show', order_id: 'rf-o1', quantity: 1, amount: '50.25' },
    );
    await refund([r]);
    await decide([r.id]);
    for (const view of ['sales_per_minute', 'sales_per_hour']) {
      expect(await totals('rf-show', view)).toEqual({
        tickets: '4',
        tickets_refunded: '1',
        net_tickets: '3',
        revenue: '200.0000',
        revenue_refunded: '50.2500',
        net_revenue: '149.7500',
        refunds: '1',
      });
    }
    const [window] = await p.query<{ window_start: string; tickets: string; net_tickets: string }>(
      `SELECT toString(window_start) AS window_start, toString(tickets) AS tickets, toString(net_tickets) AS net_tickets
       FROM ${p.database}.sales_per_minute WHERE event_id = 'rf-show' AND refunds > 0`,
    );
    expect(window).toEqual({
      window_start: new Date(Math.floor(refundedAt / 60_000) * 60_000)
        .toISOString()
        .slice(0, 19)
        .replace('T', ' '),
      tickets: '0',
      net_tickets: '-1',
    });
    expect(await capacity('rf-show')).toEqual([{ category: 'GA', sold: '3', refunded: '1', remaining: '7' }]);
    // Pricing follows net sales: 4 sold and 1 refunded in the last 15 minutes, of 10 seats.
    expect(
      await p.query(
        `SELECT toString(sold_15m) AS sold_15m, toString(refunded_15m) AS refunded_15m, sell_through_15m, reason
         FROM ${p.database}.pricing_signals WHERE event_id = 'rf-show'`,
      ),
    ).toEqual([
      {
        sold_15m: '3',
        refunded_15m: '1',
        sell_through_15m: 0.3,
        reason: 'sold 30 % in 15 min net of 1 refunded; the show start is not known',
      },
    ]);
  });

  it('a refund retried in another request, beside other records, counts once', async () => {
    const sale = ticketSale({}, { event_id: 'rf-show', order_id: 'rf-o2', quantity: 2, amount: '100' });
    await sell([sale]);
    const r = ticketRefund({}, { event_id: 'rf-show', order_id: 'rf-o2', quantity: 1, amount: '50' });
    await refund([r]);
    // The same record again, in a request with a neighbour, and the first request again whole.
    const neighbour = ticketRefund({}, { event_id: 'rf-show', order_id: 'rf-o2', quantity: 1, amount: '50' });
    await refund([neighbour, r]);
    await refund([r]);
    await decide([r.id, neighbour.id]);
    for (let i = 0; i < 3; i++) await booker.runOnce();
    expect(await p.count('ticket_refunds', `id = ${uuid(r.id).text}`)).toBe(1);
    expect(await totals('rf-show')).toMatchObject({
      tickets: '6',
      tickets_refunded: '3',
      net_tickets: '3',
      refunds: '3',
    });
    expect(await capacity('rf-show')).toEqual([{ category: 'GA', sold: '3', refunded: '3', remaining: '7' }]);
  });

  it('an unknown order, an over-refund and another currency are kept with their reason and leave net figures alone', async () => {
    const before = await totals('rf-show');
    const unknown = ticketRefund(
      {},
      { event_id: 'rf-show', order_id: 'rf-nowhere', quantity: 1, amount: '1' },
    );
    // rf-o1 has 3 tickets and 149.75 left.
    const tooMany = ticketRefund({}, { event_id: 'rf-show', order_id: 'rf-o1', quantity: 4, amount: '10' });
    const tooMuch = ticketRefund(
      {},
      { event_id: 'rf-show', order_id: 'rf-o1', quantity: 1, amount: '149.76' },
    );
    const currency = ticketRefund(
      {},
      { event_id: 'rf-show', order_id: 'rf-o1', quantity: 1, amount: '10', currency: 'USD' },
    );
    await refund([unknown, tooMany, tooMuch, currency]);
    await decide([tooMany.id, tooMuch.id, currency.id]);
    await decide([unknown.id], false);
    const seen = await anomalies('rf-show');
    expect(seen.map((a) => [a.order_id, a.status, a.anomaly]).sort()).toEqual(
      [
        ['rf-nowhere', 'waiting', 'order_not_seen'],
        ['rf-o1', 'final', 'more_tickets_than_remain'],
        ['rf-o1', 'final', 'more_money_than_remains'],
        ['rf-o1', 'final', 'other_currency'],
      ].sort(),
    );
    expect(seen.find((a) => a.anomaly === 'more_tickets_than_remain')?.detail).toBe(
      'order rf-o1 has 3 of 4 GA tickets left; the refund returns 4',
    );
    expect(await totals('rf-show')).toEqual(before);
    expect(await capacity('rf-show')).toEqual([{ category: 'GA', sold: '3', refunded: '3', remaining: '7' }]);
  });

  it('a refund that arrives before its sale waits, then counts once the sale is there', async () => {
    const r = ticketRefund({}, { event_id: 'rf-show', order_id: 'rf-late', quantity: 1, amount: '40' });
    await refund([r]);
    await decide([r.id], false);
    expect((await anomalies('rf-show')).filter((a) => a.order_id === 'rf-late')).toMatchObject([
      { status: 'waiting', anomaly: 'order_not_seen' },
    ]);
    expect((await totals('rf-show')).tickets_refunded).toBe('3');

    await sell([ticketSale({}, { event_id: 'rf-show', order_id: 'rf-late', quantity: 1, amount: '40' })]);
    await decide([r.id]);
    expect((await anomalies('rf-show')).filter((a) => a.order_id === 'rf-late')).toEqual([]);
    expect(await totals('rf-show')).toMatchObject({ tickets: '7', tickets_refunded: '4', net_tickets: '3' });
  });

  it('a refund whose order never comes is a final anomaly after the wait', async () => {
    const impatient = createRefundBooker({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: silent,
      intervalMs: 250,
      waitSeconds: 1,
    });
    const r = ticketRefund({}, { event_id: 'rf-show', order_id: 'rf-never', quantity: 1, amount: '1' });
    await refund([r]);
    const decided = await eventually(
      async () => {
        await impatient.runOnce();
        return anomalies('rf-show');
      },
      (rows) => rows.some((a) => a.order_id === 'rf-never' && a.status === 'final'),
      15_000,
      250,
    );
    expect(decided.filter((a) => a.order_id === 'rf-never')).toMatchObject([
      { status: 'final', anomaly: 'order_not_seen' },
    ]);
  });

  it('show_summary and live_sales_for_show agree with a recomputation from raw sales and refund decisions', async () => {
    const queries = loadNamedQueries(new URL('../../queries', import.meta.url).pathname);
    const from = new Date(Date.now() - 3 * 3_600_000);
    const to = new Date(Date.now() + 3_600_000);
    const named = (name: string) =>
      p.query<Record<string, unknown>>(
        renderNamedQuery(queries.get(name)!, p.database, {
          show_id: 'rf-show',
          from_time: from,
          to_time: to,
        }),
      );
    const range = (column: string) =>
      `${column} >= toDateTime(${Math.floor(from.getTime() / 1000)}) AND ${column} < toDateTime(${Math.floor(to.getTime() / 1000)})`;
    // Booked refunds straight from the decisions: the latest decision of each id.
    const booked = `(SELECT id, any(event_id) AS event_id, any(category) AS category, any(refunded_at) AS refunded_at,
        any(quantity) AS quantity, any(amount) AS amount
      FROM ${p.database}.refund_decisions GROUP BY id HAVING argMax(outcome, version) = 'booked')`;
    const [summary] = (await named('show_summary')).filter((r) => r.event_id === 'rf-show');
    const [raw] = await p.query<Record<string, unknown>>(
      `SELECT
         (SELECT toString(sum(quantity)) FROM ${p.database}.ticket_sales WHERE event_id = 'rf-show' AND ${range('event_time')}) AS tickets,
         (SELECT toString(sum(amount)) FROM ${p.database}.ticket_sales WHERE event_id = 'rf-show' AND ${range('event_time')}) AS revenue,
         (SELECT toString(sum(quantity)) FROM ${booked} WHERE event_id = 'rf-show' AND ${range('refunded_at')}) AS tickets_refunded,
         (SELECT toString(sum(amount)) FROM ${booked} WHERE event_id = 'rf-show' AND ${range('refunded_at')}) AS revenue_refunded`,
    );
    expect(raw!.tickets_refunded).not.toBe('0');
    // Numbers compared as numbers: the JSON of a Decimal is "340" one way and "340.0000" the other.
    const numbers = (row: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, k === 'window_start' || k === 'category' ? v : Number(v)]),
      );
    expect(
      numbers({
        tickets: summary!.tickets,
        revenue: summary!.revenue,
        tickets_refunded: summary!.tickets_refunded,
        revenue_refunded: summary!.revenue_refunded,
        net_tickets: summary!.net_tickets,
        net_revenue: summary!.net_revenue,
      }),
    ).toEqual(
      numbers({
        ...raw,
        net_tickets: Number(raw!.tickets) - Number(raw!.tickets_refunded),
        net_revenue: Number(raw!.revenue) - Number(raw!.revenue_refunded),
      }),
    );
    const perMinute = await named('live_sales_for_show');
    const rawMinutes = await p.query<Record<string, unknown>>(
      `SELECT toString(window_start) AS window_start, category, toString(sum(t)) AS tickets, toString(sum(rt)) AS tickets_refunded,
              toString(sum(rv) - sum(rr)) AS net_revenue
       FROM (
         SELECT toStartOfMinute(event_time) AS window_start, category, toUInt64(quantity) AS t, toUInt64(0) AS rt,
           toDecimal128(amount, 4) AS rv, toDecimal128(0, 4) AS rr
         FROM ${p.database}.ticket_sales WHERE event_id = 'rf-show' AND ${range('event_time')}
         UNION ALL
         SELECT toStartOfMinute(refunded_at) AS window_start, category, toUInt64(0) AS t, toUInt64(quantity) AS rt,
           toDecimal128(0, 4) AS rv, toDecimal128(amount, 4) AS rr
         FROM ${booked} WHERE event_id = 'rf-show' AND ${range('refunded_at')}
       )
       GROUP BY window_start, category ORDER BY window_start, category`,
    );
    expect(
      perMinute.map((r) =>
        numbers({
          window_start: String(r.window_start),
          category: String(r.category),
          tickets: r.tickets,
          tickets_refunded: r.tickets_refunded,
          net_revenue: r.net_revenue,
        }),
      ),
    ).toEqual(rawMinutes.map(numbers));
  });

  it('refund_velocity flags the fourth booked refund of one buyer within the hour, once', async () => {
    const orders = Array.from({ length: 5 }, (_, i) =>
      ticketSale(
        {},
        { event_id: 'rf-fast', order_id: `rf-fast-${i}`, user_id: 'rf-refunder', quantity: 1, amount: '30' },
      ),
    );
    await sell(orders);
    const base = Date.now() - 10 * 60_000;
    const refunds = orders.slice(0, 4).map((o, i) =>
      ticketRefund(
        { timestamp: new Date(base + i * 1000).toISOString() },
        {
          event_id: 'rf-fast',
          order_id: o.data.order_id,
          user_id: 'rf-refunder',
          quantity: 1,
          amount: '30',
        },
      ),
    );
    await refund(refunds);
    await decide(refunds.map((r) => r.id));
    await p.runFraudRules();
    await p.runFraudRules();
    const alerts = await p.query<{ sale_id: string; details: string }>(
      `SELECT toString(sale_id) AS sale_id, details FROM ${p.database}.fraud_alerts_log
       WHERE rule = 'refund_velocity' AND user_id = 'rf-refunder'`,
    );
    expect(alerts).toEqual([
      {
        sale_id: refunds[3]!.id,
        details: 'refund 4 by rf-refunder within 3600 s; more than 3 is suspicious',
      },
    ]);
  });

  it('a refund taking a category back under 80 % re-arms its alert, and the next crossing fires it once', async () => {
    const runner = createCapacityAlertRunner({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: silent,
      intervalMs: 250,
    });
    const alerts80 = () =>
      p.query<{ sold: string }>(
        `SELECT toString(sold) AS sold FROM ${p.database}.capacity_alerts
         WHERE event_id = 'rf-cap' AND threshold = 80 ORDER BY crossed_at`,
      );
    const runUntil = (count: number) =>
      eventually(
        async () => {
          await runner.runOnce();
          return alerts80();
        },
        (rows) => rows.length >= count,
        15_000,
      );

    await category('rf-cap', 'GA', 10);
    await sell([ticketSale({}, { event_id: 'rf-cap', order_id: 'rf-cap-1', quantity: 8, amount: '400' })]);
    expect(await runUntil(1)).toEqual([{ sold: '8' }]);

    const r = ticketRefund({}, { event_id: 'rf-cap', order_id: 'rf-cap-1', quantity: 2, amount: '100' });
    await refund([r]);
    await decide([r.id]);
    const state = await eventually(
      async () => {
        await runner.runOnce();
        return p.query<{ generation: number; crossed: number; sold: string }>(
          `SELECT generation, crossed, toString(sold) AS sold FROM ${p.database}.capacity_thresholds
           WHERE event_id = 'rf-cap' AND threshold = 80`,
        );
      },
      (rows) => rows[0]?.crossed === 0,
      15_000,
    );
    expect(state).toEqual([{ generation: 1, crossed: 0, sold: '6' }]);

    await sell([ticketSale({}, { event_id: 'rf-cap', order_id: 'rf-cap-2', quantity: 2, amount: '100' })]);
    expect(await runUntil(2)).toEqual([{ sold: '8' }, { sold: '8' }]);
    for (let i = 0; i < 3; i++) await runner.runOnce();
    expect(await alerts80()).toHaveLength(2);
    await runner.close();
  });
});
