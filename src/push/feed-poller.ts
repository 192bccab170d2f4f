/**
 * One watched feed with its params: holds the feed's current rows, polls ClickHouse with one
 * query per poll, and turns what changed into deltas for every subscriber at once. A new
 * subscriber gets a snapshot from memory; one with a cursor gets only what changed after it.
 * See src/push/feeds.ts for the three ways a feed is polled and src/push/cursor.ts for cursors.
 */
import type { ClickHouseClient } from '../clients/clickhouse.js';
import { ident, int, LiteralError } from '../sql/literals.js';
import { renderNamedQuery } from '../sql/named-queries.js';
import { decodeCursor, encodeCursor, shortHash, type Cursor } from './cursor.js';
import { renderParam, type Feed } from './feeds.js';

export type Row = Record<string, unknown>;

export interface Delta {
  /** Changed rows by key text (see `keyText`). */
  upserts: Map<string, Row>;
  /** Removed rows by key text: the key columns only. */
  deletes: Map<string, Row>;
  cursor: string;
  /** ISO time of the newest change ClickHouse counted, or null. */
  watermark: string | null;
}

/** What a subscriber receives; the hub (src/push/live-hub.ts) turns these into messages. */
export interface FeedListener {
  snapshot(rows: Row[], cursor: string, watermark: string | null): void;
  delta(delta: Delta): void;
  mustRefetch(reason: string): void;
  failed(code: string, message: string): void;
}

export interface FeedPollerOptions {
  clickhouse: ClickHouseClient;
  database: string;
  feed: Feed;
  params: Record<string, string | number>;
  /** Seconds re-read before the watermark on each poll, for blocks made visible late. */
  overlapSeconds: number;
  /** Oldest cursor (seconds before the watermark) a `changes` feed still resumes. */
  resumeHorizonSeconds: number;
  maxRows: number;
  /** Called once per ClickHouse query (metrics). */
  onQuery?: (purpose: 'load' | 'poll' | 'resume') => void;
  /** Called with each delta as the poll finds it, before it goes out (bench/push times delivery from here). */
  onDelta?: (delta: Delta) => void;
}

interface Entry {
  row: Row;
  hash: string;
  /** Epoch seconds: when the row last changed (changes/refresh) or its watermark column (query). */
  wm: number;
}

const SETTINGS = {
  enable_optimize_predicate_expression: 1,
  output_format_json_quote_64bit_integers: 0,
} as const;

export class FeedTooLargeError extends Error {}

export function keyText(key: readonly string[], row: Row): string {
  return JSON.stringify(key.map((k) => row[k]));
}

/** Epoch seconds of a ClickHouse DateTime text (UTC server) or a number. */
function seconds(value: unknown): number {
  if (typeof value === 'number') return value;
  const parsed = Date.parse(`${String(value).replace(' ', 'T')}Z`);
  return Number.isNaN(parsed) ? Number(value) : Math.floor(parsed / 1000);
}

export class FeedPoller {
  private readonly options: FeedPollerOptions;
  private readonly memory = new Map<string, Entry>();
  private loaded = false;
  /** Watermark in epoch seconds (see Cursor.w). */
  private w: number | undefined;
  private digest: string | undefined;
  private cursorText = '';
  private readonly listeners = new Set<FeedListener>();
  private joining: { listener: FeedListener; cursor?: string }[] = [];
  readonly id: string;
  private readonly feedHash: string;

  constructor(options: FeedPollerOptions, id: string) {
    this.options = options;
    this.id = id;
    this.feedHash = shortHash(id, 8);
  }

  get subscribers(): number {
    return this.listeners.size + this.joining.length;
  }

  get rows(): number {
    return this.memory.size;
  }

  join(listener: FeedListener, cursor?: string): void {
    this.joining.push({ listener, cursor });
  }

  leave(listener: FeedListener): void {
    this.listeners.delete(listener);
    this.joining = this.joining.filter((j) => j.listener !== listener);
  }

  /** One poll: load or update from ClickHouse, broadcast the delta, then admit new subscribers. */
  async poll(): Promise<void> {
    try {
      if (!this.loaded) await this.load();
      else {
        const delta = await this.update();
        if (delta) {
          this.options.onDelta?.(delta);
          for (const listener of this.listeners) listener.delta(delta);
        }
      }
    } catch (err) {
      if (!(err instanceof FeedTooLargeError)) throw err;
      for (const { listener } of this.joining) listener.failed('feed_too_large', err.message);
      for (const listener of this.listeners) listener.failed('feed_too_large', err.message);
      this.joining = [];
      this.listeners.clear();
      return;
    }
    const joining = this.joining;
    this.joining = [];
    for (const { listener, cursor } of joining) {
      await this.admit(listener, cursor);
      this.listeners.add(listener);
    }
  }

