/**
 * What every process that serves organizers needs from Postgres, wired once: the change feed,
 * the key store and show-owner caches it keeps honest, the key revocations that live tokens are
 * checked against, and the bridge that copies dimensions into ClickHouse. Used by the service (src/service.ts) and the isolated pipeline.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { createKeyRevocations } from '../auth/key-revocations.js';
import { createKeyStore } from '../auth/key-store.js';
import type { Principal } from '../auth/principal.js';
import { createShowOwners } from '../auth/show-owners.js';
import { createDimensionSync } from '../bridge/dimension-sync.js';
import { createPgChanges } from '../clients/pg-changes.js';
import type { Db } from '../db/schema.js';

export interface EntityServicesOptions {
  db: Db;
  /** Postgres URL for the LISTEN connection (the pool cannot lend one for good). */
  connectionString: string;
  clickhouse: ClickHouseClient;
  database: string;
  logger: Logger;
  platformKeys: ReadonlyMap<string, Principal>;
  /** Lifetime of live tokens (LIVE_TOKEN_TTL_SECONDS): how long a key's revocation is remembered. */
  liveTokenTtlSeconds: number;
  /** Also run the bridge (default true); a process without the bridge role does not. */
  bridge?: boolean;
}

export function createEntityServices(options: EntityServicesOptions) {
  const { db, clickhouse, database, logger } = options;
  const changes = createPgChanges({ connectionString: options.connectionString, logger });
  const keys = createKeyStore({ db, changes, platformKeys: options.platformKeys });
  const showOwners = createShowOwners({ db, changes });
  const revocations = createKeyRevocations({
    db,
    changes,
    logger,
    rememberSeconds: options.liveTokenTtlSeconds,
  });
  const bridge =
    options.bridge === false ? undefined : createDimensionSync({ db, changes, clickhouse, database, logger });
  return {
    changes,
    keys,
    showOwners,
    revocations,
    bridge,
    /** Connects the change feed and reads recent key revocations; the bridge is started by its owner (`bridge.start()`). */
    async start(): Promise<void> {
      await changes.start();
      await revocations.start();
    },
    async close(): Promise<void> {
      await bridge?.close();
      keys.close();
      showOwners.close();
      revocations.close();
      await changes.close();
    },
  };
}
