/**
 * Gives the views of `ticket_sales` the passes an unclean ClickHouse stop cut between two of
 * their writes (docs/operations.md, "After an unclean ClickHouse stop"): the first step of
 * `npm run kafka -- replay`.
 *
 * 18.16's Kafka engine commits a pass's offsets, then writes it: the raw table first, then each
 * view of the dedup view in name order (src/operations/cut-pass-views.ts), then keeps the dedup
 * sets' file. A kill between two writes leaves the pass in the raw table and the first views
 * only, and nothing reads it again. `ticket_sales_ids_mv` is the last view before the sets, so
 * a raw id it lacks is a cut pass's; a pass's rows share `ingested_at` (now() of its insert).
 * For each such pass and each view, in order, whether the view had the pass
 * (src/operations/cut-pass-verdicts.ts). A view that missed it gets the view's own SELECT
 * over exactly the pass's raw rows; `ticket_sales_ids` last, so a repair that dies half way
 * finds the pass again and the views it gave it as had. Anything else (a view with some of a
 * pass, an aggregate short by another amount, a had after a missed) is reported and left
 * alone, and the pass keeps out of `ticket_sales_ids` so that the next run looks at it again.
 *
 * Only `ticket_sales`: the other streams' last views are aggregates (interactions, metrics) or
 * their raw table is their only id-keyed table (refunds), so nothing marks a pass complete.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { dateTime, ident, sql } from '../sql/literals.js';
import { createCutPassVerdicts, type Pass, type Verdict } from './cut-pass-verdicts.js';
import { readSalesViews, rows, type SalesView } from './cut-pass-views.js';

export interface CutPassRepairOptions {
  clickhouse: ClickHouseClient;
  database: string;
  log?: (line: string) => void;
}

/** What one view had of a pass, and what the repair did about it. */
export type ViewOutcome =
  | { kind: 'had'; view: string; detail: string }
  | { kind: 'repaired'; view: string; rows: number; detail: string }
  | { kind: 'left_alone'; view: string; reason: string };

/** One cut pass: its raw rows' `ingested_at`, its ids, and each view's outcome in write order. */
export interface CutPass {
  ingestedAt: Date;
  size: number;
  views: ViewOutcome[];
}

export interface CutPassReport {
  table: 'ticket_sales';
  passes: CutPass[];
}

/** The view whose target marks a pass complete: the last one written before the dedup sets. */
const MARKER = 'ticket_sales_ids_mv';

/**
 * @example
 * const report = await createCutPassRepair({ clickhouse, database }).repair({ sinceMs: Date.now() - 11 * 60_000 });
 */
export function createCutPassRepair({ clickhouse, database, log = () => undefined }: CutPassRepairOptions) {
  const db = ident(database);
  const raw = sql`${db}.ticket_sales`;
  const ids = sql`${db}.ticket_sales_ids`;
  const verdicts = createCutPassVerdicts({ clickhouse, database });

  const read = <T>(query: string) => rows<T>(clickhouse, query);

  /**
   * Finds and mends the cut passes ingested from `sinceMs` up to `before` (default: when the
   * server started, since a pass written after the restart was not cut by the stop, and a pass
   * being written now must not be taken for one).
   */
  async function repair({ sinceMs, before }: { sinceMs: number; before?: Date }): Promise<CutPassReport> {
    const report: CutPassReport = { table: 'ticket_sales', passes: [] };
    const until = before === undefined ? sql`(now() - uptime())` : dateTime(before);
    const since = dateTime(new Date(sinceMs));
    const found = await read<{ at: number; n: string }>(
      sql`SELECT toUInt32(ingested_at) AS at, count() AS n FROM ${raw}
        WHERE ingested_at >= ${since} AND ingested_at <= ${until}
          AND id NOT IN (SELECT id FROM ${ids} WHERE ingested_at >= ${since})
        GROUP BY at ORDER BY at`.text,
    );
    log(`ticket_sales: ${found.length} cut passes since ${new Date(sinceMs).toISOString()}`);
    if (found.length === 0) return report;
    const passes = found.map((p) => ({ at: Number(p.at), size: Number(p.n) }));

    // Consumption paused (ticket_sales_rows_mv, the queue's only view, detached: 18.16's Kafka
    // table streams only while it has a view) while the views are compared with the raw table.
    // Not pausing is exact only without traffic: an aggregate's keys are shared with new passes
    // (sales_totals is per show and category for all time), and a pass being written would read
    // as one the aggregate missed, and be counted twice. A pass being written holds the view's
    // structure lock, which DETACH takes for alter, so DETACH waits for it (18.16's source, not
    // measured). A pass that checked for views before the DETACH and builds its insert after it
    // writes nothing and commits its offsets: its records lie within the minutes the replay
    // publishes again after this step, so they are counted then. The Kafka table itself is
    // never detached (closing its consumer aborted 18.16).
    await clickhouse.command({ query: sql`DETACH TABLE ${db}.ticket_sales_rows_mv`.text });
    try {
      const views = await readSalesViews(clickhouse, database);
      const judged = new Map<string, Map<number, Verdict>>();
      for (const v of views) judged.set(v.view, await verdicts.judge(v, passes));
      for (const pass of passes) {
        report.passes.push(await mend(pass, views, judged));
      }
    } finally {
      await clickhouse.command({ query: sql`ATTACH TABLE ${db}.ticket_sales_rows_mv`.text });
    }
    return report;
  }

  /** Gives the pass to the views that missed it, in write order, the marker last. */
  async function mend(
    pass: Pass,
    views: SalesView[],
    judged: Map<string, Map<number, Verdict>>,
  ): Promise<CutPass> {
    const out: CutPass = { ingestedAt: new Date(pass.at * 1000), size: pass.size, views: [] };
    const of = views.map((v) => ({ v, verdict: judged.get(v.view)!.get(pass.at)! }));
    const firstMissed = of.findIndex((x) => x.verdict.kind === 'missed');
    const outOfOrder = of.find((x, i) => firstMissed >= 0 && i > firstMissed && x.verdict.kind === 'had');
    const unsettled = of.some((x) => x.verdict.kind === 'unclear');
    for (const { v, verdict } of of) {
      if (outOfOrder !== undefined) {
        const reason = `${outOfOrder.v.view} had the pass after ${of[firstMissed]!.v.view} missed it: not a pass cut in write order`;
        out.views.push({ kind: 'left_alone', view: v.view, reason });
      } else if (verdict.kind === 'unclear') {
        out.views.push({ kind: 'left_alone', view: v.view, reason: verdict.reason });
      } else if (verdict.kind === 'had') {
        out.views.push({ kind: 'had', view: v.view, detail: verdict.detail });
      } else if (v.kind === 'unknown') {
        out.views.push({ kind: 'left_alone', view: v.view, reason: 'unknown target' });
      } else if (v.view === MARKER && unsettled) {
        const reason = 'kept out until every view is settled, so that the next run looks at the pass again';
        out.views.push({ kind: 'left_alone', view: v.view, reason });
      } else {
        await clickhouse.command({ query: v.insertFrom(verdicts.passRows(pass.at)) });
        out.views.push({ kind: 'repaired', view: v.view, rows: pass.size, detail: verdict.detail });
      }
      const last = out.views.at(-1)!;
      log(`pass ${out.ingestedAt.toISOString()} (${pass.size} ids): ${last.view} ${last.kind}`);
    }
    return out;
  }

  return { repair };
}
