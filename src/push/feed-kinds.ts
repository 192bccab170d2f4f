/**
 * One strategy per feed kind (src/push/feeds.ts): what a poll reads after the first load, what
 * a row's watermark is, what the cursor carries and how a cursor resumes. The FeedPoller
 * (src/push/feed-poller.ts) holds the rows and the subscribers and asks the strategy of its
 * feed; the SQL is src/push/feed-sql.ts.
 */
import { keysThenLiterals, type SelectRows } from '../sql/keys-then-literals.js';
import type { Cursor } from './cursor.js';
import { shortHash } from './cursor.js';
import {
  changedRowsQuery,
  changeLogColumns,
  changeLogQuery,
  wholeFeedQuery,
  type Params,
} from './feed-sql.js';
import type { ChangesFeed, Feed, QueryFeed, RefreshFeed } from './feeds.js';

export type Row = Record<string, unknown>;

/** A row the poller holds. */
export interface Entry {
  row: Row;
  hash: string;
  /** Epoch seconds: when the row last changed (changes, refresh) or its watermark column (query). */
  wm: number;
}

/** The poller's state after its first load, as a strategy reads it. */
export interface FeedState {
  /** Rows by key text (see `keyText`). */
  memory: ReadonlyMap<string, Entry>;
  /** The feed's watermark in epoch seconds (see Cursor.w). */
  w: number;
}

/** What one poll read: the rows, and whether they are the whole feed (a row missing was removed). */
export interface FeedRead {
  rows: Row[];
  whole: boolean;
}

/** A cursor that resumes with these rows, or one that cannot resume, with the reason. */
export type Resume = { ok: true; upserts: Map<string, Row> } | { ok: false; reason: string };

export type QueryPurpose = 'load' | 'poll' | 'resume';

export interface FeedStrategy {
  /** Reads what may have changed since the state's watermark. */
  poll(state: FeedState): Promise<FeedRead>;
  /** The watermark of a row read at `now` (ClickHouse's clock). */
  rowWatermark(row: Row, now: number): number;
  /** The feed's watermark after a read at `now` that left these rows. */
  watermark(now: number, memory: ReadonlyMap<string, Entry>): number;
  /** The cursor of the state: `base` (version and feed hash) plus this kind's resume fields. */
  cursor(base: Cursor, state: FeedState): Cursor;
  /** What a client holding `cursor` (issued for this feed) lacks. */
  resume(cursor: Cursor, state: FeedState): Promise<Resume>;
}

export interface StrategyContext {
  database: string;
  params: Params;
  overlapSeconds: number;
  resumeHorizonSeconds: number;
  maxRows: number;
  /** Runs a query counted under its purpose. */
  select: (purpose: QueryPurpose) => SelectRows;
}

export function keyText(key: readonly string[], row: Row): string {
  return JSON.stringify(key.map((k) => row[k]));
}

export function feedStrategy(feed: Feed, context: StrategyContext): FeedStrategy {
  switch (feed.kind) {
    case 'changes':
      return changesStrategy(feed, context);
    case 'refresh':
      return refreshStrategy(feed, context);
    case 'query':
      return queryStrategy(feed, context);
  }
}

/** The cursor of a watermarked feed: the watermark and the hashes of the rows within the overlap. */
function watermarkCursor(base: Cursor, state: FeedState, overlapSeconds: number): Cursor {
  const from = state.w - overlapSeconds;
  const held = [...state.memory.values()].filter((e) => e.wm >= from).map((e) => e.hash);
  return { ...base, w: state.w, s: held };
}

/** The rows of `memory` that `include` admits and the client does not hold already. */
function missedRows(cursor: Cursor, state: FeedState, include: (entry: Entry) => boolean): Map<string, Row> {
  const held = new Set(cursor.s ?? []);
  const upserts = new Map<string, Row>();
  for (const [key, entry] of state.memory) {
    if (include(entry) && !held.has(entry.hash)) upserts.set(key, entry.row);
  }
  return upserts;
}

/** A poll of a feed re-read whole (refresh, query). */
async function wholeRead(feed: Feed, context: StrategyContext): Promise<FeedRead> {
  const { database, params, maxRows } = context;
  return {
    rows: await context.select('poll')<Row>(wholeFeedQuery(feed, database, params, maxRows)),
    whole: true,
  };
}

const NO_WATERMARK: Resume = { ok: false, reason: 'the cursor has no watermark' };

function changesStrategy(feed: ChangesFeed, context: StrategyContext): FeedStrategy {
  const { database, params, overlapSeconds, resumeHorizonSeconds } = context;
  const logColumns = changeLogColumns(feed);
  return {
    async poll(state) {
      const rows = await keysThenLiterals<Row, Row>(context.select('poll'), {
        keys: changeLogQuery(feed, database, params, state.w - overlapSeconds),
        rows: (keys) => changedRowsQuery(feed, database, params, keys),
      });
      return { rows, whole: false };
    },
    rowWatermark: (_row, now) => now,
    watermark: (now) => now,
    cursor: (base, state) => watermarkCursor(base, state, overlapSeconds),
    async resume(cursor, state) {
      if (cursor.w === undefined) return NO_WATERMARK;
      if (cursor.w < state.w - resumeHorizonSeconds)
        return { ok: false, reason: `the cursor is older than ${resumeHorizonSeconds} s` };
      const logged = await context.select('resume')<Row>(
        changeLogQuery(feed, database, params, cursor.w - overlapSeconds),
      );
      const changed = new Set(logged.map((row) => keyText(logColumns, row)));
      return { ok: true, upserts: missedRows(cursor, state, (e) => changed.has(keyText(logColumns, e.row))) };
    },
  };
}

function refreshStrategy(feed: RefreshFeed, context: StrategyContext): FeedStrategy {
  /** A digest of the whole table at the last cursor. */
  let digest: string | undefined;
  return {
    poll: () => wholeRead(feed, context),
    rowWatermark: (_row, now) => now,
    watermark: (now) => now,
    cursor(base, state) {
      digest = shortHash(
        [...state.memory.values()]
          .map((e) => e.hash)
          .sort()
          .join(''),
        16,
      );
      return { ...base, d: digest };
    },
    async resume(cursor) {
      // Resumable only when nothing changed: the client holds the table as it is.
      return cursor.d === digest
        ? { ok: true, upserts: new Map() }
        : { ok: false, reason: 'this feed resumes only when nothing changed since the cursor' };
    },
  };
}

function queryStrategy(feed: QueryFeed, context: StrategyContext): FeedStrategy {
  const { overlapSeconds } = context;
  return {
    poll: () => wholeRead(feed, context),
    rowWatermark: (row) => seconds(row[feed.watermark]),
    watermark(_now, memory) {
      let max = 0;
      for (const entry of memory.values()) max = Math.max(max, entry.wm);
      return max;
    },
    cursor: (base, state) => watermarkCursor(base, state, overlapSeconds),
    async resume(cursor, state) {
      if (cursor.w === undefined) return NO_WATERMARK;
      const from = cursor.w - overlapSeconds;
      return { ok: true, upserts: missedRows(cursor, state, (e) => e.wm >= from) };
    },
  };
}

/** Epoch seconds of a ClickHouse DateTime text (UTC server) or a number. */
function seconds(value: unknown): number {
  if (typeof value === 'number') return value;
  const parsed = Date.parse(`${String(value).replace(' ', 'T')}Z`);
  return Number.isNaN(parsed) ? Number(value) : Math.floor(parsed / 1000);
}
