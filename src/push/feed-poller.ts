/**
 * One watched feed with its params: holds the feed's current rows, polls ClickHouse as the
 * feed's kind says (src/push/feed-kinds.ts), and turns what changed into deltas for every
 * subscriber at once. A new subscriber gets a snapshot from memory; one with a cursor gets only
 * what changed after it. See src/push/feeds.ts for the kinds and src/push/cursor.ts for cursors.
 */
import type { ClickHouseClient } from '../clients/clickhouse.js';
import { viewReader, type SelectRows } from '../sql/keys-then-literals.js';
import { decodeCursor, encodeCursor, shortHash } from './cursor.js';
import {
  feedStrategy,
  keyText,
  type Entry,
  type FeedStrategy,
  type QueryPurpose,
  type Row,
} from './feed-kinds.js';
import { CLOCK_QUERY, wholeFeedQuery } from './feed-sql.js';
import type { Feed } from './feeds.js';

export { keyText, type Row };

export interface Delta {
  /** Changed rows by key text (see `keyText`). */
  upserts: Map<string, Row>;
  /** Removed rows by key text: the key columns only. */
  deletes: Map<string, Row>;
  cursor: string;
  /** ISO time of the newest change ClickHouse counted, or null. */
  watermark: string | null;
}

/** What a subscriber receives; the connection (src/push/live-connection.ts) turns these into messages. */
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
  onQuery?: (purpose: QueryPurpose) => void;
  /** Called with each delta as the poll finds it, before it goes out (bench/push times delivery from here). */
  onDelta?: (delta: Delta) => void;
}

export class FeedTooLargeError extends Error {}

export class FeedPoller {
  private readonly options: FeedPollerOptions;
  private readonly strategy: FeedStrategy;
  private readonly read: SelectRows;
  private readonly memory = new Map<string, Entry>();
  private loaded = false;
  /** Watermark in epoch seconds (see Cursor.w); 0 until the first load. */
  private w = 0;
  private cursorText = '';
  private readonly listeners = new Set<FeedListener>();
  private joining: { listener: FeedListener; cursor?: string }[] = [];
  readonly id: string;
  private readonly feedHash: string;

  constructor(options: FeedPollerOptions, id: string) {
    this.options = options;
    this.id = id;
    this.feedHash = shortHash(id, 8);
    this.read = viewReader(options.clickhouse);
    this.strategy = feedStrategy(options.feed, {
      database: options.database,
      params: options.params,
      overlapSeconds: options.overlapSeconds,
      resumeHorizonSeconds: options.resumeHorizonSeconds,
      maxRows: options.maxRows,
      select: (purpose) => this.select(purpose),
    });
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

  /** The first read, the whole feed whatever its kind. */
  private async load(): Promise<void> {
    const { feed, database, params, maxRows } = this.options;
    const select = this.select('load');
    const rows = await select<Row>(wholeFeedQuery(feed, database, params, maxRows));
    if (rows.length > maxRows)
      throw new FeedTooLargeError(`${this.id} has more than ${maxRows} rows; subscribe with narrower params`);
    let now = rows[0]?._now as number | undefined;
    if (now === undefined) {
      const [clock] = await select<{ _now: number }>(CLOCK_QUERY);
      now = clock?._now ?? 0;
    }
    for (const row of rows) {
      delete row._now;
      this.memory.set(keyText(feed.key, row), this.entry(row, now));
    }
    this.w = this.strategy.watermark(now, this.memory);
    this.loaded = true;
    this.refreshCursor();
  }

  /** Reads what may have changed and returns the delta, or undefined when nothing did. */
  private async update(): Promise<Delta | undefined> {
    const { feed } = this.options;
    const { rows, whole } = await this.strategy.poll({ memory: this.memory, w: this.w });
    if (whole && rows.length > this.options.maxRows)
      throw new FeedTooLargeError(`${this.id} grew past ${this.options.maxRows} rows`);
    const now = (rows[0]?._now as number | undefined) ?? this.w;
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
    this.w = this.strategy.watermark(now, this.memory);
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
    if (!cursor) return listener.mustRefetch('the cursor is not one this server issued');
    if (cursor.f !== this.feedHash)
      return listener.mustRefetch('the cursor belongs to another feed or other params');
    const resume = await this.strategy.resume(cursor, { memory: this.memory, w: this.w });
    if (!resume.ok) return listener.mustRefetch(resume.reason);
    listener.delta({
      upserts: resume.upserts,
      deletes: new Map(),
      cursor: this.cursorText,
      watermark: this.watermarkIso(),
    });
  }

  private entry(row: Row, now: number): Entry {
    return { row, hash: shortHash(JSON.stringify(row)), wm: this.strategy.rowWatermark(row, now) };
  }

  private refreshCursor(): void {
    const cursor = this.strategy.cursor({ v: 1, f: this.feedHash }, { memory: this.memory, w: this.w });
    this.cursorText = encodeCursor(cursor);
  }

  private watermarkIso(): string | null {
    return this.w ? new Date(this.w * 1000).toISOString() : null;
  }

  /** Runs queries for one purpose, counted (onQuery) and with the view settings. */
  private select(purpose: QueryPurpose): SelectRows {
    const { onQuery } = this.options;
    const read = this.read;
    return function countedSelect<T>(query: string): Promise<T[]> {
      onQuery?.(purpose);
      return read<T>(query);
    };
  }
}
