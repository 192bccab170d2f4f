/**
 * What the bridge copies: each Postgres table, its ClickHouse dimension table (migration 0014)
 * and how one row becomes one JSONEachRow line there.
 */
import { sql } from 'kysely';
import type { Db } from '../db/schema.js';

/** A Postgres row as read for the bridge, with `version` in microseconds (bigint text). */
type Row = Record<string, unknown> & { version: string };

export interface Dimension {
  pgTable: string;
  chTable: string;
  /** Key columns in ClickHouse, in ORDER BY order. */
  chKey: string[];
  /** Rows for one key (as the trigger names it), or every row when `key` is undefined. */
  read(db: Db, key: Record<string, string> | undefined): Promise<Row[]>;
  line(row: Row): string;
  /** The row that marks a key deleted. */
  deletedLine(pgKey: Record<string, string>, version: number): string;
  /** The key of a row read from Postgres, comparable with `chKey` values joined by NUL. */
  keyOf(row: Row): string;
  /** A ClickHouse key row as the Postgres key. */
  pgKey(chRow: Record<string, string>): Record<string, string>;
}

const version = sql<string>`(extract(epoch from updated_at) * 1000000)::bigint`.as('version');
const epochSeconds = (d: unknown) => Math.floor((d as Date).getTime() / 1000);

/** A JSON line with a Decimal column written as its exact digits (18.16 reads Decimal only from a JSON number). */
function withDecimal(fields: Record<string, unknown>, column: string, digits: string): string {
  if (!/^\d+(\.\d+)?$/.test(digits)) throw new Error(`${column}: not a decimal: ${digits}`);
  return `${JSON.stringify(fields).slice(0, -1)},"${column}":${digits}}`;
}

export const DIMENSIONS: Dimension[] = [
  {
    pgTable: 'shows',
    chTable: 'dim_shows',
    chKey: ['show_id'],
    async read(db, key) {
      let q = db.selectFrom('shows').selectAll().select(version);
      if (key) q = q.where('id', '=', key.id!);
      return (await q.execute()) as unknown as Row[];
    },
    line: (r) =>
      JSON.stringify({
        show_id: r.id,
        organizer_id: r.organizer_id,
        name: r.name,
        venue: r.venue,
        country: r.country,
        timezone: r.timezone,
        starts_at: epochSeconds(r.starts_at),
        status: r.status,
        version: Number(r.version),
        deleted: 0,
      }),
    deletedLine: (k, v) => JSON.stringify({ show_id: k.id, version: v, deleted: 1 }),
    keyOf: (r) => String(r.id),
    pgKey: (k) => ({ id: k.show_id! }),
  },
  {
    pgTable: 'ticket_categories',
    chTable: 'dim_ticket_categories',
    chKey: ['show_id', 'category'],
    async read(db, key) {
      let q = db.selectFrom('ticket_categories').selectAll().select(version);
      if (key) q = q.where('show_id', '=', key.show_id!).where('category', '=', key.category!);
      return (await q.execute()) as unknown as Row[];
    },
    line: (r) =>
      withDecimal(
        {
          show_id: r.show_id,
          category: r.category,
          capacity: r.capacity,
          currency: r.currency,
          version: Number(r.version),
          deleted: 0,
        },
        'price',
        String(r.price),
      ),
    deletedLine: (k, v) =>
      JSON.stringify({ show_id: k.show_id, category: k.category, version: v, deleted: 1 }),
    keyOf: (r) => `${String(r.show_id)}\u0000${String(r.category)}`,
    pgKey: (k) => ({ show_id: k.show_id!, category: k.category! }),
  },
  {
    pgTable: 'fraud_rule_overrides',
    chTable: 'dim_fraud_rule_overrides',
    chKey: ['organizer_id', 'rule'],
    async read(db, key) {
      let q = db.selectFrom('fraud_rule_overrides').selectAll().select(version);
      if (key) q = q.where('organizer_id', '=', key.organizer_id!).where('rule', '=', key.rule as 'velocity');
      return (await q.execute()) as unknown as Row[];
    },
    line: (r) =>
      JSON.stringify({
        organizer_id: r.organizer_id,
        rule: r.rule,
        threshold: r.threshold,
        window_seconds: r.window_seconds,
        enabled: r.enabled ? 1 : 0,
        version: Number(r.version),
        deleted: 0,
      }),
    deletedLine: (k, v) =>
      JSON.stringify({ organizer_id: k.organizer_id, rule: k.rule, version: v, deleted: 1 }),
    keyOf: (r) => `${String(r.organizer_id)}\u0000${String(r.rule)}`,
    pgKey: (k) => ({ organizer_id: k.organizer_id!, rule: k.rule! }),
  },
  {
    pgTable: 'pricing_rules',
    chTable: 'dim_pricing_rules',
    chKey: ['organizer_id'],
    async read(db, key) {
      let q = db.selectFrom('pricing_rules').selectAll().select(version);
      if (key) q = q.where('organizer_id', '=', key.organizer_id!);
      return (await q.execute()) as unknown as Row[];
    },
    line: (r) =>
      JSON.stringify({
        organizer_id: r.organizer_id,
        hot_sell_through: r.hot_sell_through,
        early_sellout_hours: r.early_sellout_hours,
        surge_factor: r.surge_factor,
        max_multiplier: r.max_multiplier,
        version: Number(r.version),
        deleted: 0,
      }),
    deletedLine: (k, v) => JSON.stringify({ organizer_id: k.organizer_id, version: v, deleted: 1 }),
    keyOf: (r) => String(r.organizer_id),
    pgKey: (k) => ({ organizer_id: k.organizer_id! }),
  },
];
