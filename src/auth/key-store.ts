/**
 * Resolves a presented API key to its principal. Environment keys answer from memory; organizer
 * keys from Postgres through a cache that the change feed keeps honest: a trigger on api_keys
 * notifies every process, which drops the key, so a revoked key is refused within the feed's
 * delivery time (milliseconds). While the feed is down the cache is bypassed, never trusted.
 */
import type { PgChanges } from '../clients/pg-changes.js';
import type { ApiKeyScope, Db } from '../db/schema.js';
import { createChangeInvalidatedCache } from './change-invalidated-cache.js';
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
  /** Drops a key from the cache at once, by its hash: this process has just revoked it. */
  forget(keyHash: string): void;
  close(): void;
}

export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { db, platformKeys } = options;
  const cache = createChangeInvalidatedCache<Principal>({
    changes: options.changes,
    table: 'api_keys',
    keyOf: (change) => change.key.key_hash,
    maxEntries: options.maxCached ?? 10_000,
  });

  return {
    async find(key) {
      const platform = platformKeys.get(key);
      if (platform) return platform;
      const hash = hashApiKey(key);
      const cached = cache.get(hash);
      if (cached) return cached;
      const snapshot = cache.snapshot();
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
      cache.set(snapshot, [[hash, principal]]);
      return principal;
    },
    forget: cache.forget,
    close: cache.close,
  };
}

/** A store that knows only the given platform keys: for tools and tests without Postgres. */
export function platformOnlyKeyStore(platformKeys: ReadonlyMap<string, Principal>): KeyStore {
  return {
    async find(key) {
      return platformKeys.get(key);
    },
    forget() {},
    close() {},
  };
}