  private async load(): Promise<void> {
    const rows = await this.select(this.fullQuery(), 'load');
    if (rows.length > this.options.maxRows)
      throw new FeedTooLargeError(
        `${this.id} has more than ${this.options.maxRows} rows; subscribe with narrower params`,
      );
    let now = rows[0]?._now as number | undefined;
    if (now === undefined) {
      const [clock] = await this.select('SELECT toUnixTimestamp(now()) AS _now', 'load');
      now = clock!._now as number;
    }
    for (const row of rows) {
      delete row._now;
      this.memory.set(keyText(this.options.feed.key, row), this.entry(row, now));
    }
    this.w = this.options.feed.kind === 'query' ? this.maxRowWatermark() : now;
    this.loaded = true;
    this.refreshCursor();
  }

  /** Reads what may have changed and returns the delta, or undefined when nothing did. */
  private async update(): Promise<Delta | undefined> {
    const { feed } = this.options;
    const whole = feed.kind === 'query' || !feed.changes;
    let rows: Row[];
    if (whole) rows = await this.select(this.fullQuery(), 'poll');
    else {
      // Two steps: the keys the log names since the watermark, then the view for those keys as
      // literals. 18.16 pushes a literal IN into the view's GROUP BY but not an IN (subquery),
      // which would merge every window of the feed on every poll. Nothing changed: one query.
      const keys = await this.select(this.logSubquery(this.w! - this.options.overlapSeconds).sql, 'poll');
      rows = keys.length === 0 ? [] : await this.select(this.changesQuery(keys), 'poll');
    }
    if (whole && rows.length > this.options.maxRows)
      throw new FeedTooLargeError(`${this.id} grew past ${this.options.maxRows} rows`);
    const now = (rows[0]?._now as number | undefined) ?? this.w!;
    const upserts = new Map<string, Row>();
    const deletes = new Map<string, Row>();
    const seen = new Set<string>();
    for (const row of rows) {
      delete row._now;
      const key = keyText(feed.key, row);
      seen.add(key);
      const entry = this.entry(row, now);
      if (this.memory.get(key)?.hash === entry.hash) continue;
      this.memory.set(key, entry);
      upserts.set(key, row);
    }
    if (whole) {
      for (const [key, entry] of this.memory) {
        if (seen.has(key)) continue;
        this.memory.delete(key);
        deletes.set(key, Object.fromEntries(feed.key.map((k) => [k, entry.row[k]])));
      }
    }
    if (upserts.size === 0 && deletes.size === 0) return undefined;
    this.w = feed.kind === 'query' ? this.maxRowWatermark() : now;
    this.refreshCursor();
    return { upserts, deletes, cursor: this.cursorText, watermark: this.watermarkIso() };
  }

  /** Sends a new subscriber its snapshot, or only what changed after its cursor. */
  private async admit(listener: FeedListener, cursorText?: string): Promise<void> {
    if (cursorText === undefined) {
      listener.snapshot(
        [...this.memory.values()].map((e) => e.row),
        this.cursorText,
        this.watermarkIso(),
      );
      return;
    }
    const cursor = decodeCursor(cursorText);
    const reason = this.unresumable(cursor);
    if (reason) return listener.mustRefetch(reason);
    const { feed } = this.options;
    const held = new Set(cursor!.s ?? []);
    const upserts = new Map<string, Row>();
    if (feed.kind === 'view' && !feed.changes) {
      // refresh feed: resumable only when nothing changed (checked above).
    } else if (feed.kind === 'query') {
      for (const [key, entry] of this.memory) {
        if (entry.wm >= cursor!.w! - this.options.overlapSeconds && !held.has(entry.hash))
          upserts.set(key, entry.row);
      }
    } else {
      const changed = await this.changedKeys(cursor!.w! - this.options.overlapSeconds);
      const logKeys = Object.keys(feed.changes!.keys);
      for (const [key, entry] of this.memory) {
        if (changed.has(keyText(logKeys, entry.row)) && !held.has(entry.hash)) upserts.set(key, entry.row);
      }
    }
    listener.delta({ upserts, deletes: new Map(), cursor: this.cursorText, watermark: this.watermarkIso() });
  }

  private unresumable(cursor: Cursor | undefined): string | undefined {
    if (!cursor) return 'the cursor is not one this server issued';
    if (cursor.f !== this.feedHash) return 'the cursor belongs to another feed or other params';
    const { feed } = this.options;
    if (feed.kind === 'view' && !feed.changes) {
      return cursor.d === this.digest
        ? undefined
        : 'this feed resumes only when nothing changed since the cursor';
    }
    if (cursor.w === undefined) return 'the cursor has no watermark';
    if (feed.kind === 'view' && cursor.w < this.w! - this.options.resumeHorizonSeconds)
      return `the cursor is older than ${this.options.resumeHorizonSeconds} s`;
    return undefined;
  }

