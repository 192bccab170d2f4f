/**
 * A cache of rows of one Postgres table, kept honest by the change feed: a change to a row
 * drops its entry, a reconnect drops everything, and while the feed is down nothing is read from
 * or written to it. A read races a change by design (the row may be read just before the change
 * commits); `snapshot()` before the read and `set(snapshot, …)` after it refuse to cache what a
 * change landed on meanwhile. Used by the key store and the show owners.
 */
import type { EntityChange, PgChanges } from '../clients/pg-changes.js';

export interface ChangeInvalidatedCacheOptions {
  changes: PgChanges;
  /** The table whose changes invalidate entries. */
  table: string;
  /** The cache key of a changed row, from the trigger's key columns. */
  keyOf(change: EntityChange): string | undefined;
  /** Most entries; the cache starts over when full. */
  maxEntries: number;
}

/** Taken before reading Postgres; caching is refused if the feed moved since. */
export interface CacheSnapshot {
  readonly generation: number;
  readonly trusted: boolean;
}

export function createChangeInvalidatedCache<V>(options: ChangeInvalidatedCacheOptions) {
  const { changes } = options;
  const entries = new Map<string, V>();
  let generation = 0;

  const stopChanges = changes.onChange(function onTableChange(change) {
    if (change.table !== options.table) return;
    generation += 1;
    const key = options.keyOf(change);
    if (key !== undefined) entries.delete(key);
  });
  const stopResync = changes.onResync(function onResync() {
    generation += 1;
    entries.clear();
  });

  return {
    snapshot(): CacheSnapshot {
      return { generation, trusted: changes.listening };
    },
    /** The cached value, only while the feed is up. */
    get(key: string): V | undefined {
      return changes.listening ? entries.get(key) : undefined;
    },
    /** Caches values read since `snapshot`, unless the feed went down or the table changed. */
    set(snapshot: CacheSnapshot, values: Iterable<[string, V]>): void {
      if (!snapshot.trusted || !changes.listening || snapshot.generation !== generation) return;
      const list = [...values];
      if (entries.size + list.length > options.maxEntries) entries.clear();
      for (const [key, value] of list) entries.set(key, value);
    },
    /** Drops one entry now, as its change notification would (and any read in flight with it). */
    forget(key: string): void {
      generation += 1;
      entries.delete(key);
    },
    close(): void {
      stopChanges();
      stopResync();
      entries.clear();
    },
  };
}
