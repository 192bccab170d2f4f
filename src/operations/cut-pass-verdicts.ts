/**
 * Whether each view of `ticket_sales` had each cut pass, for the cut-pass repair
 * (src/operations/cut-pass-repair.ts): a target keyed by id holds all of a pass's ids (had) or
 * none (missed); an aggregate is short, over the keys the pass touches, by nothing or by the
 * pass's ids (src/operations/cut-pass-attribution.ts). Anything else is `unclear`. Reads only.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ident, int, sql } from '../sql/literals.js';
import { attributeGaps, type Attribution, type PassKeys } from './cut-pass-attribution.js';
import { rows, type AggregateView, type IdKeyedView, type SalesView } from './cut-pass-views.js';

/** A cut pass: its raw rows' `ingested_at` (epoch seconds) and how many ids it has. */
export interface Pass {
  at: number;
  size: number;
}

/** What a view had of a pass, with the numbers behind it. */
export type Verdict = Attribution & { detail: string };

export interface CutPassVerdictsOptions {
  clickhouse: ClickHouseClient;
  database: string;
}

/** `judge(view, passes)`: what the view had of each pass; `passRows(at)`: a pass's raw rows, as SQL. */
export function createCutPassVerdicts({ clickhouse, database }: CutPassVerdictsOptions) {
  const db = ident(database);
  const raw = sql`${db}.ticket_sales`;
  const ids = sql`${db}.ticket_sales_ids`;

  const read = <T>(query: string) => rows<T>(clickhouse, query);

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
      const [held] = await read<{ n: string }>(
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
      const counts = await read<Record<string, unknown> & { n: string }>(
        `SELECT ${aliased(rawKey)}, count() AS n FROM ${passRows(p.at)} GROUP BY ${groupBy}`,
      );
      perPass.push({ at: p.at, ids: new Map(counts.map((r) => [keyOf(r), Number(r.n)])) });
    }
    const touched = passes
      .map((p) => `SELECT ${rawKey.join(', ')} FROM ${raw.text} WHERE id IN (${cutIds(p.at)})`)
      .join(' UNION ALL ');
    const [inRaw, inView] = await Promise.all([
      read<Record<string, unknown> & { n: string }>(
        `SELECT ${aliased(rawKey)}, uniqExact(id) AS n FROM ${raw.text}
         WHERE (${rawKey.join(', ')}) IN (${touched}) GROUP BY ${groupBy}`,
      ),
      read<Record<string, unknown> & { n: string }>(
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

  return { judge, passRows };
}
