/**
 * The refund booker: decides each new refund of `ticket_refunds` against its order
 * (src/refunds/refund-decisions.ts) and writes the decision into `refund_decisions`, which the
 * views `refunds`, `refund_anomalies`, the sales windows and capacity_status read (migration
 * 0016_refunds.sql). Runs in the `rules` role, on its leader only.
 *
 * A pass reads:
 * - the refunds ClickHouse counted in the last REFUND_WAIT_HOURS + 1 h that have no final
 *   decision (booked or anomaly); a pending one is read again on every pass until its order
 *   arrives or it is too old;
 * - the sales of their orders (sales_by_order: an index range per order; an order missing there
 *   is looked up in ticket_sales within its refund's show, see migration 0016);
 * - the refunds booked so far of those orders (refund_decisions of their shows).
 * So its cost follows the refunds of the last day and the shows they belong to, not all history.
 *
 * A pass repeated after a crash decides the same refunds the same way and writes the same keys;
 * two leaders at once (the election's overlap) could book two competing refunds of one order that
 * each fit alone, which the advisory lock of the rules role is there to prevent.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { repeat } from '../lifecycle/repeat.js';
import { int, str } from '../sql/literals.js';
import {
  decideRefunds,
  money,
  moneyText,
  type BookedSoFar,
  type Decision,
  type OrderLine,
  type RefundCandidate,
} from './refund-decisions.js';

export interface RefundBookerOptions {
  clickhouse: ClickHouseClient;
  /** Database holding migration 0016's tables and views. */
  database: string;
  /** Failed passes are logged here (warn) and retried on the next tick. */
  logger: Logger;
  /** Milliseconds between passes (REFUND_BOOKER_INTERVAL_MS). */
  intervalMs: number;
  /** Seconds a refund whose order is missing waits before it is an anomaly for good (REFUND_WAIT_HOURS). */
  waitSeconds: number;
  /** Most refunds decided per pass (default 5,000); the rest wait for the next. */
  batchSize?: number;
}

/** What one pass decided. */
export interface RefundPass {
  booked: number;
  pending: number;
  anomalies: number;
}

interface CandidateRow extends RefundCandidate {
  user_id: string;
  channel: string;
  reason: string;
  ingested_at: number;
  was_pending: number;
}

