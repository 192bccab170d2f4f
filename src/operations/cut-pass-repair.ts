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
 * For each such pass and each view, in order: a target keyed by id holds all its ids (had) or
 * none (missed); an aggregate is short, over the keys the pass touches, by nothing or by its ids
 * (src/operations/cut-pass-attribution.ts). A view that missed it gets the view's own SELECT
 * over exactly the pass's raw rows; `ticket_sales_ids` last, so a repair that dies half way
 * finds the pass again and the views it gave it as had. Anything else (a view with some of a
 * pass, an aggregate short by another amount, a had after a missed) is reported and left
 * alone, and the pass keeps out of `ticket_sales_ids` so that the next run looks at it again.
 *
 * Only `ticket_sales`: the other streams' last views are aggregates (interactions, metrics) or
 * their raw table is their only id-keyed table (refunds), so nothing marks a pass complete.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { dateTime, ident, int, sql } from '../sql/literals.js';
import { attributeGaps, type Attribution, type PassKeys } from './cut-pass-attribution.js';
import { readSalesViews, type AggregateView, type IdKeyedView, type SalesView } from './cut-pass-views.js';

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

  async function rows<T>(query: string): Promise<T[]> {
    return (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();
  }

  /** The ids of the pass ingested at `at` (epoch seconds) that `ticket_sales_ids` lacks. */
  function cutIds(at: number): string {
    const second = sql`toDateTime(${int(at)})`;
    return sql`SELECT id FROM ${raw} WHERE ingested_at = ${second}
      AND id NOT IN (SELECT id FROM ${ids} WHERE ingested_at = ${second})`.text;
  }

  /** The pass's raw rows, once each, as the dedup view handed them to its views. */
  function passRows(at: number): string {
    return `(SELECT * FROM ${raw.text} WHERE ingested_at = toDateTime(${int(at).text}) AND id IN (${cutIds(at)}) LIMIT 1 BY id)`;
  }

  /**
   * Finds and mends the cut passes ingested from `sinceMs` up to `before` (default: when the
   * server started, since a pass written after the restart was not cut by the stop, and a pass
   * being written now must not be taken for one).
   */
  async function repair({ sinceMs, before }: { sinceMs: number; before?: Date }): Promise<CutPassReport> {
    const report: CutPassReport = { table: 'ticket_sales', passes: [] };
    const until = before === undefined ? sql`(now() - uptime())` : dateTime(before);
    const since = dateTime(new Date(sinceMs));
    const found = await rows<{ at: number; n: string }>(
      sql`SELECT toUInt32(ingested_at) AS at, count() AS n FROM ${raw}
        WHERE ingested_at >= ${since} AND ingested_at <= ${until}
          AND id NOT IN (SELECT id FROM ${ids} WHERE ingested_at >= ${since})
        GROUP BY at ORDER BY at`.text,
    );
    log(`ticket_sales: ${found.length} cut passes since ${new Date(sinceMs).toISOString()}`);
    if (found.length === 0) return report;
    const passes = found.map((p) => ({ at: Number(p.at), size: Number(p.n) }));

    // Consumption paused while the views are compared with the raw table: an aggregate's keys are
    // shared with new passes (sales_totals is per show and category for all time), and a new pass
    // in flight would read as one the aggregate missed. The DETACH waits for a pass being written
    // (it takes the view's structure lock, which an insert holds); the Kafka table then stops
    // after its current pass, which nothing writes. That pass's offsets are committed, but it
    // lies within the minutes the replay publishes again after this step, so it is counted then.
    // The Kafka table itself is never detached (closing its consumer aborted 18.16).
    await clickhouse.command({ query: sql`DETACH TABLE ${db}.ticket_sales_rows_mv`.text });
    try {
      const views = await readSalesViews(clickhouse, database);
      const verdicts = new Map<string, Map<number, Verdict>>();
      for (const v of views) verdicts.set(v.view, await judge(v, passes));
      for (const pass of passes) {
        report.passes.push(await mend(pass, views, verdicts));
      }
    } finally {
      await clickhouse.command({ query: sql`ATTACH TABLE ${db}.ticket_sales_rows_mv`.text });
    }
    return report;
  }

  type Verdict = Attribution & { detail: string };
  type Pass = { at: number; size: number };

  /** Whether each pass reached the view; no writes. */
  async function judge(v: SalesView, passes: Pass[]): Promise<Map<number, Verdict>> {
    if (v.kind === 'id_keyed') return judgeIdKeyed(v, passes);
    if (v.kind === 'aggregate') return judgeAggregate(v, passes);
    const unknown: Verdict = {
      kind: 'unclear',
      reason: `${v.target} is neither keyed by id nor a known aggregate`,
      detail: '',
    };
    return new Map(passes.map((p) => [p.at, unknown]));
  }

  async function judgeIdKeyed(v: IdKeyedView, passes: Pass[]): Promise<Map<number, Verdict>> {
    const out = new Map<number, Verdict>();
    for (const p of passes) {
      const [held] = await rows<{ n: string }>(
        `SELECT uniqExact(id) AS n FROM ${db.text}.${ident(v.target).text} WHERE id IN (${cutIds(p.at)})`,
      );
      const n = Number(held?.n ?? 0);
      const detail = `${n} of ${p.size} ids`;
      if (n === 0) out.set(p.at, { kind: 'missed', detail });
      else if (n === p.size) out.set(p.at, { kind: 'had', detail });
      else out.set(p.at, { kind: 'unclear', reason: `holds ${detail}`, detail });
    }
    return out;
  }

  async function judgeAggregate(v: AggregateView, passes: Pass[]): Promise<Map<number, Verdict>> {
    const { raw: rawKey, stored, orders } = v.shape;
    const keyOf = (r: Record<string, unknown>) => JSON.stringify(rawKey.map((_, i) => r[`k${i}`]));
    const aliased = (exprs: readonly string[]) => exprs.map((e, i) => `${e} AS k${i}`).join(', ');
    const groupBy = rawKey.map((_, i) => `k${i}`).join(', ');
    const perPass: PassKeys[] = [];
    for (const p of passes) {
      const counts = await rows<Record<string, unknown> & { n: string }>(
        `SELECT ${aliased(rawKey)}, count() AS n FROM ${passRows(p.at)} GROUP BY ${groupBy}`,
      );
      perPass.push({ at: p.at, ids: new Map(counts.map((r) => [keyOf(r), Number(r.n)])) });
    }
    const touched = passes
      .map((p) => `SELECT ${rawKey.join(', ')} FROM ${raw.text} WHERE id IN (${cutIds(p.at)})`)
      .join(' UNION ALL ');
    const [inRaw, inView] = await Promise.all([
      rows<Record<string, unknown> & { n: string }>(
        `SELECT ${aliased(rawKey)}, uniqExact(id) AS n FROM ${raw.text}
         WHERE (${rawKey.join(', ')}) IN (${touched}) GROUP BY ${groupBy}`,
      ),
      rows<Record<string, unknown> & { n: string }>(
        `SELECT ${aliased(stored)}, ${orders} AS n FROM ${db.text}.${ident(v.target).text}
         WHERE (${stored.join(', ')}) IN (${touched}) GROUP BY ${groupBy}`,
      ),
    ]);
    const gaps = new Map(inRaw.map((r) => [keyOf(r), Number(r.n)]));
    for (const r of inView) gaps.set(keyOf(r), (gaps.get(keyOf(r)) ?? 0) - Number(r.n));
    const attributed = attributeGaps(perPass, gaps);
    return new Map(
      perPass.map((p) => {
        const short = [...p.ids.keys()].reduce((sum, key) => sum + (gaps.get(key) ?? 0), 0);
        const detail = `${short} orders short over its ${p.ids.size} keys`;
        return [p.at, { ...attributed.get(p.at)!, detail }];
      }),
    );
  }

  /** Gives the pass to the views that missed it, in write order, the marker last. */
  async function mend(
    pass: Pass,
    views: SalesView[],
    verdicts: Map<string, Map<number, Verdict>>,
  ): Promise<CutPass> {
    const out: CutPass = { ingestedAt: new Date(pass.at * 1000), size: pass.size, views: [] };
    const of = views.map((v) => ({ v, verdict: verdicts.get(v.view)!.get(pass.at)! }));
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
        await clickhouse.command({ query: v.insertFrom(passRows(pass.at)) });
        out.views.push({ kind: 'repaired', view: v.view, rows: pass.size, detail: verdict.detail });
      }
      const last = out.views.at(-1)!;
      log(`pass ${out.ingestedAt.toISOString()} (${pass.size} ids): ${last.view} ${last.kind}`);
    }
    return out;
  }

  return { repair };
}