  private entry(row: Row, now: number): Entry {
    const { feed } = this.options;
    return {
      row,
      hash: shortHash(JSON.stringify(row)),
      wm: feed.kind === 'query' ? seconds(row[feed.watermark]) : now,
    };
  }

  private maxRowWatermark(): number {
    let max = 0;
    for (const entry of this.memory.values()) max = Math.max(max, entry.wm);
    return max;
  }

  private refreshCursor(): void {
    const { feed } = this.options;
    const cursor: Cursor = { v: 1, f: this.feedHash };
    if (feed.kind === 'view' && !feed.changes) {
      this.digest = shortHash(
        [...this.memory.values()]
          .map((e) => e.hash)
          .sort()
          .join(''),
        16,
      );
      cursor.d = this.digest;
    } else {
      const from = this.w! - this.options.overlapSeconds;
      cursor.w = this.w;
      cursor.s = [...this.memory.values()].filter((e) => e.wm >= from).map((e) => e.hash);
    }
    this.cursorText = encodeCursor(cursor);
  }

  private watermarkIso(): string | null {
    return this.w ? new Date(this.w * 1000).toISOString() : null;
  }

  private filters(): string[] {
    const { feed, params } = this.options;
    if (feed.kind === 'query') return [];
    return Object.entries(params).map(
      ([name, value]) => `${ident(name).text} = ${renderParam(feed.params[name]!, value).text}`,
    );
  }

  private fullQuery(): string {
    const { feed, database, params, maxRows } = this.options;
    const limit = int(maxRows + 1).text;
    if (feed.kind === 'query') {
      const body = renderNamedQuery(feed.query, database, params);
      return `SELECT *, toUnixTimestamp(now()) AS _now FROM (${body}) LIMIT ${limit}`;
    }
    const where = this.filters();
    return `SELECT *, toUnixTimestamp(now()) AS _now FROM ${ident(database).text}.${ident(feed.name).text}${
      where.length ? ` WHERE ${where.join(' AND ')}` : ''
    } LIMIT ${limit}`;
  }

  /** The log's keys changed since `since`, narrowed by the params the log also has. */
  private logSubquery(since: number): { columns: string[]; sql: string } {
    const { feed, database, params } = this.options;
    if (feed.kind !== 'view' || !feed.changes) throw new LiteralError('not a changes feed');
    const log = feed.changes;
    const columns = Object.keys(log.keys);
    const conditions = [`${ident(log.time).text} >= toDateTime(${int(Math.max(0, since)).text})`];
    for (const [name, value] of Object.entries(params)) {
      const expr = log.keys[name];
      if (expr) conditions.push(`${expr} = ${renderParam(feed.params[name]!, value).text}`);
    }
    const select = columns.map((c) => `${log.keys[c]} AS ${ident(c).text}`).join(', ');
    return {
      columns,
      sql: `SELECT DISTINCT ${select} FROM ${ident(database).text}.${ident(log.table).text} WHERE ${conditions.join(' AND ')}`,
    };
  }

  /** The view's rows for these log keys (e.g. event_id and window_start), as literals. */
  private changesQuery(keys: Row[]): string {
    const { feed, database } = this.options;
    if (feed.kind !== 'view' || !feed.changes) throw new LiteralError('not a changes feed');
    const columns = Object.keys(feed.changes.keys);
    const literal = (column: string, value: unknown) =>
      renderParam(feed.params[column] ?? 'String', value).text;
    const tuples = keys.map((key) =>
      columns.length === 1
        ? literal(columns[0]!, key[columns[0]!])
        : `(${columns.map((c) => literal(c, key[c])).join(', ')})`,
    );
    const tuple =
      columns.length === 1 ? ident(columns[0]!).text : `(${columns.map((c) => ident(c).text).join(', ')})`;
    const where = [...this.filters(), `${tuple} IN (${tuples.join(', ')})`];
    return `SELECT *, toUnixTimestamp(now()) AS _now FROM ${ident(database).text}.${ident(feed.name).text} WHERE ${where.join(' AND ')}`;
  }

  private async changedKeys(since: number): Promise<Set<string>> {
    const log = this.logSubquery(since);
    const rows = await this.select(log.sql, 'resume');
    return new Set(rows.map((row) => keyText(log.columns, row)));
  }

  private async select(query: string, purpose: 'load' | 'poll' | 'resume'): Promise<Row[]> {
    this.options.onQuery?.(purpose);
    const result = await this.options.clickhouse.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: SETTINGS,
    });
    return result.json<Row>();
  }
}