export function createRefundBooker(options: RefundBookerOptions) {
  const { clickhouse, database: db, logger, waitSeconds } = options;
  const batchSize = options.batchSize ?? 5_000;
  const lookback = int(waitSeconds + 3_600).text;

  /** `('a', 'b')`: string literals for an IN. */
  const list = (values: string[]) => `(${values.map((v) => str(v).text).join(', ')})`;

  async function rows<T>(query: string): Promise<T[]> {
    // On a cluster ticket_refunds and sales_by_order are Distributed, and the candidates query reads
    // one inside an IN over another: `global`, as for the fraud rules (src/fraud/rule-runner.ts).
    const result = await clickhouse.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: { distributed_product_mode: 'global' },
    });
    return result.json<T>();
  }

  async function candidates(): Promise<CandidateRow[]> {
    const raw = await rows<Record<string, string | number>>(`
      SELECT
        -- refund_id, not id: 18.16's aliases are global, and the IN below must see the UUID.
        toString(id) AS refund_id, event_id, order_id, user_id, category, quantity, toString(amount) AS amount,
        toString(currency) AS currency, channel, reason, timestamp_ms,
        toUInt32(now()) - toUInt32(ingested_at) AS age_seconds, toUInt32(ingested_at) AS ingested_at,
        (event_id, category, id) IN (
          SELECT event_id, category, id FROM ${db}.refund_decisions
          WHERE ingested_at >= now() - ${lookback} AND outcome = 'pending'
        ) AS was_pending
      FROM ${db}.ticket_refunds
      WHERE ingested_at >= now() - ${lookback}
        AND (event_id, category, id) NOT IN (
          SELECT event_id, category, id FROM ${db}.refund_decisions
          WHERE event_id IN (SELECT event_id FROM ${db}.ticket_refunds WHERE ingested_at >= now() - ${lookback})
            AND outcome != 'pending'
        )
      ORDER BY timestamp_ms, id
      LIMIT ${int(batchSize).text}`);
    return raw.map((r) => ({
      id: String(r.refund_id),
      event_id: String(r.event_id),
      order_id: String(r.order_id),
      user_id: String(r.user_id),
      category: String(r.category),
      quantity: Number(r.quantity),
      amount: String(r.amount),
      currency: String(r.currency),
      channel: String(r.channel),
      reason: String(r.reason),
      timestamp_ms: Number(r.timestamp_ms),
      age_seconds: Number(r.age_seconds),
      ingested_at: Number(r.ingested_at),
      was_pending: Number(r.was_pending),
    }));
  }

  /** Sales summed per order, show, category and currency, from `sales` (a table or a subquery). */
  async function summedLines(sales: string): Promise<OrderLine[]> {
    const raw = await rows<Record<string, string | number>>(`
      SELECT order_id, event_id, category, toString(currency) AS currency, sum(quantity) AS quantity,
        toString(sum(amount)) AS amount
      FROM ${sales}
      GROUP BY order_id, event_id, category, currency`);
    return raw.map((r) => ({
      order_id: String(r.order_id),
      event_id: String(r.event_id),
      category: String(r.category),
      currency: String(r.currency),
      quantity: Number(r.quantity),
      amount: String(r.amount),
    }));
  }

  /**
   * The orders' sales: from sales_by_order (an index range per order), and for an order missing
   * there from ticket_sales, within the refunds' shows (their index ranges): 0016 says why.
   */
  async function orderLines(refunds: CandidateRow[]): Promise<OrderLine[]> {
    const orders = [...new Set(refunds.map((r) => r.order_id))];
    const lines = await summedLines(`${db}.sales_by_order FINAL WHERE order_id IN ${list(orders)}`);
    const found = new Set(lines.map((l) => l.order_id));
    const missing = refunds.filter((r) => !found.has(r.order_id));
    if (missing.length === 0) return lines;
    const fallback = await summedLines(`(
      SELECT order_id, event_id, category, currency, quantity, amount FROM ${db}.ticket_sales
      WHERE event_id IN ${list([...new Set(missing.map((r) => r.event_id))])}
        AND order_id IN ${list([...new Set(missing.map((r) => r.order_id))])}
      LIMIT 1 BY id
    )`);
    return [...lines, ...fallback];
  }

  async function bookedSoFar(shows: string[], orders: string[]): Promise<BookedSoFar[]> {
    const raw = await rows<Record<string, string | number>>(`
      SELECT order_id, category, sum(quantity) AS quantity, toString(sum(amount)) AS amount
      FROM ${db}.refunds
      WHERE event_id IN ${list(shows)} AND order_id IN ${list(orders)}
      GROUP BY order_id, category`);
    return raw.map((r) => ({
      order_id: String(r.order_id),
      category: String(r.category),
      quantity: Number(r.quantity),
      amount: String(r.amount),
    }));
  }

  /** One decision as a JSONEachRow line; the amount goes as its exact decimal text. */
  function decisionRow(refund: CandidateRow, decision: Decision): string {
    const anomaly = decision.outcome === 'booked' ? 'none' : decision.anomaly;
    const detail = decision.outcome === 'booked' ? '' : decision.detail;
    const fields: [string, string][] = [
      ['id', JSON.stringify(refund.id)],
      ['event_id', JSON.stringify(refund.event_id)],
      ['category', JSON.stringify(refund.category)],
      ['order_id', JSON.stringify(refund.order_id)],
      ['user_id', JSON.stringify(refund.user_id)],
      ['refunded_at', String(Math.floor(refund.timestamp_ms / 1000))],
      ['timestamp_ms', String(refund.timestamp_ms)],
      ['ingested_at', String(refund.ingested_at)],
      ['quantity', String(refund.quantity)],
      ['amount', moneyText(money(refund.amount))],
      ['currency', JSON.stringify(refund.currency)],
      ['channel', JSON.stringify(refund.channel)],
      ['reason', JSON.stringify(refund.reason)],
      ['outcome', JSON.stringify(decision.outcome)],
      ['anomaly', JSON.stringify(anomaly)],
      ['detail', JSON.stringify(detail)],
      ['decided_at', String(Math.floor(Date.now() / 1000))],
      ['version', decision.outcome === 'pending' ? '1' : '2'],
    ];
    return `{${fields.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
  }

  async function runOnce(): Promise<RefundPass> {
    const waiting = await candidates();
    const pass: RefundPass = { booked: 0, pending: 0, anomalies: 0 };
    if (waiting.length === 0) return pass;
    const orders = [...new Set(waiting.map((r) => r.order_id))];
    const shows = [...new Set(waiting.map((r) => r.event_id))];
    const [lines, booked] = await Promise.all([orderLines(waiting), bookedSoFar(shows, orders)]);
    const decisions = decideRefunds(waiting, lines, booked, waitSeconds);
    const written: string[] = [];
    for (const refund of waiting) {
      const decision = decisions.get(refund.id)!;
      if (decision.outcome === 'booked') pass.booked++;
      else if (decision.outcome === 'pending') pass.pending++;
      else pass.anomalies++;
      // A pending decision is written once; it is read again on every pass until it changes.
      if (decision.outcome === 'pending' && refund.was_pending === 1) continue;
      written.push(decisionRow(refund, decision));
    }
    if (written.length > 0) {
      await clickhouse.command({
        query: `INSERT INTO ${db}.refund_decisions FORMAT JSONEachRow\n${written.join('\n')}`,
      });
    }
    return pass;
  }

  return {
    runOnce,
    /** Passes every `intervalMs` until close(); a failed pass is logged and retried next time. */
    ...repeat({
      run: runOnce,
      intervalMs: options.intervalMs,
      onError: (err) => logger.warn({ err }, 'refund booking pass failed; retrying'),
    }),
  };
}
