/**
 * Which organizer owns each show, for scoping ingest and reads. Answers from a cache kept
 * honest by the change feed (a trigger on shows notifies on insert, update and delete), and
 * asks Postgres once per batch for the shows it does not know. While the feed is down every
 * lookup goes to Postgres.
 */
import type { PgChanges } from '../clients/pg-changes.js';
import type { Db } from '../db/schema.js';

export interface ShowOwnersOptions {
  db: Db;
  changes: PgChanges;
  /** Most shows kept in memory; the cache starts over when full. */
  maxCached?: number;
}

export interface ShowOwners {
  /** show id → organizer id, or null for a show that does not exist. */
  ownersOf(showIds: Iterable<string>): Promise<Map<string, string | null>>;
  close(): void;
}

export function createShowOwners(options: ShowOwnersOptions): ShowOwners {
  const { db, changes } = options;
  const maxCached = options.maxCached ?? 100_000;
  // null: known not to exist (a later insert notifies and removes it).
  const cache = new Map<string, string | null>();
  // Bumped by every show change: rows read while one landed are not cached (they may be stale).
  let generation = 0;

  const stopChanges = changes.onChange(function onShowChange(change) {
    if (change.table !== 'shows') return;
    generation += 1;
    if (change.key.id !== undefined) cache.delete(change.key.id);
  });
  const stopResync = changes.onResync(function onResync() {
    generation += 1;
    cache.clear();
  });

  return {
    async ownersOf(showIds) {
      const owners = new Map<string, string | null>();
      const missing: string[] = [];
      const trusted = changes.listening;
      const readAt = generation;
      for (const id of new Set(showIds)) {
        const known = trusted ? cache.get(id) : undefined;
        if (known !== undefined) owners.set(id, known);
        else missing.push(id);
      }
      if (missing.length === 0) return owners;
      const rows = await db
        .selectFrom('shows')
        .select(['id', 'organizer_id'])
        .where('id', 'in', missing)
        .execute();
      for (const id of missing) owners.set(id, null);
      for (const row of rows) owners.set(row.id, row.organizer_id);
      if (trusted && changes.listening && readAt === generation) {
        if (cache.size + missing.length > maxCached) cache.clear();
        for (const id of missing) cache.set(id, owners.get(id)!);
      }
      return owners;
    },
    close() {
      stopChanges();
      stopResync();
      cache.clear();
    },
  };
}
