// After a fault: does ClickHouse hold every acknowledged id exactly once, and do the window
// aggregates equal a recomputation from what was acknowledged?
import type { ClickHouseClient } from '@clickhouse/client';
import type { TrafficStats } from './traffic.js';

export interface Reconciliation {
  acknowledged: number;
  found: number;
  /** Up to 20 acknowledged ids the raw tables do not hold. */
  missing: string[];
  /** Extra copies of ids in the raw tables (count − distinct). */
  rawDuplicates: number;
  /** Orders and interactions the per-minute aggregates hold beyond the acknowledged ones. */
  aggregateDuplicates: number;
  /** Windows whose orders, tickets or revenue differ from the recomputation (either way). */
  aggregateMismatches: string[];
}

export function createReconciler(clickhouse: ClickHouseClient, database: string) {
  async function rows<T>(query: string): Promise<T[]> {
    const result = await clickhouse.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  async function reconcile(show: string, stats: TrafficStats): Promise<Reconciliation> {
    const quoted = `'${show.replace(/[^A-Za-z0-9_-]/g, '')}'`;
    const sales = await rows<{ id: string; n: string }>(
      `SELECT toString(id) AS id, count() AS n FROM ${database}.ticket_sales WHERE event_id = ${quoted} GROUP BY id`,
    );
    const interactions = await rows<{ id: string; n: string }>(
      `SELECT toString(id) AS id, count() AS n FROM ${database}.user_interactions WHERE event_id = ${quoted} GROUP BY id`,
    );
    const present = new Set([...sales, ...interactions].map((r) => r.id));
    const acknowledged = [...stats.sales.keys(), ...stats.interactions];
    const rawDuplicates = [...sales, ...interactions].reduce((sum, r) => sum + Number(r.n) - 1, 0);

    // Expected windows from the acknowledged sales, in exact hundredths.
    const expected = new Map<string, { orders: number; tickets: number; cents: number }>();
    for (const sale of stats.sales.values()) {
      const key = `${sale.minute}|${sale.category}`;
      const e = expected.get(key) ?? { orders: 0, tickets: 0, cents: 0 };
      e.orders += 1;
      e.tickets += sale.quantity;
      e.cents += sale.cents;
      expected.set(key, e);
    }
    const windows = await rows<{
      w: string;
      category: string;
      orders: string;
      tickets: string;
      cents: string;
    }>(
      `SELECT toUInt32(window_start) AS w, category, orders, tickets, toString(toInt64(revenue * 100)) AS cents
       FROM ${database}.sales_per_minute WHERE event_id = ${quoted}`,
    );
    const engagement = await rows<{ n: string }>(
      `SELECT sum(interactions) AS n FROM ${database}.engagement_per_minute WHERE event_id = ${quoted}`,
    );
    const mismatches: string[] = [];
    let aggregatedOrders = 0;
    const seen = new Set<string>();
    for (const w of windows) {
      const key = `${w.w}|${w.category}`;
      seen.add(key);
      aggregatedOrders += Number(w.orders);
      const e = expected.get(key) ?? { orders: 0, tickets: 0, cents: 0 };
      if (Number(w.orders) !== e.orders || Number(w.tickets) !== e.tickets || Number(w.cents) !== e.cents) {
        mismatches.push(
          `${key}: ${w.orders}/${w.tickets}/${w.cents} expected ${e.orders}/${e.tickets}/${e.cents}`,
        );
      }
    }
    for (const [key, e] of expected)
      if (!seen.has(key)) mismatches.push(`${key}: missing, expected ${e.orders} orders`);
    const aggregatedInteractions = Number(engagement[0]?.n ?? 0);
    const foundSales = [...stats.sales.keys()].filter((id) => present.has(id)).length;
    const foundInteractions = [...stats.interactions].filter((id) => present.has(id)).length;
    return {
      acknowledged: acknowledged.length,
      found: acknowledged.filter((id) => present.has(id)).length,
      missing: acknowledged.filter((id) => !present.has(id)).slice(0, 20),
      rawDuplicates,
      aggregateDuplicates:
        Math.max(0, aggregatedOrders - foundSales) + Math.max(0, aggregatedInteractions - foundInteractions),
      aggregateMismatches: mismatches,
    };
  }

  /**
   * Polls until everything acknowledged is found and the aggregates match, or the deadline
   * passes; returns the last reconciliation and when it first held.
   */
  async function settle(
    show: string,
    stats: TrafficStats,
    timeoutMs: number,
  ): Promise<{ result: Reconciliation; settledAt: number | undefined }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let result: Reconciliation | undefined;
      try {
        result = await reconcile(show, stats);
      } catch {
        // ClickHouse may still be starting after a kill.
      }
      const done =
        result !== undefined &&
        result.found === result.acknowledged &&
        result.rawDuplicates === 0 &&
        result.aggregateMismatches.length === 0;
      if (done && result !== undefined) return { result, settledAt: Date.now() };
      if (Date.now() > deadline) {
        return { result: result ?? (await reconcile(show, stats)), settledAt: undefined };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  return { reconcile, settle };
}
