/**
 * What every process that serves organizers needs from Postgres, wired once: the change feed,
 * the key store and show-owner caches it keeps honest, and the bridge that copies dimensions
 * into ClickHouse. Used by the service (src/service.ts) and the isolated pipeline.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
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
  /** Also run the bridge (default true); a process without the bridge role does not. */
  bridge?: boolean;
}

export function createEntityServices(options: EntityServicesOptions) {
  const { db, clickhouse, database, logger } = options;
  const changes = createPgChanges({ connectionString: options.connectionString, logger });
  const keys = createKeyStore({ db, changes, platformKeys: options.platformKeys });
  const showOwners = createShowOwners({ db, changes });
  const bridge =
    options.bridge === false ? undefined : createDimensionSync({ db, changes, clickhouse, database, logger });
  return {
    changes,
    keys,
    showOwners,
    bridge,
    /** Connects the change feed; the bridge is started by its owner (`bridge.start()`). */
    async start(): Promise<void> {
      await changes.start();
    },
    async close(): Promise<void> {
      await bridge?.close();
      keys.close();
      showOwners.close();
      await changes.close();
    },
  };
}
