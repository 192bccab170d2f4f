/**
 * What every process that serves organizers needs from Postgres, wired once: the change feed,
 * the key store and show-owner caches it keeps honest, the key revocations that live tokens are
 * checked against. Built once by the service (src/service.ts) and shared by its roles; the
 * bridge role follows the same change feed for the dimension sync.
 */
import type { Logger } from 'pino';
import { createKeyRevocations } from '../auth/key-revocations.js';
import { createKeyStore } from '../auth/key-store.js';
import type { Principal } from '../auth/principal.js';
import { createShowOwners } from '../auth/show-owners.js';
import { createPgChanges } from '../clients/pg-changes.js';
import type { Db } from '../db/schema.js';

export interface EntityServicesOptions {
  db: Db;
  /** Postgres URL for the LISTEN connection (the pool cannot lend one for good). */
  connectionString: string;
  logger: Logger;
  platformKeys: ReadonlyMap<string, Principal>;
  /** Lifetime of live tokens (LIVE_TOKEN_TTL_SECONDS): how long a key's revocation is remembered. */
  liveTokenTtlSeconds: number;
}

export function createEntityServices(options: EntityServicesOptions) {
  const { db, logger } = options;
  const changes = createPgChanges({ connectionString: options.connectionString, logger });
  const keys = createKeyStore({ db, changes, platformKeys: options.platformKeys });
  const showOwners = createShowOwners({ db, changes });
  const revocations = createKeyRevocations({
    db,
    changes,
    logger,
    rememberSeconds: options.liveTokenTtlSeconds,
  });
  return {
    changes,
    keys,
    showOwners,
    revocations,
    /** Connects the change feed and reads recent key revocations. */
    async start(): Promise<void> {
      await changes.start();
      await revocations.start();
    },
    async close(): Promise<void> {
      keys.close();
      showOwners.close();
      revocations.close();
      await changes.close();
    },
  };
}

export type EntityServices = ReturnType<typeof createEntityServices>;
