/**
 * Resolves a presented API key to its principal. Environment keys answer from memory; organizer
 * keys from Postgres through a cache that the change feed keeps honest: a trigger on api_keys
 * notifies every process, which drops the key, so a revoked key is refused within the feed's
 * delivery time (milliseconds). While the feed is down the cache is bypassed, never trusted.
 */
import type { PgChanges } from '../clients/pg-changes.js';
import type { ApiKeyScope, Db } from '../db/schema.js';
import { hashApiKey } from './key-hash.js';
import type { Principal } from './principal.js';

export interface KeyStoreOptions {
  db: Db;
  changes: PgChanges;
  /** Environment keys: key → platform principal. */
  platformKeys: ReadonlyMap<string, Principal>;
  /** Most organizer keys kept in memory; the cache starts over when full. */
  maxCached?: number;
}

export interface KeyStore {
  /** The principal for a key, or undefined for an unknown or revoked key. */
  find(key: string): Promise<Principal | undefined>;
  close(): void;
}

export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { db, changes, platformKeys } = options;
  const maxCached = options.maxCached ?? 10_000;
  const cache = new Map<string, Principal>();
  // Bumped by every key change: a row read while one landed is not cached (it may be stale).
  let generation = 0;

  const stopChanges = changes.onChange(function onKeyChange(change) {
    if (change.table !== 'api_keys') return;
    generation += 1;
    if (change.key.key_hash) cache.delete(change.key.key_hash);
  });
  const stopResync = changes.onResync(function onResync() {
    generation += 1;
    cache.clear();
  });

  return {
    async find(key) {
      const platform = platformKeys.get(key);
      if (platform) return platform;
      const hash = hashApiKey(key);
      const cached = changes.listening ? cache.get(hash) : undefined;
      if (cached) return cached;
      const trusted = changes.listening;
      const readAt = generation;
      const row = await db
        .selectFrom('api_keys')
        .select(['id', 'organizer_id', 'scopes', 'ingest_records_per_second'])
        .where('key_hash', '=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const principal: Principal = {
        kind: 'organizer',
        keyId: row.id,
        organizerId: row.organizer_id,
        scopes: row.scopes as ApiKeyScope[],
        ...(row.ingest_records_per_second === null
          ? {}
          : { ingestRecordsPerSecond: row.ingest_records_per_second }),
      };
      if (trusted && changes.listening && readAt === generation) {
        if (cache.size >= maxCached) cache.clear();
        cache.set(hash, principal);
      }
      return principal;
    },
    close() {
      stopChanges();
      stopResync();
      cache.clear();
    },
  };
}

/** A store that knows only the given platform keys: for tools and tests without Postgres. */
export function platformOnlyKeyStore(platformKeys: ReadonlyMap<string, Principal>): KeyStore {
  return {
    async find(key) {
      return platformKeys.get(key);
    },
    close() {},
  };
}
