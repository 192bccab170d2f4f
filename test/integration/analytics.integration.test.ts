// Windows, funnel, metrics and fraud rules on the real stack, fed through the API and Kafka.
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNamedQueries, renderNamedQuery } from '../../src/sql/named-queries.js';
import { createTrafficModel } from '../../src/simulate/traffic-model.js';
import { analyticsFixture, expectedSales, hourOf, minuteOf } from '../fixtures/analytics.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

/** Polls until the probe returns `expected` (views fed by sibling writes settle a moment apart). */
function settled<T>(probe: () => Promise<T>, expected: unknown): Promise<T> {
  return eventually(probe, (value) => isDeepStrictEqual(value, expected), 15_000, 100);
}

const queries = loadNamedQueries(new URL('../../queries/', import.meta.url).pathname);
const TOPICS = ['ticket_sale', 'user_interaction', 'system_metric'] as const;

describe('analytics on the real stack', () => {
  let p: TestPipeline;
  const base = minuteOf(Date.now() - 10 * 60_000);
  const fixture = analyticsFixture(base);

  async function consumed() {
    for (const topic of TOPICS) await p.waitConsumed(topic);
  }
  const salesRows = (view: string) =>
    p.query(
      `SELECT toString(window_start) AS window_start, event_id, category, toUInt32(tickets) AS tickets,
              toUInt32(orders) AS orders, toString(toDecimal64(revenue, 2)) AS revenue,
              toUInt32(unique_buyers) AS unique_buyers
       FROM ${p.database}.${view} ORDER BY window_start, event_id, category`,
    );
  const alerts = () =>
    p.query<{ rule: string; user_id: string; order_id: string; details: string }>(
      `SELECT rule, user_id, order_id, details FROM ${p.database}.fraud_alerts ORDER BY rule, order_id`,
    );

  beforeAll(async () => {
    p = await createTestPipeline('tp_analytics');
    const half = Math.floor(fixture.envelopes.length / 2);
    expect((await p.post(fixture.envelopes.slice(0, half))).status).toBe(202);
    expect((await p.post(fixture.envelopes.slice(half))).status).toBe(202);
    await consumed();
    await p.waitForSales(fixture.sales.map((sale) => sale.id));
    await p.runFraudRules();
  });
  afterAll(() => p?.close());

  it('sales_per_minute and sales_per_hour hold exactly the expected rows', async () => {
    const minutes = expectedSales(fixture.sales);
    expect(await settled(() => salesRows('sales_per_minute'), minutes)).toEqual(minutes);
    const hours = expectedSales(fixture.sales, hourOf);
    expect(await settled(() => salesRows('sales_per_hour'), hours)).toEqual(hours);
    // Spot-check one row by hand: show-c, GA, second minute: 4 buyers' orders + the traveller.
    const rows = expectedSales(fixture.sales);
    expect(
      rows.find(
        (r) =>
          r.event_id === 'show-c' && r.category === 'GA' && r.window_start.endsWith(':00') && r.orders === 5,
      ),
    ).toBeDefined();
  });

  it('the funnel counts distinct users per step', async () => {
    const funnel = async () => {
      const result = await p.clickhouse.query({
        query: renderNamedQuery(queries.get('conversion_funnel')!, p.database, {
          show_id: 'show-a',
          from_time: new Date(base),
          to_time: new Date(base + 120_000),
        }),
        format: 'JSONEachRow',
      });
      return (await result.json<Record<string, unknown>>()).map((r) => [
        r.action,
        Number(r.users),
        Number(r.interactions),
        Number(r.conversion),
      ]);
    };
    const expected = [
      ['page_view', 10, 11, 1],
      ['add_to_cart', 6, 6, 0.6],
      ['checkout_started', 4, 4, 0.4],
      ['checkout_completed', 3, 3, 0.3],
    ];
    expect(await settled(funnel, expected)).toEqual(expected);
  });

  it('top_categories, show_summary and top_velocity_buyers equal a recomputation from ticket_sales', async () => {
    const rows = async (sql: string) => {
      const result = await p.clickhouse.query({ query: sql, format: 'JSONEachRow' });
      return result.json<Record<string, unknown>>();
    };
    const named = (name: string, from: number, to: number) =>
      rows(
        renderNamedQuery(queries.get(name)!, p.database, {
          from_time: new Date(from),
          to_time: new Date(to),
          limit: 100,
        }),
      );
    const range = (from: number, to: number) =>
      `event_time >= toDateTime(${from / 1000}) AND event_time < toDateTime(${to / 1000})`;
    const sales = `${p.database}.ticket_sales`;
    const hour = 3_600_000;
    // Minute-aligned ranges: whole hours with ragged ends, minutes only, one minute.
    const ranges = [
      [hourOf(base) - 2 * hour + 7 * 60_000, hourOf(base) + 2 * hour - 7 * 60_000],
      [base + 60_000, base + hour + 60_000],
      [base, base + 60_000],
    ] as const;
    for (const [from, to] of ranges) {
      const where = range(from, to);
      expect(await named('top_categories', from, to), `top_categories ${where}`).toEqual(
        await rows(
          `SELECT event_id, category, sum(quantity) AS tickets, count() AS orders, sum(amount) AS revenue
           FROM ${sales} WHERE ${where} GROUP BY event_id, category
           ORDER BY tickets DESC, revenue DESC, event_id, category LIMIT 100`,
        ),
      );
      expect(await named('show_summary', from, to), `show_summary ${where}`).toEqual(
        await rows(
          `SELECT event_id, tickets, orders, revenue, rt AS tickets_refunded, rr AS revenue_refunded,
                  toInt64(tickets) - toInt64(rt) AS net_tickets, revenue - rr AS net_revenue,
                  unique_buyers, busiest_minute, busiest_minute_tickets
           FROM (
             SELECT event_id, sum(quantity) AS tickets, count() AS orders, sum(amount) AS revenue,
                    uniqExact(user_id) AS unique_buyers,
                    any(busiest_minute) AS busiest_minute, any(busiest_minute_tickets) AS busiest_minute_tickets
             FROM ${sales}
             ANY LEFT JOIN (
               SELECT event_id, argMin(m, tuple(-toInt64(t), m)) AS busiest_minute, max(t) AS busiest_minute_tickets
               FROM (SELECT event_id, toStartOfMinute(event_time) AS m, sum(quantity) AS t FROM ${sales}
                     WHERE ${where} GROUP BY event_id, m)
               GROUP BY event_id
             ) USING (event_id)
             WHERE ${where} GROUP BY event_id
           )
           ANY LEFT JOIN (
             SELECT event_id, sum(quantity) AS rt, sum(amount) AS rr FROM ${p.database}.refunds
             WHERE ${where.replaceAll('event_time', 'refunded_at')} GROUP BY event_id
           ) USING (event_id)
           ORDER BY event_id`,
        ),
      );
      expect(await named('top_velocity_buyers', from, to), `top_velocity_buyers ${where}`).toEqual(
        await rows(
          `SELECT user_id, max(n) AS max_orders_per_minute, sum(n) AS orders, sum(q) AS tickets, sum(a) AS revenue
           FROM (SELECT user_id, toStartOfMinute(event_time) AS m, count() AS n, sum(quantity) AS q, sum(amount) AS a
                 FROM ${sales} WHERE ${where} GROUP BY user_id, m)
           GROUP BY user_id ORDER BY max_orders_per_minute DESC, orders DESC, user_id LIMIT 100`,
        ),
      );
    }
    // The ranges are not vacuous: the first holds every sale, in whole hours; the third, one minute.
    expect((await named('top_categories', ...ranges[0])).length).toBeGreaterThan(2);
    expect((await named('top_categories', ...ranges[2])).length).toBeGreaterThan(0);
  });

  it('metrics_per_minute gives the expected count, min, max, avg and percentiles', async () => {
    const metrics = () =>
      p.query(
        `SELECT name, toUInt32(samples) AS samples, min, max, avg, p50, p95, p99
         FROM ${p.database}.metrics_per_minute ORDER BY name`,
      );
    const expected = [
      { name: 'api.latency_ms', samples: 5, min: 10, max: 100, avg: 40, p50: 30, p95: 100, p99: 100 },
      { name: 'checkout.queue_depth', samples: 2, min: 5, max: 7, avg: 6, p50: 7, p95: 7, p99: 7 },
    ];
    expect(await settled(metrics, expected)).toEqual(expected);
  });

  it('fires one alert per rule for the planted patterns, with the numbers in the details', async () => {
    const rows = await alerts();
    expect(rows.map((r) => [r.rule, r.user_id])).toEqual([
      ['large_amount', 'big-spender'],
      ['unusual_location', 'traveller'],
      ['velocity', 'fast-buyer'],
    ]);
    expect(rows[0]!.details).toBe('order total 15000 EUR is above the limit of 10000');
    expect(rows[1]!.details).toMatch(/^purchase from BR; .* came from DE$/);
    expect(rows[2]!.details).toBe('order 6 by fast-buyer within 60 s; more than 5 is suspicious');
  });

  it('stays exact when the whole data set is delivered again', async () => {
    expect((await p.post(fixture.envelopes)).status).toBe(202);
    await consumed();
    await p.runFraudRules();
    // Give any (wrongly) counted duplicate the same time to show up as the first delivery had.
    const minutes = expectedSales(fixture.sales);
    expect(await settled(() => salesRows('sales_per_minute'), minutes)).toEqual(minutes);
    expect(await p.count('fraud_alerts')).toBe(3);
  });

  it('a changed threshold in fraud_rules changes what fires next, without a restart or migration', async () => {
    const order = (amount: string) =>
      ticketSale({}, { event_id: 'show-rules', user_id: `rules-${amount}`, amount, quantity: 50 });
    const setLimit = (limit: number, revision: number) =>
      p.clickhouse.command({
        query: `INSERT INTO ${p.database}.fraud_rules (rule, threshold, window_seconds, enabled, description, revision)
                VALUES ('large_amount', ${limit}, 0, 1, 'test', ${revision})`,
      });
    const fired = async () =>
      (await alerts())
        .filter((a) => a.rule === 'large_amount' && a.user_id.startsWith('rules-'))
        .map((a) => a.user_id);

    await setLimit(20_000, 1);
    const first = order('15000.00');
    await p.post([first]);
    await p.waitForSales([first.id]);
    await p.runFraudRules();
    expect(await fired()).toEqual([]);

    await setLimit(12_000, 2);
    const second = order('15000.01');
    await p.post([second]);
    await p.waitForSales([second.id]);
    await p.runFraudRules();
    expect(await fired()).toEqual(['rules-15000.01']);
  });

  it('ordinary simulator traffic raises no amount or velocity alert for ordinary users', async () => {
    const model = createTrafficModel({ shows: 5, seed: 7, malformedShare: 0 });
    const records = Array.from({ length: 3000 }, (_, i) => model.next(i / 100));
    for (let i = 0; i < 8; i++) records.push(model.velocitySale(30)); // 8 orders within a minute
    for (let i = 0; i < records.length; i += 1000) {
      expect((await p.post(records.slice(i, i + 1000))).status).toBe(202);
    }
    await p.waitForSales(
      (records as { id: string; event_type: string }[])
        .filter((r) => r.event_type === 'ticket_sale')
        .map((r) => r.id),
    );
    await p.runFraudRules();
    const flagged = (await alerts()).filter(
      (a) => a.rule !== 'unusual_location' && !a.user_id.startsWith('rules-'),
    );
    const ordinary = flagged.filter(
      (a) => !['big-spender', 'fast-buyer', model.velocityUser, ...model.whales].includes(a.user_id),
    );
    expect(ordinary).toEqual([]);
    // ...while the planted patterns do fire.
    expect(flagged.filter((a) => a.user_id === model.velocityUser).length).toBeGreaterThanOrEqual(1);
  });
});
