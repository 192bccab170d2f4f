// Capacity status, capacity alerts and pricing signals on the real stack: dimension rows as the
// bridge writes them, sales through the API and Kafka, the alert runner's passes.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCapacityAlertRunner, type CapacityAlertRunner } from '../../src/capacity/alert-runner.js';
import { ticketSale } from '../fixtures/events.js';
import { eventually } from './helpers.js';
import { createTestPipeline, type TestPipeline } from './pipeline.js';

interface Alert {
  threshold: number;
  crossed_at: string;
  capacity: number;
  sold: number;
}

interface Signal {
  event_id: string;
  sold_15m: number;
  sell_through_15m: number;
  projected_sellout_at: string | null;
  hours_before_show: number | null;
  multiplier: number;
  reason: string;
}

/** ClickHouse's 'YYYY-MM-DD hh:mm:ss' (UTC) for a time in ms. */
const chTime = (ms: number) =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

describe('capacity and pricing on the real stack', () => {
  let p: TestPipeline;
  let runner: CapacityAlertRunner;
  // Versions as the bridge writes them: Postgres updated_at in microseconds, rising.
  let version = Date.now() * 1000;
  const nextVersion = () => (version += 1000);

  const insert = (table: string, row: Record<string, unknown>) =>
    p.clickhouse.insert({
      table: `${p.database}.${table}`,
      values: [{ version: nextVersion(), deleted: 0, ...row }],
      format: 'JSONEachRow',
    });
  const category = (show_id: string, category: string, capacity: number, deleted = 0) =>
    insert('dim_ticket_categories', { show_id, category, capacity, price: 50, currency: 'EUR', deleted });
  const show = (show_id: string, organizer_id: string, startsAtMs: number) =>
    insert('dim_shows', {
      show_id,
      organizer_id,
      name: show_id,
      venue: 'Arena',
      country: 'DE',
      timezone: 'Europe/Berlin',
      starts_at: Math.floor(startsAtMs / 1000),
      status: 'on_sale',
    });

  /** Posts sales of one show and category (quantity, timestamp in ms each) and waits until ClickHouse has them. */
  async function sell(showId: string, cat: string, sales: [number, number][]) {
    const events = sales.map(([quantity, at], i) =>
      ticketSale(
        { timestamp: new Date(at).toISOString() },
        { event_id: showId, category: cat, quantity, user_id: `buyer-${i}` },
      ),
    );
    expect((await p.post(events)).status).toBe(202);
    await p.waitForSales(events.map((e) => e.id));
  }

  const alerts = (showId: string) =>
    p.query<Alert>(
      `SELECT threshold, toString(crossed_at) AS crossed_at, capacity, toUInt32(sold) AS sold
       FROM ${p.database}.capacity_alerts WHERE event_id = '${showId}' ORDER BY crossed_at, threshold`,
    );

  /** Runs the alert runner until `showId` has `count` alerts (sales_totals may lag ticket_sales by a moment). */
  async function runUntilAlerts(showId: string, count: number): Promise<Alert[]> {
    return eventually(
      async () => {
        await runner.runOnce();
        return alerts(showId);
      },
      (rows) => rows.length >= count,
      15_000,
      100,
    );
  }

  const status = (showId: string) =>
    p.query<{ category: string; capacity: number; sold: string; remaining: string; percent_sold: number }>(
      `SELECT category, capacity, sold, remaining, percent_sold FROM ${p.database}.capacity_status
       WHERE event_id = '${showId}' ORDER BY category`,
    );

  beforeAll(async () => {
    p = await createTestPipeline('tp_capacity');
    runner = createCapacityAlertRunner({
      clickhouse: p.clickhouse,
      database: p.database,
      logger: pino({ level: 'silent' }),
      intervalMs: 250,
    });
  });
  afterAll(async () => {
    await runner?.close();
    await p?.close();
  });

  describe('capacity alerts', () => {
    const base = Math.floor((Date.now() - 4 * 60_000) / 1000) * 1000;
    const at = (second: number) => base + second * 1000;

    it('fires 80, 95 and 100 % once each, at the sale that reached them', async () => {
      await category('cap-show', 'GA', 20);
      await category('cap-show', 'VIP', 10);
      expect(await status('cap-show')).toEqual([
        { category: 'GA', capacity: 20, sold: '0', remaining: '20', percent_sold: 0 },
        { category: 'VIP', capacity: 10, sold: '0', remaining: '10', percent_sold: 0 },
      ]);

      // Eight orders of 2: the 8th reaches 16 = 80 % of 20.
      await sell(
        'cap-show',
        'GA',
        Array.from({ length: 8 }, (_, i) => [2, at(i + 1)]),
      );
      expect(await runUntilAlerts('cap-show', 1)).toEqual([
        { threshold: 80, crossed_at: chTime(at(8)), capacity: 20, sold: 16 },
      ]);

      // 18, 19 (95 %: ceil(19)), 20 (100 %).
      await sell('cap-show', 'GA', [
        [2, at(9)],
        [1, at(10)],
        [1, at(11)],
      ]);
      expect(await runUntilAlerts('cap-show', 3)).toEqual([
        { threshold: 80, crossed_at: chTime(at(8)), capacity: 20, sold: 16 },
        { threshold: 95, crossed_at: chTime(at(10)), capacity: 20, sold: 19 },
        { threshold: 100, crossed_at: chTime(at(11)), capacity: 20, sold: 20 },
      ]);
      expect(await status('cap-show')).toEqual([
        { category: 'GA', capacity: 20, sold: '20', remaining: '0', percent_sold: 100 },
        { category: 'VIP', capacity: 10, sold: '0', remaining: '10', percent_sold: 0 },
      ]);
    });

    it('fires nothing new when Kafka redelivers every sale or the runner runs again', async () => {
      const before = await alerts('cap-show');
      await p.redeliverFromStart('ticket_sale');
      await p.waitConsumed('ticket_sale');
      for (let i = 0; i < 3; i++) await runner.runOnce();
      // A second runner, as after a restart or with two instances at once.
      const other = createCapacityAlertRunner({
        clickhouse: p.clickhouse,
        database: p.database,
        logger: pino({ level: 'silent' }),
        intervalMs: 250,
      });
      await Promise.all([other.runOnce(), runner.runOnce()]);
      expect(await alerts('cap-show')).toEqual(before);
      expect((await status('cap-show'))[0]).toMatchObject({ sold: '20', remaining: '0' });
    });

    it('a raised capacity shows at once and re-arms only the thresholds no longer crossed', async () => {
      await category('cap-show', 'GA', 25);
      // capacity_status reads the newest version without waiting for a merge.
      expect((await status('cap-show'))[0]).toEqual({
        category: 'GA',
        capacity: 25,
        sold: '20',
        remaining: '5',
        percent_sold: 80,
      });
      await runner.runOnce();
      const thresholds = () =>
        p.query<{ threshold: number; generation: number; crossed: number; since: string }>(
          `SELECT threshold, generation, crossed, toString(since) AS since FROM ${p.database}.capacity_thresholds
           WHERE event_id = 'cap-show' AND category = 'GA' ORDER BY threshold`,
        );
      const rearmed = await thresholds();
      // 20 of 25 is still 80 %; 95 % (24) and 100 % (25) are out of reach again.
      expect(rearmed.map(({ threshold, generation, crossed }) => [threshold, generation, crossed])).toEqual([
        [80, 0, 1],
        [95, 1, 0],
        [100, 1, 0],
      ]);
      expect(await alerts('cap-show')).toHaveLength(3);

      // Four more tickets now reach 24 = 95 % of 25: it fires again, as a new alert.
      const now = Date.now();
      await sell('cap-show', 'GA', [[4, now]]);
      const again = await runUntilAlerts('cap-show', 4);
      expect(again.slice(3)).toEqual([{ threshold: 95, crossed_at: chTime(now), capacity: 25, sold: 24 }]);

      // A late sale stamped at(12) puts 25 tickets before the sale above in (event_time, id) order:
      // that sale, after the re-arm, reaches 100 %.
      await sell('cap-show', 'GA', [[1, at(12)]]);
      const fifth = await runUntilAlerts('cap-show', 5);
      expect(fifth.slice(4)).toEqual([{ threshold: 100, crossed_at: chTime(now), capacity: 25, sold: 25 }]);

      // Raised to 30: 95 % (29) and 100 % (30) re-arm. A late sale stamped at(13) then reaches both
      // with sales from before the re-arm: crossed_at is the re-arm, never earlier.
      await category('cap-show', 'GA', 30);
      await runner.runOnce();
      const since = (await thresholds()).map((t) => [t.threshold, t.generation, t.crossed, t.since]);
      expect(since.map((t) => t.slice(0, 3))).toEqual([
        [80, 0, 1],
        [95, 2, 0],
        [100, 2, 0],
      ]);
      const rearmedAt = since[1]![3] as string;
      expect(rearmedAt > chTime(now)).toBe(true);
      await sell('cap-show', 'GA', [[8, at(13)]]);
      const all = await runUntilAlerts('cap-show', 7);
      expect(all.slice(5)).toEqual([
        { threshold: 95, crossed_at: rearmedAt, capacity: 30, sold: 29 },
        { threshold: 100, crossed_at: rearmedAt, capacity: 30, sold: 33 },
      ]);
      expect(all.filter((a) => a.threshold === 80)).toHaveLength(1);
    });

    it('started, the runner fires on its own every intervalMs until closed', async () => {
      const started = createCapacityAlertRunner({
        clickhouse: p.clickhouse,
        database: p.database,
        logger: pino({ level: 'silent' }),
        intervalMs: 100,
      });
      started.start();
      try {
        await category('auto-show', 'GA', 2);
        const now = Date.now();
        await sell('auto-show', 'GA', [[2, now]]);
        const fired = await eventually(
          () => alerts('auto-show'),
          (rows) => rows.length >= 3,
          15_000,
        );
        expect(fired.map((a) => [a.threshold, a.crossed_at])).toEqual([
          [80, chTime(now)],
          [95, chTime(now)],
          [100, chTime(now)],
        ]);
      } finally {
        await started.close();
      }
    });

    it('a category deleted in Postgres leaves capacity_status', async () => {
      await category('cap-show', 'VIP', 10, 1);
      expect((await status('cap-show')).map((r) => r.category)).toEqual(['GA']);
    });
  });

  describe('pricing_signals', () => {
    const signal = async (showId: string) => {
      const [row] = await p.query<Signal>(
        `SELECT event_id, toUInt32(sold_15m) AS sold_15m, sell_through_15m,
                toString(projected_sellout_at) AS projected_sellout_at, hours_before_show, multiplier, reason
         FROM ${p.database}.pricing_signals WHERE event_id = '${showId}' AND category = 'GA'`,
      );
      return row;
    };
    const rules = (
      organizer_id: string,
      r: { hot: number; early: number; surge: number; max: number },
      deleted = 0,
    ) =>
      insert('dim_pricing_rules', {
        organizer_id,
        hot_sell_through: r.hot,
        early_sellout_hours: r.early,
        surge_factor: r.surge,
        max_multiplier: r.max,
        deleted,
      });

    beforeAll(async () => {
      const inDays = (days: number) => Date.now() + days * 86_400_000;
      await show('hot-show', 'org-hot', inDays(30));
      await show('quiet-show', 'org-quiet', inDays(30));
      await category('hot-show', 'GA', 100);
      await category('quiet-show', 'GA', 100);
      // 40 % of the capacity in the last three minutes.
      const now = Date.now();
      await sell(
        'hot-show',
        'GA',
        Array.from({ length: 10 }, (_, i) => [4, now - (180 - i * 18) * 1000]),
      );
      await eventually(
        () => signal('hot-show'),
        (s) => s?.sold_15m === 40,
        15_000,
      );
    });

    it('a burst well before the show suggests a surge, and says why', async () => {
      const hot = await signal('hot-show');
      expect(hot).toMatchObject({ sold_15m: 40, sell_through_15m: 0.4, multiplier: 1.4 });
      expect(hot!.projected_sellout_at).not.toBeNull();
      expect(hot!.hours_before_show).toBeGreaterThan(29 * 24);
      expect(hot!.reason).toMatch(
        /^sold 40 % in 15 min; at this pace sells out (29|30) days before the show; suggest ×1\.4$/,
      );
    });

    it('a quiet show stays at 1.0', async () => {
      expect(await signal('quiet-show')).toEqual({
        event_id: 'quiet-show',
        sold_15m: 0,
        sell_through_15m: 0,
        projected_sellout_at: null,
        hours_before_show: null,
        multiplier: 1,
        reason: 'no sales in the last 15 min',
      });
    });

    it("the organizer's pricing_rules row decides, and its deletion brings the defaults back", async () => {
      await rules('org-hot', { hot: 0.5, early: 24, surge: 1, max: 1.5 });
      const calm = await signal('hot-show');
      expect(calm!.multiplier).toBe(1);
      expect(calm!.reason).toMatch(
        /^sold 40 % in 15 min; at this pace sells out (29|30) days before the show$/,
      );

      await rules('org-hot', { hot: 0.1, early: 24, surge: 0.5, max: 2 });
      expect((await signal('hot-show'))!.multiplier).toBe(1.2);

      // Selling out must come at least this long before the show: 40 days is more than the 30 left.
      await rules('org-hot', { hot: 0.1, early: 40 * 24, surge: 1, max: 1.5 });
      expect((await signal('hot-show'))!.multiplier).toBe(1);

      await rules('org-hot', { hot: 0.1, early: 40 * 24, surge: 1, max: 1.5 }, 1);
      expect((await signal('hot-show'))!.multiplier).toBe(1.4);
      // The quiet show's organizer was never touched.
      expect((await signal('quiet-show'))!.multiplier).toBe(1);
    });
  });
});
