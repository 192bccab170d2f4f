/**
 * Which organizer owns each show, for scoping ingest and reads. Answers from a cache kept
 * honest by the change feed (a trigger on shows notifies on insert, update and delete), and
 * asks Postgres once per batch for the shows it does not know. While the feed is down every
 * lookup goes to Postgres.
 */
import type { PgChanges } from '../clients/pg-changes.js';
import { createChangeInvalidatedCache } from './change-invalidated-cache.js';
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
  const { db } = options;
  // null: known not to exist (a later insert notifies and removes it).
  const cache = createChangeInvalidatedCache<string | null>({
    changes: options.changes,
    table: 'shows',
    keyOf: (change) => change.key.id,
    maxEntries: options.maxCached ?? 100_000,
  });

  return {
    async ownersOf(showIds) {
      const owners = new Map<string, string | null>();
      const missing: string[] = [];
      const snapshot = cache.snapshot();
      for (const id of new Set(showIds)) {
        const known = cache.get(id);
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
      cache.set(
        snapshot,
        missing.map((id) => [id, owners.get(id)!]),
      );
      return owners;
    },
    close: cache.close,
  };
}
